"""Depth head of ROCK: channel-wise average of 128 maps into one depth map."""
from mmdet.registry import MODELS
from mmengine.utils import deprecated_api_warning
from torch import Tensor

from .dense_aux_head import DenseAuxiliaryHead


@MODELS.register_module()
class DepthHead(DenseAuxiliaryHead):
    """Reads ``gt_depth`` (1, H, W) metres, 0 = invalid; writes ``pred_depth`` (1, h, w) metres.

    Args:
        maps_per_out_channel (int): Task maps averaged into the depth map (128 in the paper;
            the old name ``num_maps`` is deprecated).
        log_depth (bool): Regress log(depth) instead of metres (a choice the paper leaves
            open, docs/design.md; default metres, as Laina et al.'s berHu).
        loss (dict): berHu (default, weight 3); ``L1Loss``/``SmoothL1Loss`` also fit.
        allow_missing (bool): See :class:`BaseAuxiliaryHead`. Defaults to False.
        label_check_iters (int): See :class:`BaseAuxiliaryHead`. Defaults to 20.
    """
    label_field = 'gt_depth'
    data_info_key = "depth_path (an image entry's depth_file)"
    pred_field = 'pred_depth'
    loss_name = 'loss_depth'
    out_channels = 1

    @deprecated_api_warning({'num_maps': 'maps_per_out_channel'}, cls_name='DepthHead')
    def __init__(self,
                 maps_per_out_channel: int = 128,
                 log_depth: bool = False,
                 loss: dict = dict(type='BerHuLoss', threshold_ratio=0.2, loss_weight=3.0),
                 allow_missing: bool = False,
                 label_check_iters: int = 20,
                 init_cfg=None) -> None:
        super().__init__(
            maps_per_out_channel=maps_per_out_channel,
            loss=loss,
            allow_missing=allow_missing,
            label_check_iters=label_check_iters,
            init_cfg=init_cfg)
        self.log_depth = log_depth

    def valid_mask(self, target: Tensor) -> Tensor:
        """Valid depths are positive.

        Args:
            target (Tensor): Depth of shape (B, 1, H, W), metres.

        Returns:
            Tensor: Bool mask of shape (B, 1, H, W).
        """
        return target > 0

    def encode_target(self, target: Tensor) -> Tensor:
        """Depth in metres, or its log with ``log_depth``.

        Args:
            target (Tensor): Depth of shape (B, 1, h, w), metres.

        Returns:
            Tensor: Encoded depth of shape (B, 1, h, w).
        """
        return target.clamp(min=1e-3).log() if self.log_depth else target

    def decode_pred(self, pred: Tensor) -> Tensor:
        """Raw prediction to metres (exp with ``log_depth``, else clamped at 0).

        Args:
            pred (Tensor): Raw prediction of shape (B, 1, H, W).

        Returns:
            Tensor: Depth of shape (B, 1, H, W), metres.
        """
        return pred.exp() if self.log_depth else pred.clamp(min=0)
