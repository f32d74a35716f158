"""Packing of ROCK's auxiliary labels into ``DetDataSample``."""
import numpy as np
import torch
from mmengine.structures import PixelData

from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackMultiTaskInputs(PackDetInputs):
    """mmdet's :class:`PackDetInputs` (same args) plus the auxiliary labels.

    Added data sample fields, each only when its results key is present
    (absent = label missing, never a fake zero target):

    - gt_depth (PixelData): ``data`` float32 (1, H, W), metres, 0 = invalid.
    - gt_normals (PixelData): ``data`` float32 (3, H, W), 0 = invalid.
    - gt_scene_label (torch.LongTensor): 0-dim scene index.
    """

    def transform(self, results: dict) -> dict:
        """Pack image and boxes as mmdet does, then the auxiliary labels."""
        packed = super().transform(results)
        data_sample = packed['data_samples']
        if 'gt_depth' in results:
            depth = np.ascontiguousarray(results['gt_depth'][None],
                                         np.float32)
            data_sample.gt_depth = PixelData(data=torch.from_numpy(depth))
        if 'gt_normals' in results:
            normals = np.ascontiguousarray(
                results['gt_normals'].transpose(2, 0, 1), np.float32)
            data_sample.gt_normals = PixelData(data=torch.from_numpy(normals))
        if 'gt_scene_label' in results:
            data_sample.gt_scene_label = torch.tensor(
                results['gt_scene_label'], dtype=torch.long)
        return packed
