"""Stand-ins for downloaded weights: a random ResNet-50 state dict in torchvision's format, for
the tests of ImageNet initialisation and of the paper's commands (no network, no torchvision)."""
from pathlib import Path

import torch


def torchvision_resnet50_keys():
    """The state-dict names and shapes of torchvision's ``resnet50()``, written out by hand (no
    torchvision here): stem, 4 stages of bottlenecks [3, 4, 6, 3], the 1000-way classifier."""
    shapes = {'conv1.weight': (64, 3, 7, 7)}

    def bn(name, c):
        for p in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{name}.{p}'] = (c, )

    bn('bn1', 64)
    in_c = 64
    for stage, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512)), 1):
        for b in range(blocks):
            pre = f'layer{stage}.{b}'
            shapes[f'{pre}.conv1.weight'] = (width, in_c, 1, 1)
            shapes[f'{pre}.conv2.weight'] = (width, width, 3, 3)
            shapes[f'{pre}.conv3.weight'] = (4 * width, width, 1, 1)
            for i, c in ((1, width), (2, width), (3, 4 * width)):
                bn(f'{pre}.bn{i}', c)
            if b == 0:
                shapes[f'{pre}.downsample.0.weight'] = (4 * width, in_c, 1, 1)
                bn(f'{pre}.downsample.1', 4 * width)
            in_c = 4 * width
    shapes['fc.weight'], shapes['fc.bias'] = (1000, 2048), (1000, )
    return shapes


def write_torchvision_resnet50(path: Path, seed: int = 0) -> dict:
    """A random ResNet-50 state dict in torchvision's format (a plain dict of tensors)."""
    gen = torch.Generator().manual_seed(seed)
    state = {
        k: torch.rand(s, generator=gen) + (0.5 if k.endswith('running_var') else -0.5)
        for k, s in torchvision_resnet50_keys().items()
    }
    torch.save(state, path)
    return state
