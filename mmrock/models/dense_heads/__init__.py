from .rock_ssd_head import ROCKSSDHead

__all__ = ['ROCKSSDHead']
