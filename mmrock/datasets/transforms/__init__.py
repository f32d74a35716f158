from .formatting import PackMultiTaskInputs
from .geometry import (FixedRatioMinIoURandomCrop, MultiTaskExpand,
                       MultiTaskMinIoURandomCrop, MultiTaskPad,
                       MultiTaskRandomCrop, MultiTaskRandomFlip,
                       MultiTaskResize)
from .loading import LoadMultiTaskAnnotations
from .multitask_pipeline import check_multitask_pipeline, multitask_pipeline
from .photometric import PCALighting

__all__ = [
    'LoadMultiTaskAnnotations', 'MultiTaskExpand', 'MultiTaskMinIoURandomCrop',
    'FixedRatioMinIoURandomCrop', 'MultiTaskRandomCrop', 'MultiTaskPad',
    'MultiTaskResize', 'MultiTaskRandomFlip', 'PCALighting',
    'PackMultiTaskInputs', 'check_multitask_pipeline', 'multitask_pipeline'
]
