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
