from .metrics import AuxiliaryTaskMetric

__all__ = ['AuxiliaryTaskMetric']
