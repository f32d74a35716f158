"""Reverse Huber loss for depth regression (Laina et al., 3DV 2016); mmdet has none."""
import torch
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class BerHuLoss(nn.Module):
    """berHu(e) = |e| if |e| <= c else (e^2 + c^2) / (2c), with c = ``threshold_ratio`` times the
    largest absolute error over the weighted (valid) pixels of the batch, detached.

    Same call convention as mmdet's L1Loss, so either can serve as the depth loss.

    Args:
        threshold_ratio (float): c as a fraction of the batch's max absolute error. Default 0.2.
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, threshold_ratio: float = 0.2, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.threshold_ratio = threshold_ratio
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Tensor, avg_factor: Tensor) -> Tensor:
        """pred, target, weight: same shape (e.g. (B, 1, h, w)), weight 0 on invalid pixels.
        Returns sum(weight * berHu) / avg_factor, without any host-device synchronisation."""
        err = (pred - target).abs() * (weight > 0)
        c = (self.threshold_ratio * err.detach().amax()).clamp(min=1e-6)
        loss = torch.where(err <= c, err, (err * err + c * c) / (2 * c))
        return self.loss_weight * (loss * weight).sum() / avg_factor
