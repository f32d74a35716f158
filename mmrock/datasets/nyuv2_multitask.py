"""NYUv2 in COCO format with per-image depth, surface-normal and scene labels."""
from mmdet.registry import DATASETS

from mmrock_data.nyuv2_meta import DETECTION_CLASSES, SCENE_CLASSES
from .multitask_coco import MultiTaskCocoDataset


@DATASETS.register_module()
class NYUv2MultiTaskDataset(MultiTaskCocoDataset):
    """NYUv2 detection (19 classes) with auxiliary scene (27 classes) / depth / normal labels,
    as ``tools/dataset_converters/nyuv2.py`` writes them.

    :class:`MultiTaskCocoDataset` with NYUv2's classes and scene classes fixed, so that a split
    holding only some of them keeps the same ids.

    Args:
        **kwargs: See :class:`MultiTaskCocoDataset`.
    """

    METAINFO = {'classes': DETECTION_CLASSES, 'scene_classes': SCENE_CLASSES}
