"""Running a ROCK model for visualisation: its predictions plus the scene task maps (the maps
just before global average pooling), brought back onto the original image."""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from torch import Tensor


@contextmanager
def capture_task_maps(model) -> Iterator[Dict[str, Tensor]]:
    """Within the block, every ``model.extract_feat`` call (a :class:`ROCKDetector`'s, which
    returns ``(features, {task: task maps})``) also stores its task maps, detached, in the
    yielded dict: ``{'scene': (B, S, h, w), 'depth': ..., 'normals': ...}``. The model runs its
    own ``test_step``/``predict`` unchanged, in one pass; for a model without ROCK (no tuple
    from ``extract_feat``) the dict stays empty.

    Args:
        model (nn.Module): A detector (a :class:`ROCKDetector` for task maps); its
            ``extract_feat`` is wrapped within the block.

    Yields:
        dict[str, Tensor]: The last call's task maps.
    """
    captured: Dict[str, Tensor] = {}
    original = model.extract_feat

    def extract_feat(batch_inputs):
        out = original(batch_inputs)
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
            captured.clear()
            captured.update({k: v.detach() for k, v in out[1].items()})
        return out

    model.extract_feat = extract_feat
    try:
        yield captured
    finally:
        del model.extract_feat


def to_original(maps: Tensor, sample: DetDataSample, from_batch_grid: bool) -> np.ndarray:
    """Bring maps onto a sample's original image (``ori_shape``), bilinearly.

    Args:
        maps (Tensor): Maps of shape (C, h, w).
        sample (DetDataSample): The sample (its metainfo).
        from_batch_grid (bool): The maps cover the padded batch (task maps: upsampled to
            ``batch_input_shape``, then cropped to ``img_shape``); otherwise they already cover
            ``img_shape`` (``pred_depth`` / ``pred_normals``).

    Returns:
        np.ndarray: Float32 maps of shape (C, H, W), (H, W) the ``ori_shape``.
    """
    maps = maps.detach().float()[None]
    if from_batch_grid:
        maps = F.interpolate(
            maps,
            size=tuple(sample.metainfo['batch_input_shape']),
            mode='bilinear',
            align_corners=False)
        h, w = sample.metainfo['img_shape'][:2]
        maps = maps[..., :h, :w]
    ori = tuple(sample.metainfo['ori_shape'][:2])
    if tuple(maps.shape[-2:]) != ori:
        maps = F.interpolate(maps, size=ori, mode='bilinear', align_corners=False)
    return maps[0].cpu().numpy()


def predict_with_scene_maps(model,
                            data: dict) -> Tuple[List[DetDataSample], List[Optional[np.ndarray]]]:
    """Run ``model.test_step(data)`` and keep the scene task maps of the same pass.

    Args:
        model (nn.Module): A detector (a :class:`ROCKDetector` for scene maps).
        data (dict): A batch, as the test dataloader gives it.

    Returns:
        tuple[list[DetDataSample], list[np.ndarray | None]]: The outputs and, per sample, its
        scene task maps (S, H, W) on the original image (None for a model without a scene
        task).
    """
    with torch.no_grad(), capture_task_maps(model) as maps:
        results = model.test_step(data)
    scene = maps.get('scene')
    return results, [
        None if scene is None else to_original(scene[i], sample, True)
        for i, sample in enumerate(results)
    ]


def dense_prediction(sample: DetDataSample, field: str) -> Optional[np.ndarray]:
    """A sample's dense prediction on the original image.

    Args:
        sample (DetDataSample): The model's output.
        field (str): ``'pred_depth'`` or ``'pred_normals'``.

    Returns:
        np.ndarray | None: Float32 (1, H, W) depth or (3, H, W) normals, (H, W) the
        ``ori_shape``; None when absent.
    """
    if field not in sample:
        return None
    return to_original(sample.get(field).data, sample, False)


def seg_prediction(sample: DetDataSample) -> Optional[np.ndarray]:
    """A sample's per-cell class prediction as a label map on the original image.

    Pixel (y, x) of the image (``img_shape``) takes the top class of the cell it lies in, (y * h
    // Hp, x * w // Wp) for the (h, w) grid over the padded batch (Hp, Wp) (the cells of the
    labels' rule, :func:`~mmrock.models.utils.seg_targets.majority_grid`); the map is then
    resized to ``ori_shape``, nearest.

    Args:
        sample (DetDataSample): The model's output, with ``pred_seg_scores`` (K + 1, h', w')
            and the ``aux_batch_grid_shape`` metainfo of a
            :class:`~mmrock.models.heads.SegmentationHead`.

    Returns:
        np.ndarray | None: (H, W) labels, (H, W) the ``ori_shape``: 0..K-1 the classes, K the
        background; uint8 (uint16 beyond 256 classes). None when absent.
    """
    if 'pred_seg_scores' not in sample:
        return None
    cells = sample.pred_seg_scores.argmax(dim=0).cpu().numpy()
    h, w = sample.metainfo['img_shape'][:2]
    pad_h, pad_w = sample.metainfo['batch_input_shape']
    grid_h, grid_w = sample.metainfo['aux_batch_grid_shape']
    rows, cols = np.arange(h) * grid_h // pad_h, np.arange(w) * grid_w // pad_w
    dtype = np.uint8 if sample.pred_seg_scores.shape[0] <= 256 else np.uint16
    labels = cells[rows[:, None], cols[None, :]].astype(dtype)
    ori_h, ori_w = sample.metainfo['ori_shape'][:2]
    if (ori_h, ori_w) != (h, w):  # nearest: pixel i of the original takes row i * h // H
        labels = labels[(np.arange(ori_h) * h // ori_h)[:, None], np.arange(ori_w) * w // ori_w]
    return labels
