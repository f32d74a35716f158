from .auxiliary_metric import AuxiliaryTaskMetric
from .dump_multitask_results import DumpMultiTaskResults, compact_prediction
from .zero_on_empty_coco_metric import ZeroOnEmptyCocoMetric

__all__ = ['AuxiliaryTaskMetric', 'DumpMultiTaskResults', 'ZeroOnEmptyCocoMetric',
           'compact_prediction']
