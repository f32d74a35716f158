from .rock_tta import ROCKTTAModel

__all__ = ['ROCKTTAModel']
