from .detector_heads import (DetectionTransformerHeads, DetectorHeads, SingleStageHeads,
                             TwoStageHeads, detector_heads)
from .rock_detector import ROCKDetector

__all__ = [
    'DetectionTransformerHeads', 'DetectorHeads', 'ROCKDetector', 'SingleStageHeads',
    'TwoStageHeads', 'detector_heads'
]
