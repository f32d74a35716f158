from .per_side_ssd_anchor_generator import PerSideSSDAnchorGenerator

__all__ = ['PerSideSSDAnchorGenerator']
