from .nyuv2_multitask import NYUv2MultiTaskDataset
from .transforms import (FixedRatioMinIoURandomCrop, LoadMultiTaskAnnotations,
                         MultiTaskExpand, MultiTaskRandomFlip, MultiTaskResize,
                         PackMultiTaskInputs, PCALighting)

__all__ = [
    'NYUv2MultiTaskDataset', 'LoadMultiTaskAnnotations', 'MultiTaskExpand',
    'FixedRatioMinIoURandomCrop', 'MultiTaskResize', 'MultiTaskRandomFlip',
    'PCALighting', 'PackMultiTaskInputs'
]
