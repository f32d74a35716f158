from .metrics import AuxiliaryTaskMetric, DumpMultiTaskResults, compact_prediction

__all__ = ['AuxiliaryTaskMetric', 'DumpMultiTaskResults', 'compact_prediction']
