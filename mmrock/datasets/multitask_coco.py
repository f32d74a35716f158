"""Any RGB-D detection dataset: COCO json plus per-image depth, normals and scene labels."""
import math
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from mmrock_data.converters.errors import DataFormatError
from .transforms.multitask_pipeline import check_multitask_pipeline

# image-entry field of the annotation file -> (data_prefix key, data_info key)
DENSE_FILES = {
    'depth_file': ('depth', 'depth_path'),
    'normal_file': ('normal', 'normal_path'),
    'normal_mask_file': ('normal_mask', 'normal_mask_path'),
    'seg_map_file': ('seg', 'seg_map_path'),
}


@DATASETS.register_module()
class MultiTaskCocoDataset(CocoDataset):
    """COCO detection with ROCK's auxiliary labels: scene / depth / normals.

    The annotation file is COCO json whose ``images`` entries may carry
    ``depth_file``, ``normal_file``, ``normal_mask_file``, ``seg_map_file``
    (joined with ``data_prefix['depth' | 'normal' | 'normal_mask' | 'seg']``)
    and ``scene_id`` (index in ``scene_classes``), as
    ``tools/dataset_converters/coco_rgbd.py`` and ``nyuv2.py`` write them. Each
    becomes ``depth_path`` / ``normal_path`` / ``normal_mask_path`` /
    ``seg_map_path`` (mmdet's key: ``LoadAnnotations(with_seg=True)`` loads it)
    / ``scene_label`` in the data info; a field absent from an image entry
    (label missing for that image) leaves its key absent (``seg_map_path``:
    None, as mmdet's loader takes it).

    ``classes`` come from ``metainfo`` or, when not given, from the json's
    ``categories`` (in their order); ``scene_classes`` from ``metainfo`` or the
    json's top-level ``scene_classes`` list. A ``scene_id`` outside them is an
    error naming the file.

    Images without boxes are kept by default (``filter_cfg=None``): they still
    carry auxiliary labels. The pipeline is checked: a transform that would
    move the image without loaded depth / normals is refused at construction
    (:func:`check_multitask_pipeline`).

    Args:
        data_prefix (dict, optional): Folders of images and dense labels,
            relative to ``data_root``. Keys: ``img``, ``depth``, ``normal``,
            ``normal_mask``, ``seg``; a key not given takes its ``DATA_PREFIX`` value
            (the converters' layout).
        pack (str, optional): Folder of the split's decode-free pack
            (:mod:`mmrock.datasets.packed_split`), relative to ``data_root``;
            given as ``pack_dir`` in each data info, for ``LoadPackedImage`` /
            ``LoadPackedMultiTaskAnnotations``. Defaults to None.
        pipeline (Sequence[dict]): Transforms, checked by :func:`check_multitask_pipeline`.
            Defaults to none.
        **kwargs: See :class:`mmdet.datasets.CocoDataset`.
    """

    METAINFO = {'classes': (), 'scene_classes': ()}
    DATA_PREFIX = dict(
        img='images/', depth='depth/', normal='normals/', normal_mask='normal_masks/', seg='seg/')

    def __init__(self,
                 *args,
                 data_prefix: Optional[dict] = None,
                 pipeline: Sequence[dict] = (),
                 pack: Optional[str] = None,
                 **kwargs) -> None:
        self.pack_dir = osp.join(kwargs.get('data_root') or '', pack) if pack else None
        check_multitask_pipeline([t for t in pipeline if isinstance(t, dict)],
                                 where=f'{type(self).__name__} pipeline')
        super().__init__(
            *args,
            data_prefix={
                **self.DATA_PREFIX,
                **(data_prefix or {})
            },
            pipeline=list(pipeline),
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """``CocoDataset``'s, with a bad annotation file reported as one line naming it
        (:class:`DataFormatError`) and the class names completed from the json.

        Returns:
            list[dict]: The data infos (see :meth:`parse_data_info`).
        """
        try:
            data_list = super().load_data_list()
        except DataFormatError:
            raise
        except (ValueError, KeyError, TypeError, IndexError) as exc:  # JSONDecodeError included
            raise DataFormatError(
                self.ann_file, f'not a valid {type(self).__name__} COCO '
                f'annotation file ({type(exc).__name__}: {exc})') from exc
        if not self._metainfo.get('classes'):
            raise DataFormatError(
                self.ann_file, 'no categories (give them in the json or as '
                'metainfo=dict(classes=...))')
        return data_list

    def _complete_metainfo(self) -> None:
        """``classes`` / ``scene_classes`` from the json when ``metainfo`` gave none (called
        while ``self.coco`` is loaded)."""
        if not self._metainfo.get('classes'):
            self._metainfo['classes'] = tuple(self.coco.cats[i]['name'] for i in self.cat_ids)
        if not self._metainfo.get('scene_classes'):
            self._metainfo['scene_classes'] = tuple(self.coco.dataset.get('scene_classes', ()))

    def _scene_label(self, img_info: dict) -> Optional[int]:
        scene_label = img_info.get('scene_id')
        if scene_label is None:
            return None
        num_scenes = len(self._metainfo['scene_classes'])
        if not (isinstance(scene_label, int) and 0 <= scene_label < num_scenes):
            raise DataFormatError(
                self.ann_file, f'scene_id {scene_label!r} of image '
                f'{img_info["img_id"]} is not in 0..{num_scenes - 1} '
                f'({num_scenes} scene_classes)')
        return scene_label

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Parse boxes as ``CocoDataset`` does (which drops boxes of zero width or height), then
        the auxiliary labels.

        Args:
            raw_data_info (dict): ``raw_img_info`` and ``raw_ann_info`` of one image.

        Returns:
            dict: ``CocoDataset``'s data info plus, where the image has them, ``depth_path``,
            ``normal_path``, ``normal_mask_path``, ``seg_map_path``, ``scene_label`` and
            ``pack_dir``.
        """
        self._complete_metainfo()
        img_info = raw_data_info['raw_img_info']
        for ann in raw_data_info['raw_ann_info']:
            bbox = ann.get('bbox')
            if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4
                    and all(isinstance(v, (int, float)) and math.isfinite(v) for v in bbox)):
                raise DataFormatError(
                    self.ann_file, f'annotation {ann.get("id")} of image '
                    f'{img_info["img_id"]}: bbox {bbox!r} is not 4 finite '
                    'numbers [x, y, w, h]')
        data_info = super().parse_data_info(raw_data_info)
        data_info['seg_map_path'] = None  # not CocoDataset's guess from the file name
        for field, (prefix, key) in DENSE_FILES.items():
            if img_info.get(field) is not None:
                data_info[key] = osp.join(self.data_prefix.get(prefix, ''), img_info[field])
        scene_label = self._scene_label(img_info)
        if scene_label is not None:
            data_info['scene_label'] = scene_label
        if self.pack_dir is not None:
            data_info['pack_dir'] = self.pack_dir
        return data_info
