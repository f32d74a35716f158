"""Packing of ROCK's auxiliary labels into ``DetDataSample``."""
import numpy as np
import torch
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS
from mmengine.structures import PixelData


@TRANSFORMS.register_module()
class PackMultiTaskInputs(PackDetInputs):
    """mmdet's :class:`PackDetInputs` (same args) plus the auxiliary labels.

    Added data sample fields, each only when its results key is present
    (absent = label missing, never a fake zero target):

    - gt_depth (PixelData): ``data`` float32 (1, H, W), metres, 0 = invalid.
    - gt_normals (PixelData): ``data`` float32 (3, H, W), 0 = invalid.
    - gt_scene_label (torch.LongTensor): 0-dim scene index.

    A dense map must have the image's size (labels loaded before the geometric
    transforms, as in training), or the original size when it was loaded after
    the image was resized (``dense_labels_at_ori_shape``, as in testing); any
    other size raises ``ValueError`` naming the image file, never a crop or pad.
    """

    stock_type = 'PackDetInputs'

    def transform(self, results: dict) -> dict:
        """Pack image and boxes as mmdet does, then the auxiliary labels.

        Args:
            results (dict): The sample, with ``gt_depth`` (H, W), ``gt_normals`` (H, W, 3)
                and ``gt_scene_label`` when loaded.

        Returns:
            dict: ``inputs`` (Tensor (C, H, W)) and ``data_samples`` (:obj:`DetDataSample`
            with the auxiliary label fields above).

        Raises:
            ValueError: When ``dense_codes`` were never decoded, or a dense map has neither
                the image's size nor (``dense_labels_at_ori_shape``) the original size.
        """
        if 'dense_codes' in results:
            raise ValueError(f"{results.get('img_path')}: depth / normals loaded undecoded "
                             '(decode_dense=False) and never decoded: only FusedGeometry '
                             'decodes them')
        expected = (results['ori_shape']
                    if results.get('dense_labels_at_ori_shape') else results['img'].shape)[:2]
        for key in ('gt_depth', 'gt_normals'):
            if key in results and tuple(results[key].shape[:2]) != tuple(expected):
                (h, w), (eh, ew) = results[key].shape[:2], expected
                raise ValueError(
                    f"{results.get('img_path')}: {key} is {w}x{h} at packing, its image "
                    f'{ew}x{eh} (W x H): a transform moved one and not the other (use '
                    'multitask_pipeline(train_pipeline) from mmrock.datasets, or the MultiTask* '
                    'transforms), or the label file has the wrong size')
        packed = super().transform(results)
        data_sample = packed['data_samples']
        if 'gt_depth' in results:
            depth = np.ascontiguousarray(results['gt_depth'][None], np.float32)
            data_sample.gt_depth = PixelData(data=torch.from_numpy(depth))
        if 'gt_normals' in results:
            normals = np.ascontiguousarray(results['gt_normals'].transpose(2, 0, 1), np.float32)
            data_sample.gt_normals = PixelData(data=torch.from_numpy(normals))
        if 'gt_scene_label' in results:
            data_sample.gt_scene_label = torch.tensor(results['gt_scene_label'], dtype=torch.long)
        return packed
