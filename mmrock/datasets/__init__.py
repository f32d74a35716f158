from .multitask_coco import MultiTaskCocoDataset
from .nyuv2_multitask import NYUv2MultiTaskDataset
from .packed_split import PackedSplit, open_pack, pack_split
from .transforms import (FixedRatioMinIoURandomCrop, FusedGeometry, LoadMultiTaskAnnotations,
                         LoadPackedImage, LoadPackedMultiTaskAnnotations, MultiTaskExpand,
                         MultiTaskMinIoURandomCrop, MultiTaskPad, MultiTaskRandomCrop,
                         MultiTaskRandomFlip, MultiTaskResize, PackMultiTaskInputs, PCALighting,
                         check_multitask_pipeline, fused_pipeline, multitask_pipeline)
from .wrapped_dataset import multitask_dataset

__all__ = [
    'MultiTaskCocoDataset', 'NYUv2MultiTaskDataset', 'LoadMultiTaskAnnotations', 'MultiTaskExpand',
    'MultiTaskMinIoURandomCrop', 'FixedRatioMinIoURandomCrop', 'MultiTaskRandomCrop',
    'MultiTaskPad', 'MultiTaskResize', 'MultiTaskRandomFlip', 'PCALighting', 'PackMultiTaskInputs',
    'FusedGeometry', 'LoadPackedImage', 'LoadPackedMultiTaskAnnotations', 'PackedSplit',
    'open_pack', 'pack_split', 'check_multitask_pipeline', 'fused_pipeline', 'multitask_dataset',
    'multitask_pipeline'
]
