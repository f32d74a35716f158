from .metrics import (AuxiliaryTaskMetric, DumpMultiTaskResults, ZeroOnEmptyCocoMetric,
                      compact_prediction)

__all__ = ['AuxiliaryTaskMetric', 'DumpMultiTaskResults', 'ZeroOnEmptyCocoMetric',
           'compact_prediction']
