"""What a backbone returns, to check ROCK's ``in_index`` / ``in_channels`` when the detector is
built rather than at the first iteration (a bare ``IndexError`` or a conv shape error)."""
from typing import List, Optional

import torch
import torch.nn as nn

PROBE_SIZE = 64  # (H, W) of the probe image: 2x2 at stride 32


class ROCKInputError(ValueError):
    """``in_index`` / ``in_channels`` of ROCK do not fit the backbone's outputs (one line)."""


def backbone_output_widths(backbone: nn.Module) -> List[int]:
    """Channels of each feature map a backbone returns.

    Runs one forward of a zero (1, C, 64, 64) image (C: the first conv's input channels) in eval
    mode without gradients; every module's train / eval mode is restored after (BN statistics
    untouched).

    Args:
        backbone (nn.Module): The built backbone.

    Returns:
        list[int]: Channels of each output, in the backbone's order.
    """
    first_conv = next((m for m in backbone.modules() if isinstance(m, nn.Conv2d)), None)
    param = next(backbone.parameters(), None)
    probe = torch.zeros(
        1,
        first_conv.in_channels if first_conv is not None else 3,
        PROBE_SIZE,
        PROBE_SIZE,
        device=None if param is None else param.device,
        dtype=None if param is None else param.dtype)
    modes = [(module, module.training) for module in backbone.modules()]
    backbone.eval()
    try:
        with torch.no_grad():
            outs = backbone(probe)
    finally:
        for module, training in modes:
            module.training = training
    if isinstance(outs, torch.Tensor):
        outs = (outs, )
    return [int(out.shape[1]) for out in outs]


def rock_input_problem(widths: List[int], in_index: int, in_channels: int,
                       backbone: str) -> Optional[str]:
    """Check ROCK's ``in_index`` / ``in_channels`` against a backbone's outputs.

    Args:
        widths (list[int]): Channels of each backbone output (:func:`backbone_output_widths`).
        in_index (int): ROCK's ``in_index``, a position in the output tuple.
        in_channels (int): ROCK's ``in_channels``.
        backbone (str): The backbone's name, for the message.

    Returns:
        str | None: One line naming the argument, the widths and the fix when output
        ``in_index`` does not exist or does not have ``in_channels`` channels, else None.
    """
    outputs = (f'{backbone} returns {len(widths)} feature map(s), of ' +
               ', '.join(f'[{i}] {w}' for i, w in enumerate(widths)) + ' channels')
    rule = ('(in_index: the position in the backbone\'s output tuple, which its out_indices '
            'choose; in_channels: that output\'s channels; docs/your_detector_and_data.md)')
    if not -len(widths) <= in_index < len(widths):
        return (f'model.rock.in_index={in_index} is out of range: {outputs}. Use '
                f'in_index={len(widths) - 1} (or -1, the deepest) with '
                f'in_channels={widths[-1]} {rule}')
    if widths[in_index] != in_channels:
        same = [i for i, w in enumerate(widths) if w == in_channels]
        other = f', or in_index={same[-1]} for the output with {in_channels}' if same else ''
        return (f'model.rock.in_channels={in_channels} does not match output [{in_index}] of '
                f'the backbone: {outputs}. Set in_channels={widths[in_index]} for '
                f'in_index={in_index}{other} {rule}')
    return None
