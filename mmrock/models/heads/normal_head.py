"""Surface normal head of ROCK: channel-wise average of each group of 128 maps (x, y, z)."""
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.utils import deprecated_api_warning
from torch import Tensor

from .dense_aux_head import DenseAuxiliaryHead


@MODELS.register_module()
class NormalHead(DenseAuxiliaryHead):
    """Reads ``gt_normals`` (3, H, W) unit vectors, zero vector = invalid; writes ``pred_normals``
    (3, h, w) unit vectors. Downsampled targets are re-normalised.

    Args:
        maps_per_out_channel (int): Task maps averaged into each of x, y, z (128 in the paper;
            the old name ``maps_per_component`` is deprecated).
        loss (dict): 1 - cosine similarity (weight 30 in the paper).
        allow_missing (bool): See :class:`BaseAuxiliaryHead`. Defaults to False.
        label_check_iters (int): See :class:`BaseAuxiliaryHead`. Defaults to 20.
    """
    label_field = 'gt_normals'
    data_info_key = "normal_path (an image entry's normal_file)"
    pred_field = 'pred_normals'
    loss_name = 'loss_normals'
    out_channels = 3

    @deprecated_api_warning({'maps_per_component': 'maps_per_out_channel'}, cls_name='NormalHead')
    def __init__(self,
                 maps_per_out_channel: int = 128,
                 loss: dict = dict(type='NormalCosineLoss', loss_weight=30.0),
                 allow_missing: bool = False,
                 label_check_iters: int = 20,
                 init_cfg=None) -> None:
        super().__init__(
            maps_per_out_channel=maps_per_out_channel,
            loss=loss,
            allow_missing=allow_missing,
            label_check_iters=label_check_iters,
            init_cfg=init_cfg)

    def valid_mask(self, target: Tensor) -> Tensor:
        """Valid normals have a norm above 0.5.

        Args:
            target (Tensor): Normals of shape (B, 3, H, W).

        Returns:
            Tensor: Bool mask of shape (B, 1, H, W).
        """
        # averaged unit vectors of a smooth surface stay near unit length; a vanishing mean means
        # opposite normals cancelled, so the cell has no reliable direction
        return target.norm(dim=1, keepdim=True) > 0.5

    def encode_target(self, target: Tensor) -> Tensor:
        """Re-normalise the downsampled normals to unit length.

        Args:
            target (Tensor): Averaged normals of shape (B, 3, h, w).

        Returns:
            Tensor: Unit normals of shape (B, 3, h, w).
        """
        return F.normalize(target, dim=1, eps=1e-6)

    def decode_pred(self, pred: Tensor) -> Tensor:
        """Normalise the raw prediction to unit vectors.

        Args:
            pred (Tensor): Raw prediction of shape (B, 3, H, W).

        Returns:
            Tensor: Unit normals of shape (B, 3, H, W).
        """
        return F.normalize(pred, dim=1, eps=1e-6)
