from .auxiliary_metric import AuxiliaryTaskMetric
from .zero_on_empty_coco_metric import ZeroOnEmptyCocoMetric

__all__ = ['AuxiliaryTaskMetric', 'ZeroOnEmptyCocoMetric']
