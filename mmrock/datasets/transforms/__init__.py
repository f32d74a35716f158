from .formatting import PackMultiTaskInputs
from .geometry import (FixedRatioMinIoURandomCrop, MultiTaskExpand,
                       MultiTaskRandomFlip, MultiTaskResize)
from .loading import LoadMultiTaskAnnotations
from .photometric import PCALighting

__all__ = [
    'LoadMultiTaskAnnotations', 'MultiTaskExpand',
    'FixedRatioMinIoURandomCrop', 'MultiTaskResize', 'MultiTaskRandomFlip',
    'PCALighting', 'PackMultiTaskInputs'
]
