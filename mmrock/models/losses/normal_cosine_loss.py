"""1 - cosine similarity for surface normals (Eigen & Fergus's dot-product loss on unit vectors)."""
from typing import Optional

import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class NormalCosineLoss(nn.Module):
    """1 - <pred / |pred|, target> per pixel, weighted and reduced as mmdet's losses
    (``weight``, ``avg_factor``, ``reduction_override``): with ``reduction='mean'`` and
    ``avg_factor``, sum(weight * (1 - cos)) / avg_factor.

    Args:
        reduction (str): 'none', 'mean' or 'sum'. Default 'mean'.
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """pred: (B, 3, h, w) raw normals, target: (B, 3, h, w) unit normals,
        weight: (B, 1, h, w) or None (every pixel); the per-pixel loss is (B, 1, h, w)."""
        cos = (F.normalize(pred, dim=1, eps=1e-6) * target).sum(dim=1, keepdim=True)
        return self.loss_weight * weight_reduce_loss(1 - cos, weight, reduction_override
                                                     or self.reduction, avg_factor)
