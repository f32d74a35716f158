"""1 - cosine similarity for surface normals (Eigen & Fergus's dot-product loss on unit vectors)."""
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class NormalCosineLoss(nn.Module):
    """sum(weight * (1 - <pred / |pred|, target>)) / avg_factor.

    Args:
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Tensor, avg_factor: Tensor) -> Tensor:
        """pred: (B, 3, h, w) raw normals, target: (B, 3, h, w) unit normals,
        weight: (B, 1, h, w)."""
        cos = (F.normalize(pred, dim=1, eps=1e-6) * target).sum(dim=1, keepdim=True)
        return self.loss_weight * ((1 - cos) * weight).sum() / avg_factor
