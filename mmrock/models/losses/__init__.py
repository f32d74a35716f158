from .berhu_loss import BerHuLoss
from .normal_cosine_loss import NormalCosineLoss

__all__ = ['BerHuLoss', 'NormalCosineLoss']
