"""channels_last (NHWC) memory format for the model's convolutions: a config switch.

On GPUs with tensor cores (Volta and later), cuDNN's fastest fp16/bf16 convolution kernels work
on NHWC tensors; with NCHW weights and activations every convolution pays a transpose. Converting
the model's 4-D parameters once is enough: a convolution whose weight is channels_last returns a
channels_last output, so every later activation follows (the images enter NCHW and the first
convolution converts them).
"""
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn


def to_channels_last(model: nn.Module) -> nn.Module:
    """Convert a model's 4-D parameters and buffers to channels_last, in place (the parameter
    objects stay the same, so an optimiser built before keeps working).

    Args:
        model (nn.Module): The model.

    Returns:
        nn.Module: ``model``.
    """
    return model.to(memory_format=torch.channels_last)


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Puts the model in channels_last memory format before training, validation or testing
    (``before_run``: after the model is built, before its weights are initialised or loaded,
    which copy values into the converted parameters and keep their layout).

    Enable with ``custom_hooks = [dict(type='ChannelsLastHook')]`` (see
    ``configs/rock/ssd_r50_rock_nyuv2_fast.py``). Numerics are unchanged; only the layout of
    the tensors in memory differs.
    """
    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        """Convert the (unwrapped) model to channels_last.

        Args:
            runner (Runner): The runner.
        """
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        to_channels_last(model)
