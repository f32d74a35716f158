from .auxiliary_metric import AuxiliaryTaskMetric
from .dump_multitask_results import DumpMultiTaskResults, compact_prediction
from .score_threshold_metric import ScoreThresholdMetric
from .zero_on_empty_coco_metric import ZeroOnEmptyCocoMetric

__all__ = [
    'AuxiliaryTaskMetric', 'DumpMultiTaskResults', 'ScoreThresholdMetric', 'ZeroOnEmptyCocoMetric',
    'compact_prediction'
]
