from .auxiliary_metric import AuxiliaryTaskMetric

__all__ = ['AuxiliaryTaskMetric']
