from .auxiliary_metric import AuxiliaryTaskMetric
from .dump_multitask_results import DumpMultiTaskResults, compact_prediction

__all__ = ['AuxiliaryTaskMetric', 'DumpMultiTaskResults', 'compact_prediction']
