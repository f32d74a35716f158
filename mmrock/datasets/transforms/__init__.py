from .dense_geometry import (Crop, Flip, GeometricTransform, PadBottomRight, PixelMove, Place,
                             Resample, apply_move)
from .formatting import PackMultiTaskInputs
from .fused_geometry import FusedGeometry, fused_pipeline
from .geometry import (FixedRatioMinIoURandomCrop, MultiTaskExpand, MultiTaskMinIoURandomCrop,
                       MultiTaskPad, MultiTaskRandomCrop, MultiTaskRandomFlip, MultiTaskResize)
from .loading import LoadMultiTaskAnnotations
from .multitask_pipeline import check_multitask_pipeline, multitask_pipeline
from .packed_loading import LoadPackedImage, LoadPackedMultiTaskAnnotations
from .photometric import PCALighting

__all__ = [
    'LoadMultiTaskAnnotations', 'MultiTaskExpand', 'MultiTaskMinIoURandomCrop',
    'FixedRatioMinIoURandomCrop', 'MultiTaskRandomCrop', 'MultiTaskPad', 'MultiTaskResize',
    'MultiTaskRandomFlip', 'PCALighting', 'PackMultiTaskInputs', 'FusedGeometry', 'fused_pipeline',
    'LoadPackedImage', 'LoadPackedMultiTaskAnnotations', 'check_multitask_pipeline',
    'multitask_pipeline', 'GeometricTransform', 'PixelMove', 'Crop', 'Place', 'PadBottomRight',
    'Flip', 'Resample', 'apply_move'
]
