from .metrics import (AuxiliaryTaskMetric, DumpMultiTaskResults, ScoreThresholdMetric,
                      ZeroOnEmptyCocoMetric, compact_prediction)

__all__ = [
    'AuxiliaryTaskMetric', 'DumpMultiTaskResults', 'ScoreThresholdMetric', 'ZeroOnEmptyCocoMetric',
    'compact_prediction'
]
