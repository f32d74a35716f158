"""mmdet's geometric transforms, stating their pixel moves so that every map follows the image.

Each transform here has mmdet's arguments and draws its randomness as mmdet does (numpy's
global generator, the same draws in the same order, from the documented constructor
arguments), moves boxes, instance labels and meta keys as mmdet does, and states its pixel move
(:mod:`.dense_geometry`): the image, ``gt_masks``, ``gt_seg_map`` and ROCK's dense labels
(``gt_depth`` (H, W) in metres, ``gt_normals`` (H, W, 3), both 0 where invalid) then follow it,
the dense labels with the move's zoom and flip signs.
"""
from typing import Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmdet.datasets.transforms import Expand, MinIoURandomCrop, Pad, RandomCrop, RandomFlip, Resize
from mmdet.registry import TRANSFORMS
from numpy import random

from .dense_geometry import (NORMAL_SIGNS, Crop, Flip, GeometricTransform, PadBottomRight,
                             PixelMove, Place, Resample)


def patch_box_ious(patch: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoUs (n, ) of one float32 box ``patch`` (4, ) with float32 ``boxes`` (n, 4), or (m, n)
    of m patches (m, 4): mmdet's ``bbox_overlaps`` (eps 1e-6) operation by operation in
    float32, so the same values, without its per-call tensor overhead.

    Args:
        patch (np.ndarray): float32 (x1, y1, x2, y2) patch (4, ), or m patches (m, 4).
        boxes (np.ndarray): float32 boxes (n, 4).

    Returns:
        np.ndarray: float32 IoUs (n, ) for one patch, (m, n) for m patches.
    """
    patch = patch[..., None, :]
    area1 = (patch[..., 2] - patch[..., 0]) * (patch[..., 3] - patch[..., 1])
    area2 = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    wh = np.clip(
        np.minimum(patch[..., 2:], boxes[:, 2:]) - np.maximum(patch[..., :2], boxes[:, :2]), 0,
        None)
    overlap = wh[..., 0] * wh[..., 1]
    union = np.maximum(area1 + area2 - overlap, np.float32(1e-6))
    return overlap / union


def crop_instances(results: dict, keep: np.ndarray) -> None:
    """Keep the instances (boxes, labels, ignore flags, masks) where ``keep``.

    Args:
        results (dict): The sample, modified.
        keep (np.ndarray): (n, ) bool, one per box.
    """
    results['gt_bboxes'] = results['gt_bboxes'][keep]
    for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
        if results.get(key) is not None:
            results[key] = results[key][keep]
    if results.get('gt_masks') is not None:
        results['gt_masks'] = results['gt_masks'][keep.nonzero()[0]]


def record_homography(results: dict, homography: np.ndarray) -> None:
    """Compose ``results['homography_matrix']`` with a step's, as mmdet's transforms do.

    Args:
        results (dict): The sample, modified.
        homography (np.ndarray): The step's (3, 3) float32 matrix.
    """
    if results.get('homography_matrix') is None:
        results['homography_matrix'] = homography
    else:
        results['homography_matrix'] = homography @ results['homography_matrix']


@TRANSFORMS.register_module()
class MultiTaskExpand(GeometricTransform, Expand):
    """mmdet's :class:`Expand` (same args and draws), stating a :class:`Place` move.

    The canvas holds ``mean`` in the image, 0 (invalid) in depth and normals,
    ``seg_ignore_label`` in ``gt_seg_map`` (None: the ``ignore_index`` that
    ``LoadAnnotations`` set, 255 by default); the zoom is w / canvas_w (~1 / r).
    """

    stock_type = 'Expand'

    def plan(self, results: dict, shape: Tuple[int, int]) -> Optional[PixelMove]:
        """Draw as mmdet does (probability, ratio, offsets); translate the boxes.

        Args:
            results (dict): The sample.
            shape (tuple[int]): The image's (h, w).

        Returns:
            Place, optional: The canvas; None: no expansion.
        """
        h, w = shape
        if random.uniform(0, 1) > self.prob:
            return None
        ratio = random.uniform(self.min_ratio, self.max_ratio)
        left = int(random.uniform(0, w * ratio - w))
        top = int(random.uniform(0, h * ratio - h))
        new_h, new_w = int(h * ratio), int(w * ratio)
        results['img_shape'] = (new_h, new_w)
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].translate_([left, top])
        seg_fill = self.seg_ignore_label
        if seg_fill is None:  # mmdet's Expand cannot fill with None: the loaded ignore index
            seg_fill = results.get('ignore_index', 255)
        return Place((new_h, new_w, left, top), w, self.mean, seg_fill)


@TRANSFORMS.register_module()
class MultiTaskMinIoURandomCrop(GeometricTransform, MinIoURandomCrop):
    """mmdet's :class:`MinIoURandomCrop` (same args and sampling), stating a
    :class:`Crop` move (zoom w / crop_w).

    IoU threshold drawn from ``(1, *min_ious, 0)`` (1 = no crop); a crop is
    rejected if its IoU with a box is below it; boxes (+ masks) are kept iff
    their centre is inside the crop.

    Modified Keys: img, img_shape, gt_bboxes, gt_bboxes_labels,
    gt_ignore_flags, gt_masks, gt_seg_map, gt_depth, gt_normals.

    Args:
        max_trials (int): Crops tried per threshold. Defaults to 50 (mmdet).
        **kwargs: See :class:`mmdet.datasets.transforms.MinIoURandomCrop`.
    """

    stock_type = 'MinIoURandomCrop'

    def __init__(self, *args, max_trials: int = 50, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_trials = max_trials

    def random_min_iou(self) -> float:
        """Draw the IoU threshold as mmdet does, from ``(1, *min_ious, 0)`` (1 = no crop).

        Returns:
            float: The threshold.
        """
        return random.choice((1, *self.min_ious, 0))

    def _random_patch(self, h: int, w: int) -> Optional[np.ndarray]:
        """A crop (x1, y1, x2, y2) sampled as mmdet does, None when rejected
        (aspect outside [0.5, 2], or a line)."""
        new_w = random.uniform(self.min_crop_size * w, w)
        new_h = random.uniform(self.min_crop_size * h, h)
        if new_h / new_w < 0.5 or new_h / new_w > 2:
            return None
        left = random.uniform(w - new_w)
        top = random.uniform(h - new_h)
        patch = np.array((int(left), int(top), int(left + new_w), int(top + new_h)))
        return None if patch[2] == patch[0] or patch[3] == patch[1] else patch

    def _sample_crop(self, results: dict, h: int,
                     w: int) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Draw as mmdet does, for an (h, w) image: None (no crop) or the accepted crop
        (patch (x1, y1, x2, y2), boxes kept)."""
        boxes = results['gt_bboxes']
        # numpy copies, once: the trials (dozens per image) then cost microseconds each
        box_array = boxes.numpy().astype(np.float32).reshape(-1, 4)
        centers = boxes.centers.numpy().reshape(-1, 2)
        while True:
            min_iou = self.random_min_iou()
            if min_iou == 1:
                return None
            crop = self._first_accepted(h, w, min_iou, box_array, centers)
            if crop is not None:
                return crop

    def _first_accepted(self, h: int, w: int, min_iou: float, box_array: np.ndarray,
                        centers: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Up to ``max_trials`` crops: the first whose IoU with every box (float32 (n, 4)) is
        at least ``min_iou`` and that keeps a box centre (float32 (n, 2)), with its keep mask;
        None when none is."""
        for _ in range(self.max_trials):
            patch = self._random_patch(h, w)
            if patch is None:
                continue
            overlaps = patch_box_ious(patch.astype(np.float32), box_array)
            if len(overlaps) > 0 and overlaps.min() < min_iou:
                continue
            keep = ((centers > patch[:2]) & (centers < patch[2:])).all(1)
            if len(overlaps) > 0 and not keep.any():
                continue
            return patch, keep
        return None

    def plan(self, results: dict, shape: Tuple[int, int]) -> Optional[PixelMove]:
        """Draw the crop as mmdet does; keep and move the instances whose box centre is in it.

        Args:
            results (dict): The sample.
            shape (tuple[int]): The image's (h, w).

        Returns:
            Crop, optional: The crop; None: no crop.
        """
        crop = self._sample_crop(results, *shape)
        if crop is None:
            return None
        patch, keep = crop
        x1, y1, x2, y2 = (int(v) for v in patch)
        crop_instances(results, keep)
        results['gt_bboxes'].translate_([-x1, -y1])
        if self.bbox_clip_border:
            results['gt_bboxes'].clip_([y2 - y1, x2 - x1])
        results['img_shape'] = (y2 - y1, x2 - x1)
        return Crop((x1, y1, x2, y2), shape[1])

    def __repr__(self) -> str:
        return f'{super().__repr__()[:-1]}, max_trials={self.max_trials})'


@TRANSFORMS.register_module()
class FixedRatioMinIoURandomCrop(MultiTaskMinIoURandomCrop):
    """SSD's min-IoU random crop whose crops keep the image's aspect ratio.

    As :class:`MultiTaskMinIoURandomCrop`, except that the crop is
    ``s * (w, h)`` with ``s ~ U(min_crop_size, max_crop_size)`` (height rounded
    from the width: aspect kept within one pixel), as ROCK's training does.

    Args:
        min_ious (Sequence[float]): IoU thresholds. Defaults to SSD's.
        min_crop_size (float): Smallest side scale s. Defaults to 0.3.
        max_crop_size (float): Largest side scale s. Defaults to 1.
        bbox_clip_border (bool): Clip boxes to the crop. Defaults to True.
        max_trials (int): Crops tried per threshold. Defaults to 50 (SSD).
    """

    stock_type = None

    def __init__(self,
                 min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
                 min_crop_size: float = 0.3,
                 max_crop_size: float = 1.,
                 bbox_clip_border: bool = True,
                 max_trials: int = 50) -> None:
        super().__init__(min_ious, min_crop_size, bbox_clip_border, max_trials=max_trials)
        assert 0 < min_crop_size <= max_crop_size <= 1
        self.max_crop_size = max_crop_size

    def _random_patches(self, h: int, w: int, n: int) -> np.ndarray:
        """Sample n crops (n, 4) (x1, y1, x2, y2) with the aspect ratio h / w, from 3n uniform
        draws: scale s ~ U(min_crop_size, max_crop_size), the width round(s * w), the height
        rounded from it, the offsets (as ``random.uniform`` computes them, so the same values as
        n draws of one crop)."""
        u = random.random_sample((n, 3))
        low, high = self.min_crop_size, self.max_crop_size
        crop_w = np.maximum(1, np.round((low + (high - low) * u[:, 0]) * w).astype(np.int64))
        crop_h = np.maximum(1, np.round(crop_w * h / w).astype(np.int64))
        left = (0. + (w - crop_w) * u[:, 1]).astype(np.int64)
        top = (0. + (h - crop_h) * u[:, 2]).astype(np.int64)
        return np.stack([left, top, left + crop_w, top + crop_h], 1)

    def _random_patch(self, h: int, w: int) -> np.ndarray:
        """Sample a crop (x1, y1, x2, y2) with the aspect ratio h / w."""
        return self._random_patches(h, w, 1)[0]

    def _first_accepted(self, h: int, w: int, min_iou: float, box_array: np.ndarray,
                        centers: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """The base class' trial loop, all trials at once: the same draws (the generator then
        rewound to just after the accepted trial), the same float32 IoUs and comparisons, so
        the same crop."""
        n = self.max_trials
        state = random.get_state()
        patches = self._random_patches(h, w, n)
        accept = np.ones(n, bool)
        if len(box_array):
            accept = patch_box_ious(patches.astype(np.float32), box_array).min(1) >= min_iou
            keep = ((centers[None] > patches[:, None, :2]) &
                    (centers[None] < patches[:, None, 2:])).all(2)
            accept &= keep.any(1)
        else:
            keep = np.zeros((n, 0), bool)
        if not accept.any():
            return None
        k = int(accept.argmax())
        random.set_state(state)
        random.random_sample(3 * (k + 1))
        return patches[k], keep[k]

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, '
                f'max_crop_size={self.max_crop_size})')


@TRANSFORMS.register_module()
class MultiTaskRandomCrop(GeometricTransform, RandomCrop):
    """mmdet's :class:`RandomCrop` (same args and draws), stating a :class:`Crop` move (zoom
    w / crop_w). Returns None, as mmdet, when no box is left and ``allow_negative_crop`` is
    False; not fusable for that reason.

    Modified Keys: mmdet's (img, img_shape, gt_bboxes, gt_bboxes_labels,
    gt_masks, gt_ignore_flags, gt_seg_map, homography_matrix) and gt_depth, gt_normals.
    """

    fusable = False
    stock_type = 'RandomCrop'

    def random_crop_size(self, shape: Tuple[int, int]) -> Tuple[int, int]:
        """Draw the crop size as mmdet does from ``crop_size`` and ``crop_type``.

        Args:
            shape (tuple[int]): The image's (h, w).

        Returns:
            tuple[int]: (crop_h, crop_w) in pixels.
        """
        h, w = shape
        if self.crop_type == 'absolute':
            return min(self.crop_size[1], h), min(self.crop_size[0], w)
        if self.crop_type == 'absolute_range':
            crop_h = np.random.randint(min(h, self.crop_size[0]), min(h, self.crop_size[1]) + 1)
            crop_w = np.random.randint(min(w, self.crop_size[0]), min(w, self.crop_size[1]) + 1)
            return crop_h, crop_w
        if self.crop_type == 'relative':
            crop_w, crop_h = self.crop_size
            return int(h * crop_h + 0.5), int(w * crop_w + 0.5)
        crop_size = np.asarray(self.crop_size, dtype=np.float32)
        crop_h, crop_w = crop_size + np.random.rand(2) * (1 - crop_size)
        return int(h * crop_h + 0.5), int(w * crop_w + 0.5)

    def plan(self, results: dict, shape: Tuple[int, int]) -> PixelMove:
        """Draw the crop as mmdet does; move and keep the boxes inside it (clipped with
        ``bbox_clip_border``), record the homography.

        Args:
            results (dict): The sample.
            shape (tuple[int]): The image's (h, w).

        Returns:
            Crop: The crop.
        """
        h, w = shape
        crop_h, crop_w = self.random_crop_size(shape)
        assert crop_h > 0 and crop_w > 0
        offset_h = np.random.randint(0, max(h - crop_h, 0) + 1)
        offset_w = np.random.randint(0, max(w - crop_w, 0) + 1)
        x2, y2 = min(offset_w + crop_w, w), min(offset_h + crop_h, h)
        record_homography(results,
                          np.array([[1, 0, -offset_w], [0, 1, -offset_h], [0, 0, 1]], np.float32))
        results['img_shape'] = (y2 - offset_h, x2 - offset_w)
        if results.get('gt_bboxes') is not None:
            boxes = results['gt_bboxes']
            boxes.translate_([-offset_w, -offset_h])
            if self.bbox_clip_border:
                boxes.clip_(results['img_shape'])
            keep = boxes.is_inside(results['img_shape']).numpy()
            crop_instances(results, keep)
            if results.get('gt_instances_ids') is not None:
                results['gt_instances_ids'] = results['gt_instances_ids'][keep]
        return Crop((offset_w, offset_h, x2, y2), w)

    def transform(self, results: dict) -> Optional[dict]:
        """Crop as planned; None (the sample dropped, as mmdet) when no box is left and
        ``allow_negative_crop`` is False.

        Args:
            results (dict): The sample.

        Returns:
            dict, optional: The cropped sample.
        """
        results = super().transform(results)
        boxes = results.get('gt_bboxes')
        if boxes is not None and len(boxes) == 0 and not self.allow_negative_crop:
            return None
        if boxes is not None and self.recompute_bbox and results.get('gt_masks') is not None:
            results['gt_bboxes'] = results['gt_masks'].get_bboxes(type(boxes))
        return results


@TRANSFORMS.register_module()
class MultiTaskPad(GeometricTransform, Pad):
    """mmdet's :class:`Pad` (same args), stating a :class:`PadBottomRight` move: depth and
    normals padded with 0 (invalid), whatever ``pad_val`` / ``padding_mode`` (zoom 1: padding
    adds no field of view). Not fusable: a pad ends mmdet's pipelines, after the colour
    transforms, so that there is nothing to fuse it with.

    Modified Keys: mmdet's (img, img_shape, gt_masks, gt_seg_map, pad_shape, pad_fixed_size,
    pad_size_divisor) and gt_depth, gt_normals.
    """

    fusable = False
    stock_type = 'Pad'

    def plan(self, results: dict, shape: Tuple[int, int]) -> PixelMove:
        """The padded size as mmcv's ``Pad`` and ``impad`` compute it; the pad meta keys.

        Args:
            results (dict): The sample.
            shape (tuple[int]): The image's (h, w).

        Returns:
            PadBottomRight: The padding.
        """
        size = None
        if self.pad_to_square:
            size = (max(shape), max(shape))
        if self.size_divisor is not None:
            size = size or tuple(shape)
            size = tuple(int(np.ceil(s / self.size_divisor)) * self.size_divisor for s in size)
        elif self.size is not None:
            size = tuple(self.size[::-1])
        size = (max(size[0], shape[0]), max(size[1], shape[1]))  # impad never crops
        channels = results['img'].shape[2:]
        fill = self.pad_val.get('img', 0)
        if isinstance(fill, int) and channels:
            fill = tuple(fill for _ in range(channels[0]))
        seg_fill = self.pad_val.get('seg', 255)
        seg = results.get('gt_seg_map')
        if isinstance(seg_fill, int) and seg is not None and seg.ndim == 3:
            seg_fill = tuple(seg_fill for _ in range(seg.shape[2]))
        results['pad_shape'] = size + channels
        results['pad_fixed_size'] = self.size
        results['pad_size_divisor'] = self.size_divisor
        results['img_shape'] = size
        return PadBottomRight(size, fill, seg_fill, self.pad_val.get('masks', 0), self.padding_mode)


@TRANSFORMS.register_module()
class MultiTaskResize(GeometricTransform, Resize):
    """mmdet's :class:`Resize` (same args), stating a :class:`Resample` move.

    Dense maps go to the new ``img_shape`` with nearest neighbour: values are
    copied, never blended, so invalid zeros stay zero and normals stay unit.
    Depth values are unchanged (zoom 1: the field of view is kept). mmcv's
    ``RandomResize`` / ``RandomChoiceResize`` with
    ``resize_type='MultiTaskResize'`` resize the dense maps through it.
    """

    stock_type = 'Resize'

    def plan(self, results: dict, shape: Tuple[int, int]) -> PixelMove:
        """What mmdet's ``transform`` sets but the pixel maps: scale, img_shape, scale_factor,
        keep_ratio, boxes (rescaled, clipped with ``clip_object_border``), homography.

        Args:
            results (dict): The sample.
            shape (tuple[int]): The image's (h, w).

        Returns:
            Resample: The new size, the image resized with ``interpolation`` / ``backend``.
        """
        h, w = shape
        if self.scale:
            results['scale'] = self.scale
        else:
            factor = self.scale_factor
            fw, fh = (factor, factor) if isinstance(factor, (float, int)) else factor
            results['scale'] = (int(w * float(fw) + 0.5), int(h * float(fh) + 0.5))
        if self.keep_ratio:
            new_w, new_h = mmcv.rescale_size((w, h), results['scale'])
        else:
            new_w, new_h = results['scale']
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        results['keep_ratio'] = self.keep_ratio
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].rescale_(results['scale_factor'])
            if self.clip_object_border:
                results['gt_bboxes'].clip_(results['img_shape'])
        record_homography(results,
                          np.array([[new_w / w, 0, 0], [0, new_h / h, 0], [0, 0, 1]], np.float32))
        return Resample((new_h, new_w), self.interpolation, self.backend)


@TRANSFORMS.register_module()
class MultiTaskRandomFlip(GeometricTransform, RandomFlip):
    """mmdet's :class:`RandomFlip` (same args and draws), stating a :class:`Flip` move: the
    normals' x component negated by a horizontal flip (vertical: y).
    """

    stock_type = 'RandomFlip'
    NORMAL_SIGNS = NORMAL_SIGNS  # direction -> signs of the normals' (x, y, z) after the flip

    def random_direction(self) -> Optional[str]:
        """Draw the direction as mmcv does from ``prob`` and ``direction``.

        Returns:
            str, optional: 'horizontal', 'vertical', 'diagonal' or None (no flip).
        """
        if isinstance(self.direction, Sequence) and not isinstance(self.direction, str):
            directions = list(self.direction) + [None]
        else:
            directions = [self.direction, None]
        if isinstance(self.prob, list):
            probs = self.prob + [1 - sum(self.prob)]
        else:
            single = self.prob / (len(directions) - 1)
            probs = [single] * (len(directions) - 1) + [1. - self.prob]
        return np.random.choice(directions, p=probs)

    def plan(self, results: dict, shape: Tuple[int, int]) -> Optional[PixelMove]:
        """Draw the direction; set ``flip`` / ``flip_direction``, flip the boxes and record the
        homography as mmdet does.

        Args:
            results (dict): The sample.
            shape (tuple[int]): The image's (h, w).

        Returns:
            Flip, optional: The flip; None: no flip.
        """
        direction = self.random_direction()
        results['flip'] = direction is not None
        results['flip_direction'] = direction
        if direction is None:
            return None
        h, w = shape
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].flip_((h, w), direction)
        flip_x, flip_y = direction in ('horizontal', 'diagonal'), direction in ('vertical',
                                                                                'diagonal')
        record_homography(
            results,
            np.array([[-1 if flip_x else 1, 0, w if flip_x else 0],
                      [0, -1 if flip_y else 1, h if flip_y else 0], [0, 0, 1]],
                     dtype=np.float32))
        return Flip(direction, shape)
