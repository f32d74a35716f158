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
        """Forward function.

        Args:
            pred (Tensor): Raw normals of shape (B, 3, h, w).
            target (Tensor): Unit normals of shape (B, 3, h, w).
            weight (Tensor, optional): Pixel weights of shape (B, 1, h, w). Defaults to None
                (every pixel).
            avg_factor (float, optional): Average factor of the mean reduction. Defaults to
                None.
            reduction_override (str, optional): Overrides ``reduction``. Defaults to None.

        Returns:
            Tensor: The weighted loss (per pixel (B, 1, h, w) with ``reduction='none'``).
        """
        cos = (F.normalize(pred, dim=1, eps=1e-6) * target).sum(dim=1, keepdim=True)
        return self.loss_weight * weight_reduce_loss(1 - cos, weight, reduction_override
                                                     or self.reduction, avg_factor)
