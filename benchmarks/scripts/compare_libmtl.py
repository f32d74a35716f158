#!/usr/bin/env python
"""mmrock's loss balancers against LibMTL 1.1.5's on the same loss sequences.

    pip install --no-deps --target /tmp/libmtl LibMTL==1.1.5
    PYTHONPATH=/tmp/libmtl python benchmarks/scripts/compare_libmtl.py \
        --out benchmarks/libmtl_1.1.5.json

LibMTL's weighting modules are loaded on their own (its package imports torchvision-based
models that are not needed here). Three tasks, seeded loss sequences, float64:

- UW: both trained by SGD on their own objective for the same losses; the weights compared at
  each iteration, with each library's default start and with mmrock's ``init_log_var=-0.5``.
- DWA: LibMTL's trainer bookkeeping (the epoch's losses averaged by sample into
  ``train_loss_buffer``) against mmrock's window of ``window`` iterations; the weights at each
  iteration, with equal batches and with a smaller last batch per epoch.
- GradNorm: a frozen two-layer encoder with three linear heads on seeded batches (the same
  losses for both), only the balancers' weights trained (Adam); the weights at each iteration,
  and L_grad of both on the same weights, gradients and initial losses.
"""
import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import math
import os.path as osp
import platform
import sys
import types

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmrock.models.loss_balancers import DynamicWeightAverage  # noqa: E402
from mmrock.models.loss_balancers import GradNorm, UncertaintyWeighting  # noqa: E402

TASKS = ('scene', 'depth', 'normals')
T = len(TASKS)


def load_libmtl():
    """LibMTL.weighting's UW, DWA and GradNorm, without LibMTL/__init__.py."""
    spec = importlib.util.find_spec('LibMTL')
    if spec is None:
        sys.exit('LibMTL is not importable: pip install --no-deps --target DIR LibMTL==1.1.5, '
                 'then PYTHONPATH=DIR')
    root = spec.submodule_search_locations[0]
    for name, path in (('LibMTL', root), ('LibMTL.weighting', osp.join(root, 'weighting'))):
        package = types.ModuleType(name)
        package.__path__ = [path]
        sys.modules[name] = package
    modules = {}
    for name in ('abstract_weighting', 'UW', 'DWA', 'GradNorm'):
        full = f'LibMTL.weighting.{name}'
        module_spec = importlib.util.spec_from_file_location(
            full, osp.join(root, 'weighting', f'{name}.py'))
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[full] = module
        module_spec.loader.exec_module(module)
        modules[name] = module
    version = importlib.metadata.version('LibMTL')
    return modules['UW'].UW, modules['DWA'].DWA, modules['GradNorm'].GradNorm, version


def loss_sequence(num: int, seed: int) -> torch.Tensor:
    """(num, T) positive losses that fall with noise, one scale per task."""
    gen = torch.Generator().manual_seed(seed)
    scale = torch.tensor([2.0, 0.5, 0.1], dtype=torch.float64)
    decay = torch.exp(-torch.arange(num, dtype=torch.float64) / num)[:, None]
    noise = 1 + 0.2 * torch.rand(num, T, generator=gen, dtype=torch.float64)
    return scale * decay * noise


def compare_uw(UW, steps=200, lr=0.05):
    losses = loss_sequence(steps, seed=0)

    def libmtl_weights():
        uw = UW()
        uw.task_num, uw.device = T, 'cpu'
        uw.init_param()
        uw.loss_scale.data = uw.loss_scale.data.double()
        opt = torch.optim.SGD([uw.loss_scale], lr=lr)
        out = []
        for row in losses:
            opt.zero_grad()
            out.append(uw.backward(row.clone()).tolist())
            opt.step()
        return np.array(out)

    def mmrock_weights(init_log_var):
        uw = UncertaintyWeighting(TASKS, init_log_var=init_log_var).double()
        opt = torch.optim.SGD(uw.parameters(), lr=lr)
        out = []
        for row in losses:
            opt.zero_grad()
            weights, extra = uw.weigh(list(row), None)
            ((weights * row).sum() + sum(extra.values())).backward()
            out.append(weights.detach().tolist())
            opt.step()
        return np.array(out)

    lib = libmtl_weights()
    default, matched = mmrock_weights(0.0), mmrock_weights(-0.5)
    return dict(
        iterations=steps,
        optimizer=f'SGD lr {lr}',
        first_weights=dict(libmtl=lib[0].tolist(), mmrock=default[0].tolist()),
        max_abs_diff_defaults=float(np.abs(lib - default).max()),
        max_abs_diff_mmrock_init_log_var_minus_0_5=float(np.abs(lib - matched).max()))


