from .rock_detector import (DetectionTransformerHeads, DetectorHeads, ROCKDetector,
                            SingleStageHeads, TwoStageHeads, detector_heads)

__all__ = [
    'DetectionTransformerHeads', 'DetectorHeads', 'ROCKDetector', 'SingleStageHeads',
    'TwoStageHeads', 'detector_heads'
]
