"""Reverse Huber loss for depth regression (Laina et al., 3DV 2016); mmdet has none."""
from typing import Optional

import torch
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class BerHuLoss(nn.Module):
    """berHu(e) = |e| if |e| <= c else (e^2 + c^2) / (2c), with c = ``threshold_ratio`` times the
    largest absolute error over the weighted (valid) pixels of the batch, detached.

    mmdet's loss interface (as ``L1Loss``: ``weight``, ``avg_factor``, ``reduction_override``), so
    either can serve as the depth loss.

    Args:
        threshold_ratio (float): c as a fraction of the batch's max absolute error. Default 0.2.
        reduction (str): 'none', 'mean' or 'sum'. Default 'mean'.
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self,
                 threshold_ratio: float = 0.2,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.threshold_ratio = threshold_ratio
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
            pred (Tensor): Prediction, e.g. of shape (B, 1, h, w).
            target (Tensor): Target of the same shape.
            weight (Tensor, optional): Broadcastable to ``pred``, 0 on invalid pixels. Defaults
                to None (every pixel).
            avg_factor (float, optional): Average factor of the mean reduction. Defaults to
                None.
            reduction_override (str, optional): Overrides ``reduction``. Defaults to None.

        Returns:
            Tensor: The weighted loss; with ``reduction='mean'`` and ``avg_factor``,
            sum(weight * berHu) / avg_factor, without any host-device synchronisation.
        """
        reduction = reduction_override or self.reduction
        err = (pred - target).abs()
        if weight is not None:
            err = err * (weight > 0)
        c = (self.threshold_ratio * err.detach().amax()).clamp(min=1e-6)
        loss = torch.where(err <= c, err, (err * err + c * c) / (2 * c))
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
