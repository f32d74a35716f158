from .rock_neck import ROCKNeck

__all__ = ['ROCKNeck']
