"""NYUv2 in COCO format with per-image depth, surface-normal and scene labels."""
import math
import os.path as osp
from typing import List, Union

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .converters.nyuv2_mat import NYUv2FormatError
from .nyuv2_meta import DETECTION_CLASSES, SCENE_CLASSES

# image-entry field of the annotation file -> (data_prefix key, data_info key)
_DENSE_FILES = {
    'depth_file': ('depth', 'depth_path'),
    'normal_file': ('normal', 'normal_path'),
    'normal_mask_file': ('normal_mask', 'normal_mask_path'),
}


@DATASETS.register_module()
class NYUv2MultiTaskDataset(CocoDataset):
    """NYUv2 detection (19 classes) with auxiliary scene / depth / normal labels.

    Adds ``CocoDataset``'s parsing of the extra image fields written by the
    converter: ``depth_file``, ``normal_file``, ``normal_mask_file`` (joined with
    ``data_prefix['depth' | 'normal' | 'normal_mask']``) and ``scene_id``. Each
    becomes ``depth_path`` / ``normal_path`` / ``normal_mask_path`` /
    ``scene_label`` in the data info; a field absent from the annotation file
    (modality missing for that image) leaves its key absent.

    Images without boxes are kept by default (``filter_cfg=None``): they still
    carry auxiliary labels. Pass ``filter_cfg=dict(filter_empty_gt=True)`` to
    drop them.

    Args:
        data_prefix (dict): Folders of images and dense labels, relative to
            ``data_root``. Keys: ``img``, ``depth``, ``normal``, ``normal_mask``.
        **kwargs: See :class:`mmdet.datasets.CocoDataset`.
    """

    METAINFO = {'classes': DETECTION_CLASSES, 'scene_classes': SCENE_CLASSES}

    def __init__(self,
                 *args,
                 data_prefix: dict = dict(
                     img='images/',
                     depth='depth/',
                     normal='normals/',
                     normal_mask='normal_masks/'),
                 **kwargs) -> None:
        super().__init__(*args, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """``CocoDataset``'s, with a bad annotation file reported as one line naming it
        (:class:`NYUv2FormatError`)."""
        try:
            return super().load_data_list()
        except NYUv2FormatError:
            raise
        except (ValueError, KeyError, TypeError, IndexError) as exc:  # JSONDecodeError included
            raise NYUv2FormatError(self.ann_file, 'not a valid NYUv2 COCO annotation file '
                                   f'({type(exc).__name__}: {exc})') from exc

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Parse boxes as ``CocoDataset`` does (which drops boxes of zero width or height), then
        the auxiliary labels."""
        img_info = raw_data_info['raw_img_info']
        for ann in raw_data_info['raw_ann_info']:
            bbox = ann.get('bbox')
            if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4 and all(
                    isinstance(v, (int, float)) and math.isfinite(v) for v in bbox)):
                raise NYUv2FormatError(self.ann_file, f'annotation {ann.get("id")} of image '
                                       f'{img_info["img_id"]}: bbox {bbox!r} is not 4 finite '
                                       'numbers [x, y, w, h]')
        data_info = super().parse_data_info(raw_data_info)
        for field, (prefix, key) in _DENSE_FILES.items():
            if img_info.get(field) is not None:
                data_info[key] = osp.join(
                    self.data_prefix.get(prefix, ''), img_info[field])
        if img_info.get('scene_id') is not None:
            scene_label = img_info['scene_id']
            num_scenes = len(self.metainfo['scene_classes'])
            if not (isinstance(scene_label, int) and 0 <= scene_label < num_scenes):
                raise NYUv2FormatError(self.ann_file, f'scene_id {scene_label!r} of image '
                                       f'{img_info["img_id"]} is not in 0..{num_scenes - 1}')
            data_info['scene_label'] = scene_label
        return data_info
