from .multitask_coco import MultiTaskCocoDataset
from .nyuv2_multitask import NYUv2MultiTaskDataset
from .transforms import (FixedRatioMinIoURandomCrop, LoadMultiTaskAnnotations,
                         MultiTaskExpand, MultiTaskMinIoURandomCrop,
                         MultiTaskPad, MultiTaskRandomCrop,
                         MultiTaskRandomFlip, MultiTaskResize,
                         PackMultiTaskInputs, PCALighting,
                         check_multitask_pipeline, multitask_pipeline)

__all__ = [
    'MultiTaskCocoDataset', 'NYUv2MultiTaskDataset', 'LoadMultiTaskAnnotations',
    'MultiTaskExpand', 'MultiTaskMinIoURandomCrop', 'FixedRatioMinIoURandomCrop',
    'MultiTaskRandomCrop', 'MultiTaskPad', 'MultiTaskResize',
    'MultiTaskRandomFlip', 'PCALighting', 'PackMultiTaskInputs',
    'check_multitask_pipeline', 'multitask_pipeline'
]
