"""Parameter and multiply-add counts of a detector, with the ROCK block against the backbone."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn


def detector_parts(model: nn.Module) -> Dict[str, nn.Module]:
    """The parts of a detector reported separately.

    Args:
        model (nn.Module): A detector, plain or :class:`ROCKDetector`.

    Returns:
        dict[str, nn.Module]: ``backbone`` and, for :class:`ROCKDetector`, ``rock``.
    """
    inner = getattr(model, 'detector', model)
    parts = dict(backbone=inner.backbone)
    if getattr(model, 'rock', None) is not None:
        parts['rock'] = model.rock
    return parts


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (elements) of a module.

    Args:
        module (nn.Module): The module.

    Returns:
        int: The count.
    """
    return sum(p.numel() for p in module.parameters())


def model_complexity(model: nn.Module,
                     input_hw: Sequence[int],
                     with_macs: bool = True) -> Dict[str, Optional[float]]:
    """Parameters and multiply-adds of a detector, total and per part (:func:`detector_parts`).

    GMACs are those of one ``model._forward`` (tensor mode) on a (1, 3, H, W) zero input, counted
    by mmengine's :class:`FlopAnalyzer` (the fvcore port: one multiply-add counts one).

    Args:
        model (nn.Module): The detector.
        input_hw (Sequence[int]): (H, W) of the input.
        with_macs (bool): Also count the multiply-adds. Defaults to True.

    Returns:
        dict[str, float | None]: ``params_m`` and ``<part>_params_m`` (millions); with
        ``with_macs``, ``gmacs``, ``<part>_gmacs``, ``rock_over_backbone`` = ROCK block GMACs /
        backbone GMACs and the ROCK block's own parts (``rock.encoder.0_gmacs``, ...).
    """
    parts = detector_parts(model)
    names = {id(m): n for n, m in model.named_modules()}
    out: Dict[str, Optional[float]] = dict(params_m=count_parameters(model) / 1e6)
    for key, module in parts.items():
        out[f'{key}_params_m'] = count_parameters(module) / 1e6
    if not with_macs:
        return out
    param = next(model.parameters())
    x = torch.zeros(1, 3, *input_hw, device=param.device)
    was_training = model.training
    model.eval()
    try:
        analyzer = FlopAnalyzer(model, (x, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        by_module = analyzer.by_module()
    finally:
        model.train(was_training)
    out['gmacs'] = analyzer.total() / 1e9
    for key, module in parts.items():
        out[f'{key}_gmacs'] = by_module.get(names[id(module)], 0) / 1e9
    if 'rock' in parts:
        out['rock_over_backbone'] = out['rock_gmacs'] / out['backbone_gmacs']
        prefix = names[id(parts['rock'])]
        for sub in ('encoder.0', 'encoder.1', 'task_convs', 'decoders'):
            if f'{prefix}.{sub}' in by_module:
                out[f'rock.{sub}_gmacs'] = by_module[f'{prefix}.{sub}'] / 1e9
    return out
