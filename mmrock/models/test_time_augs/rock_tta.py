"""Test-time augmentation of ROCK models: mmdet's box merging plus the auxiliary outputs."""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from mmdet.models.test_time_augs import DetTTAModel
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

from ...datasets.transforms.geometry import MultiTaskRandomFlip

FLIP_DIMS = {'horizontal': (-1, ), 'vertical': (-2, ), 'diagonal': (-2, -1)}


def unflip_dense(maps: Tensor, direction: str, is_normals: bool) -> Tensor:
    """Undo a flip of the input image on dense predictions (C, H, W): mirror the maps back and,
    for surface normals, restore the sign of the components the flip negated (x for a
    horizontal flip, y for a vertical one, as :class:`MultiTaskRandomFlip` does to labels)."""
    maps = maps.flip(FLIP_DIMS[direction])
    if is_normals:
        signs = maps.new_tensor(MultiTaskRandomFlip.NORMAL_SIGNS[direction]).view(3, 1, 1)
        maps = maps * signs
    return maps


@MODELS.register_module()
class ROCKTTAModel(DetTTAModel):
    """mmdet's :class:`DetTTAModel` (same arguments) that also merges ROCK's auxiliary outputs,
    which mmdet's takes from the first view unchanged (flipped, for a flip-first pipeline).

    Per image, over its views: ``pred_scene_scores`` (S,) averaged; ``pred_depth`` (1, H, W)
    and ``pred_normals`` (3, H, W) flipped back (:func:`unflip_dense`), resized to the first
    view's size if the views differ in scale, and averaged (normals re-normalised to unit
    length). An image without any detection gets empty ``pred_instances`` (mmdet's returns a
    list there, which the metrics cannot read).
    """

    def _merge_single_sample(self, data_samples: List[DetDataSample]) -> DetDataSample:
        merged = super()._merge_single_sample(data_samples)
        if not isinstance(merged, DetDataSample):  # mmdet's no-detection branch
            merged = data_samples[0]
            merged.pred_instances = InstanceData(
                bboxes=torch.zeros((0, 4)),
                scores=torch.zeros((0, )),
                labels=torch.zeros((0, ), dtype=torch.long))
        if all('pred_scene_scores' in s for s in data_samples):
            merged.pred_scene_scores = torch.stack([s.pred_scene_scores
                                                    for s in data_samples]).mean(dim=0)
        for field in ('pred_depth', 'pred_normals'):
            if all(field in s for s in data_samples):
                merged.set_field(PixelData(data=self._merge_dense(data_samples, field)), field)
        merged.set_metainfo(dict(flip=False, flip_direction=None))
        return merged

    @staticmethod
    def _merge_dense(data_samples: Sequence[DetDataSample], field: str) -> Tensor:
        """The views' ``field`` maps brought back to the unflipped image and averaged."""
        is_normals = field == 'pred_normals'
        size = data_samples[0].get(field).data.shape[-2:]
        views = []
        for sample in data_samples:
            maps = sample.get(field).data
            if sample.metainfo.get('flip', False):
                maps = unflip_dense(maps, sample.metainfo['flip_direction'], is_normals)
            if maps.shape[-2:] != size:
                maps = F.interpolate(maps[None], size=size, mode='bilinear', align_corners=False)[0]
            views.append(maps)
        mean = torch.stack(views).mean(dim=0)
        return F.normalize(mean, dim=0, eps=1e-6) if is_normals else mean
