from .formatting import PackMultiTaskInputs
from .fused_geometry import FusedGeometry
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
    'PackMultiTaskInputs', 'FusedGeometry', 'check_multitask_pipeline', 'multitask_pipeline'
]
