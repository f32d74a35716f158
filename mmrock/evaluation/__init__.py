from .metrics import AuxiliaryTaskMetric, ZeroOnEmptyCocoMetric

__all__ = ['AuxiliaryTaskMetric', 'ZeroOnEmptyCocoMetric']
