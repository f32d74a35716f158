"""Mixed precision without loss scaling, for devices mmengine's AmpOptimWrapper refuses (CPU)."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """:class:`mmengine.optim.OptimWrapper` whose forward passes run under ``autocast``.

    mmengine's ``AmpOptimWrapper`` asserts that a GPU (or NPU/MLU/MUSA) is present; on CPU,
    autocast supports bfloat16 only, which has float32's exponent range and so needs no loss
    scaling. ``tools/train.py --amp`` picks this wrapper when CUDA is not available.

    Args:
        dtype (str | torch.dtype): Autocast dtype. Default: 'bfloat16'.
        **kwargs: See :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype='bfloat16', **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        if not isinstance(self.cast_dtype, torch.dtype):
            raise TypeError(f'dtype must name a torch dtype, got {dtype!r}')

    @contextmanager
    def optim_context(self, model: nn.Module):
        """The parent's context (gradient accumulation) with ``autocast`` to ``dtype``.

        Args:
            model (nn.Module): The trained model.
        """
        with super().optim_context(model), autocast(dtype=self.cast_dtype):
            yield
