from .per_side_ssd_anchor_generator import (REIMPLEMENTATION_SCALES, PerSideSSDAnchorGenerator,
                                            per_side_anchor_generator)

__all__ = ['PerSideSSDAnchorGenerator', 'REIMPLEMENTATION_SCALES', 'per_side_anchor_generator']