def compare_dwa(DWA, epochs=6, batches=(8, 8, 8, 8, 8), temperature=2.0):
    iters = len(batches)
    losses = loss_sequence(epochs * iters, seed=1)
    sizes = torch.tensor(batches * epochs, dtype=torch.float64)

    dwa = DWA()
    dwa.task_num, dwa.device = T, 'cpu'
    dwa.train_loss_buffer = np.zeros([T, epochs])
    ours = DynamicWeightAverage(TASKS, temperature=temperature, window=iters).double().train()
    lib, mine = [], []
    for epoch in range(epochs):
        dwa.epoch = epoch
        rows = losses[epoch * iters:(epoch + 1) * iters]
        for row in rows:
            lib.append(dwa.backward(row.clone().requires_grad_(), T=temperature).tolist())
            mine.append(ours.weigh(list(row), None)[0].tolist())
        # LibMTL's trainer: the epoch's losses averaged by sample (AbsLoss._average_loss)
        epoch_sizes = sizes[epoch * iters:(epoch + 1) * iters, None]
        dwa.train_loss_buffer[:, epoch] = ((rows * epoch_sizes).sum(0) / epoch_sizes.sum()).numpy()
    lib, mine = np.array(lib), np.array(mine)
    return dict(
        epochs=epochs,
        batch_sizes_per_epoch=list(batches),
        first_iteration_not_1=dict(
            libmtl=int(np.argmax(np.any(lib != 1, axis=1))),
            mmrock=int(np.argmax(np.any(np.abs(mine - 1) > 0, axis=1)))),
        max_abs_diff=float(np.abs(lib - mine).max()))


