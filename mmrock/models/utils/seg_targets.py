"""Semantic labels of :class:`~mmrock.models.heads.SegmentationHead`: per pixel from a seg map or
from instance masks, then per cell of the prediction grid (majority of the valid pixels)."""
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

SEG_IGNORE_INDEX = 255  # mmdet's LoadAnnotations / Pad / DetDataPreprocessor default


def _masks_array(masks) -> np.ndarray:
    """(N, H, W) bool of mmdet's ``BitmapMasks`` / ``PolygonMasks`` (rasterised by their own
    ``to_ndarray``), or of a (N, H, W) array / tensor."""
    if hasattr(masks, 'to_ndarray'):
        masks = masks.to_ndarray()
    elif isinstance(masks, Tensor):
        masks = masks.cpu().numpy()
    return np.asarray(masks).astype(bool)


def rasterise_instances(masks,
                        labels,
                        background: int,
                        crowd_masks=None,
                        ignore_index: int = SEG_IGNORE_INDEX) -> np.ndarray:
    """Class map (H, W) int64 of an image's instance masks.

    Rule: every pixel starts as ``background``; the pixels of crowd regions (``crowd_masks``:
    mmdet's ``ignored_instances``) become ``ignore_index``; then the instances are painted from
    the largest (pixel count) to the smallest, so that where instances overlap the smaller one is
    on top (equal sizes: the later instance on top). An instance's pixels take its label, crowd
    pixels included.

    Args:
        masks (BitmapMasks | PolygonMasks | np.ndarray): (N, H, W) instance masks.
        labels (Tensor | np.ndarray): (N, ) class index of each instance.
        background (int): The class of pixels in no instance.
        crowd_masks (BitmapMasks | PolygonMasks | np.ndarray, optional): (M, H, W) crowd
            masks.
        ignore_index (int): Label of crowd pixels. Defaults to 255.

    Returns:
        np.ndarray: (H, W) int64 class map.
    """
    masks = _masks_array(masks)
    labels = np.asarray(labels.cpu() if isinstance(labels, Tensor) else labels, np.int64)
    out = np.full(masks.shape[1:], background, np.int64)
    if crowd_masks is not None and len(crowd_masks):
        out[_masks_array(crowd_masks).any(0)] = ignore_index
    areas = masks.sum((1, 2))
    for k in np.argsort(-areas, kind='stable'):
        out[masks[k]] = labels[k]
    return out


def sample_seg_labels(sample,
                      num_classes: int,
                      ignore_index: int = SEG_IGNORE_INDEX) -> Optional[np.ndarray]:
    """A sample's per-pixel classes.

    Its seg map (``gt_sem_seg.sem_seg`` (1, H, W), mmdet's ``PackDetInputs`` of ``gt_seg_map``)
    when it has one, else its instance masks (``gt_instances.masks``, crowds in
    ``ignored_instances.masks``) rasterised by :func:`rasterise_instances` with background
    ``num_classes``.

    Args:
        sample (DetDataSample | dict): The sample, or its dict (as evaluators get it).
        num_classes (int): K, classes before the background (class K).
        ignore_index (int): Label of pixels that do not count. Defaults to 255.

    Returns:
        np.ndarray | None: (H, W) int64 classes, or None when the sample has neither a seg map
        nor instance masks.

    Raises:
        ValueError: a class outside 0..num_classes that is not ``ignore_index`` (one line).
    """
    sem_seg = _field(sample, 'gt_sem_seg', 'sem_seg')
    masks = _field(sample, 'gt_instances', 'masks')
    if sem_seg is not None:
        labels = np.asarray(sem_seg.cpu() if isinstance(sem_seg, Tensor) else sem_seg,
                            np.int64).reshape(sem_seg.shape[-2:])
        where = 'gt_sem_seg'
    elif masks is not None:
        labels = rasterise_instances(masks, _field(sample, 'gt_instances', 'labels'), num_classes,
                                     _field(sample, 'ignored_instances', 'masks'), ignore_index)
        where = 'gt_instances.labels'
    else:
        return None
    bad = (labels > num_classes) & (labels != ignore_index) | (labels < 0)
    if bad.any():
        raise ValueError(f'SegmentationHead: {where} of {_image_of(sample)} holds class '
                         f'{int(labels[bad][0])}, outside 0..{num_classes} (num_classes='
                         f'{num_classes}, background {num_classes}) and not ignore_index '
                         f'{ignore_index}: set num_classes to the data\'s')
    return labels


def _field(sample, name: str, key: str):
    """``sample.<name>.<key>`` of a data sample or its dict; None when either is absent (no
    truth test: an InstanceData without instances is falsy)."""
    parent = sample.get(name)
    return None if parent is None else parent.get(key)


def _image_of(sample) -> str:
    meta = sample.metainfo if hasattr(sample, 'metainfo') else sample
    return str(meta.get('img_path', 'a sample'))


def majority_grid(labels: Tensor,
                  size: Tuple[int, int],
                  num_labels: int,
                  ignore_index: int = SEG_IGNORE_INDEX) -> Tensor:
    """Labels (B, H, W) brought to an (h, w) grid: pixel (y, x) falls in cell
    (floor(y * h / H), floor(x * w / W)) (the cells of ``F.adaptive_avg_pool2d`` when h divides H
    and w divides W, as the stride of the prediction grid does); a cell takes the most frequent
    class among its pixels that are not ``ignore_index`` (a tie: the smallest class), and
    ``ignore_index`` when it has none. Counted by one ``bincount`` of (cell, class) pairs: no
    (B, classes, H, W) one-hot.

    Args:
        labels (Tensor): (B, H, W) integer classes in 0..num_labels - 1, or ``ignore_index``.
        size (tuple[int, int]): (h, w) of the grid.
        num_labels (int): Number of classes.
        ignore_index (int): The label of pixels that do not count. Defaults to 255.

    Returns:
        Tensor: (B, h, w) int64 on ``labels``' device.
    """
    b, height, width = labels.shape
    h, w = size
    labels = labels.long()
    rows = torch.arange(height, device=labels.device) * h // height
    cols = torch.arange(width, device=labels.device) * w // width
    cell = (torch.arange(b, device=labels.device)[:, None, None] * h +
            rows[None, :, None]) * w + cols[None, None, :]
    valid = labels != ignore_index
    counts = torch.bincount(
        cell[valid] * num_labels + labels[valid],
        minlength=b * h * w * num_labels).view(b, h, w, num_labels)
    out = counts.argmax(-1)
    out[counts.sum(-1) == 0] = ignore_index
    return out