class Net(nn.Module):
    """Frozen two-layer encoder, three linear heads."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.encoder = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh())
        self.heads = nn.ModuleList(nn.Linear(16, 1) for _ in TASKS)
        for p in self.parameters():
            p.data = torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5

    def losses(self, x, y):
        feat = self.encoder(x)
        return torch.stack(
            [F.mse_loss(h(feat).squeeze(1), y[:, t]) for t, h in enumerate(self.heads)])


def compare_gradnorm(GradNormLib, epochs=4, iters=10, lr=0.025, alpha=1.5):
    gen = torch.Generator().manual_seed(2)
    batches = [(torch.randn(8, 8, generator=gen, dtype=torch.float64),
                torch.randn(8, T, generator=gen, dtype=torch.float64) *
                torch.tensor([3.0, 1.0, 0.3], dtype=torch.float64)) for _ in range(epochs * iters)]
    net = Net()

    class Lib(GradNormLib):

        def __init__(self):
            super().__init__()
            self.task_num, self.device, self.rep_grad = T, 'cpu', False
            self.net = net

        def get_share_params(self):
            return self.net.encoder.parameters()

        def zero_grad_share_params(self):
            self.net.encoder.zero_grad(set_to_none=False)

    lib = Lib()
    lib.init_param()
    lib.loss_scale.data = lib.loss_scale.data.double()
    lib.train_loss_buffer = np.zeros([T, epochs])
    lib_opt = torch.optim.Adam([lib.loss_scale], lr=lr)
    ours = GradNorm(TASKS, alpha=alpha, shared_param='encoder.2.weight').double().train()
    our_opt = torch.optim.Adam([ours.task_weights], lr=lr)
    lib_w, our_w = [], []
    for epoch in range(epochs):
        lib.epoch = epoch
        epoch_losses = []
        for x, y in batches[epoch * iters:(epoch + 1) * iters]:
            for p in net.parameters():
                p.grad = torch.zeros_like(p)
            lib_opt.zero_grad()
            losses = net.losses(x, y)
            epoch_losses.append(losses.detach())
            lib_w.append(lib.backward(losses, alpha=alpha).tolist())
            lib_opt.step()
            our_opt.zero_grad()
            weights, extra = ours.weigh(list(net.losses(x, y)), net)
            extra['loss_gradnorm'].backward()
            our_w.append(weights.tolist())
            our_opt.step()
        lib.train_loss_buffer[:, epoch] = torch.stack(epoch_losses).mean(0).numpy()
    lib_w, our_w = np.array(lib_w), np.array(our_w)

    # the formula: L_grad of both on the same weights, gradients (W = all of a one-layer
    # encoder) and initial losses
    x, y = batches[0]
    single = nn.Sequential(nn.Linear(8, 16), nn.Tanh()).double()
    net.encoder = single
    losses = net.losses(x, y)
    w = torch.tensor([0.7, 1.1, 1.2], dtype=torch.float64)
    initial = lib.train_loss_buffer[:, 0]
    grads = torch.stack([
        torch.cat([
            g.reshape(-1)
            for g in torch.autograd.grad(loss, list(single.parameters()), retain_graph=True)
        ]) for loss in losses
    ])
    # LibMTL's lines (GradNorm.backward), with loss_scale giving w
    g_per_loss = torch.norm(w.unsqueeze(1) * grads, p=2, dim=-1)
    ratios = torch.tensor([losses[t].item() / initial[t] for t in range(T)], dtype=torch.float64)
    r = ratios / ratios.mean()
    lib_lgrad = (g_per_loss - (g_per_loss.mean(0) * r**alpha).detach()).abs().sum(0)
    # mmrock's, with W all of the encoder as one parameter
    flat = nn.Module()
    flat.weight = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    ours = GradNorm(TASKS, alpha=alpha, shared_param='weight').double().train()
    ours.task_weights.data = w.clone()
    ours.initial_losses.copy_(torch.as_tensor(initial))
    ours._shared_grads = lambda task_losses, model: iter(grads)
    our_lgrad = ours.weigh(list(losses), flat)[1]['loss_gradnorm']
    return dict(
        epochs=epochs,
        iterations_per_epoch=iters,
        optimizer=f'Adam lr {lr} on the weights only (the network frozen: the same losses)',
        first_iteration_not_1=dict(
            libmtl=int(np.argmax(np.any(np.abs(lib_w - 1) > 1e-12, axis=1))),
            mmrock=int(np.argmax(np.any(np.abs(our_w - 1) > 1e-12, axis=1)))),
        weights_end_of_epoch_0=dict(
            libmtl=lib_w[iters - 1].tolist(), mmrock=our_w[iters - 1].tolist()),
        weight_sums_max_abs_dev_from_3=dict(
            libmtl=float(np.abs(lib_w.sum(1) - 3).max()),
            mmrock=float(np.abs(our_w.sum(1) - 3).max())),
        max_abs_diff_weights=float(np.abs(lib_w - our_w).max()),
        l_grad_same_inputs=dict(
            libmtl=float(lib_lgrad.detach()),
            mmrock=float(our_lgrad.detach()),
            abs_diff=float(abs(lib_lgrad - our_lgrad))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', help='JSON file of the results (default: print only)')
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    UW, DWA, GradNormLib, version = load_libmtl()
    results = dict(
        libmtl=version,
        torch=torch.__version__,
        date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        machine=f'{platform.machine()}, {platform.processor() or "cpu"}, float64 on CPU',
        uw=compare_uw(UW),
        dwa_equal_batches=compare_dwa(DWA),
        dwa_smaller_last_batch=compare_dwa(DWA, batches=(8, 8, 8, 8, 3)),
        gradnorm=compare_gradnorm(GradNormLib))
    text = json.dumps(results, indent=2, allow_nan=False)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    assert math.isfinite(results['uw']['max_abs_diff_defaults'])


if __name__ == '__main__':
    main()
