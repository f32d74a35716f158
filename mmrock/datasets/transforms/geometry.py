"""mmdet's geometric transforms, also moving ROCK's dense labels with the image.

Dense labels are ``gt_depth`` (H, W) in metres and ``gt_normals`` (H, W, 3),
both 0 where invalid; they undergo the same pixel moves as the image, and
``gt_masks`` / ``gt_seg_map`` are moved as mmdet moves them.

The zoom s of a transform is the width of the field of view before it over the
width after it: a crop of width cw out of width W has s = W / cw, Expand to a
canvas of width W' has s = W / W' (< 1); Resize, RandomFlip and Pad keep the
field of view (s = 1), so resizing at test time keeps metric depth. A zoom by s
maps 3D points (X, Y, Z) to (X, Y, Z / s) (Eigen & Fergus 2015): depth is
divided by s and normals, transformed by the inverse transpose, get z * s and
are renormalised (:func:`zoom_dense`, the one place of that rule).
"""
from typing import Callable, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmcv.image.geometric import _scale_size
from mmdet.datasets.transforms import Expand, MinIoURandomCrop, Pad, RandomCrop, RandomFlip, Resize
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type
from numpy import random

DENSE_KEYS = ('gt_depth', 'gt_normals')


def map_dense(results: dict, fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """Apply ``fn`` to each dense label map present in ``results``."""
    for key in DENSE_KEYS:
        if key in results:
            results[key] = fn(results[key])


def zoom_normals_(planes: np.ndarray, zoom: float) -> None:
    """Zoom unit normals in place: ``planes`` (3, H, W) float32 (x, y, z) becomes
    (x, y, z * zoom) / norm; zero vectors stay zero. The float32 operations of
    ``np.linalg.norm`` over the channels, in its order, so the same values."""
    planes[2] *= np.float32(zoom)
    norm = planes[0] * planes[0]
    norm += planes[1] * planes[1]
    norm += planes[2] * planes[2]
    np.sqrt(norm, out=norm)
    planes /= np.maximum(norm, np.float32(1e-12), out=norm)


def zoom_dense(results: dict, zoom: float) -> None:
    """Apply a zoom by ``zoom`` (> 1: the content appears bigger) to the dense
    labels' values: depth / zoom; normals (x, y, z * zoom) renormalised, the
    zero vector (invalid) kept. New arrays; normals (H, W, 3) are returned as a
    view of (3, H, W) memory."""
    if zoom == 1:
        return
    if 'gt_depth' in results:
        results['gt_depth'] = results['gt_depth'] / np.float32(zoom)
    if 'gt_normals' in results:
        planes = np.array(results['gt_normals'].transpose(2, 0, 1), np.float32, order='C')
        zoom_normals_(planes, zoom)
        results['gt_normals'] = planes.transpose(1, 2, 0)


def crop_masks_and_seg(results: dict, patch: np.ndarray, keep: Optional[np.ndarray] = None) -> None:
    """Crop ``gt_masks`` (of the kept boxes) and ``gt_seg_map`` to ``patch``
    (x1, y1, x2, y2), as mmdet's crops do."""
    x1, y1, x2, y2 = (int(v) for v in patch)
    if results.get('gt_masks') is not None:
        masks = results['gt_masks']
        if keep is not None:
            masks = masks[keep.nonzero()[0]]
        results['gt_masks'] = masks.crop(np.array([x1, y1, x2, y2]))
    if results.get('gt_seg_map') is not None:
        results['gt_seg_map'] = results['gt_seg_map'][y1:y2, x1:x2]


def patch_box_ious(patch: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoUs (n, ) of one float32 box ``patch`` (4, ) with float32 ``boxes`` (n, 4), or (m, n)
    of m patches (m, 4): mmdet's ``bbox_overlaps`` (eps 1e-6) operation by operation in
    float32, so the same values, without its per-call tensor overhead."""
    patch = patch[..., None, :]
    area1 = (patch[..., 2] - patch[..., 0]) * (patch[..., 3] - patch[..., 1])
    area2 = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    wh = np.clip(
        np.minimum(patch[..., 2:], boxes[:, 2:]) - np.maximum(patch[..., :2], boxes[:, :2]), 0,
        None)
    overlap = wh[..., 0] * wh[..., 1]
    union = np.maximum(area1 + area2 - overlap, np.float32(1e-6))
    return overlap / union


def place(x: np.ndarray, canvas: Tuple[int, int, int, int], fill=None) -> np.ndarray:
    """``x`` (h, w, ...) placed at (left, top) on a (canvas_h, canvas_w, ...) canvas of
    ``fill`` (None: zeros from calloc, without writing every pixel as np.full does)."""
    new_h, new_w, left, top = canvas
    h, w = x.shape[:2]
    shape = (new_h, new_w) + x.shape[2:]
    out = np.zeros(shape, x.dtype) if fill is None else np.full(shape, fill, x.dtype)
    out[top:top + h, left:left + w] = x
    return out


@TRANSFORMS.register_module()
class MultiTaskExpand(Expand):
    """mmdet's :class:`Expand` (same args), also expanding depth and normals.

    Rewritten ``transform``: mmdet's keeps the sampled offsets local, so the
    dense maps could not follow. The canvas holds ``mean`` in the image, 0
    (invalid) in depth and normals, ``seg_ignore_label`` in ``gt_seg_map``
    (None: the ``ignore_index`` that ``LoadAnnotations`` set, 255 by default);
    the zoom is w / canvas_w (~1 / r).
    """

    def _sample(self, h: int, w: int) -> Optional[Tuple[int, int, int, int]]:
        """Draw as mmdet does (probability, ratio, offsets): None (no expansion) or the canvas
        (canvas_h, canvas_w, left, top) of an (h, w) image."""
        if self._random_prob() > self.prob:
            return None
        ratio = self._random_ratio()
        left, top = self._random_left_top(ratio, h, w)
        return int(h * ratio), int(w * ratio), left, top

    def _move_labels(self, results: dict, canvas: Tuple[int, int, int, int]) -> None:
        """Everything but the image and dense maps: img_shape, boxes, masks, seg map."""
        new_h, new_w, left, top = canvas
        results['img_shape'] = (new_h, new_w)
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].translate_([left, top])
        if results.get('gt_masks') is not None:
            results['gt_masks'] = results['gt_masks'].expand(new_h, new_w, top, left)
        if results.get('gt_seg_map') is not None:
            fill = self.seg_ignore_label
            if fill is None:  # mmdet's Expand cannot fill with None: the loaded ignore index
                fill = results.get('ignore_index', 255)
            results['gt_seg_map'] = place(results['gt_seg_map'], canvas, fill)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Place image, boxes and dense maps on a canvas r times larger."""
        h, w = results['img'].shape[:2]
        canvas = self._sample(h, w)
        if canvas is None:
            return results
        # the zoom applies before the maps are placed (the canvas' zeros stay 0): the same
        # values as zooming the canvas, on r^2 times fewer pixels
        zoom_dense(results, w / canvas[1])
        results['img'] = place(results['img'], canvas, self.mean)
        self._move_labels(results, canvas)
        map_dense(results, lambda x: place(x, canvas))
        return results


@TRANSFORMS.register_module()
class MultiTaskMinIoURandomCrop(MinIoURandomCrop):
    """mmdet's :class:`MinIoURandomCrop` (same args and sampling), also
    cropping depth and normals (zoom w / crop_w).

    IoU threshold drawn from ``(1, *min_ious, 0)`` (1 = no crop); a crop is
    rejected if its IoU with a box is below it; boxes (+ masks) are kept iff
    their centre is inside the crop. Rewritten ``transform``: mmdet's keeps the
    crop local, so the dense maps could not follow.

    Modified Keys: img, img_shape, gt_bboxes, gt_bboxes_labels,
    gt_ignore_flags, gt_masks, gt_seg_map, gt_depth, gt_normals.

    Args:
        max_trials (int): Crops tried per threshold. Defaults to 50 (mmdet).
        **kwargs: See :class:`mmdet.datasets.transforms.MinIoURandomCrop`.
    """

    def __init__(self, *args, max_trials: int = 50, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_trials = max_trials

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
            min_iou = self._random_mode()
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

    def _move_labels(self, results: dict, crop: Tuple[np.ndarray, np.ndarray]) -> None:
        """Everything but the image and dense maps: img_shape, boxes (+ labels, ignore flags),
        masks, seg map."""
        patch, keep = crop
        x1, y1, x2, y2 = (int(v) for v in patch)
        boxes = results['gt_bboxes'][keep]
        boxes.translate_([-x1, -y1])
        if self.bbox_clip_border:
            boxes.clip_([y2 - y1, x2 - x1])
        results['gt_bboxes'] = boxes
        for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
            if results.get(key) is not None:
                results[key] = results[key][keep]
        crop_masks_and_seg(results, patch, keep)
        results['img_shape'] = (y2 - y1, x2 - x1)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Crop image, boxes (+labels, ignore flags, masks), seg map and dense maps."""
        crop = self._sample_crop(results, *results['img'].shape[:2])
        if crop is None:
            return results
        x1, y1, x2, y2 = (int(v) for v in crop[0])
        zoom = results['img'].shape[1] / (x2 - x1)
        self._move_labels(results, crop)
        results['img'] = results['img'][y1:y2, x1:x2]
        map_dense(results, lambda x: x[y1:y2, x1:x2])
        zoom_dense(results, zoom)  # after the crop: the same values, on fewer pixels
        return results

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
class MultiTaskRandomCrop(RandomCrop):
    """mmdet's :class:`RandomCrop` (same args), also cropping depth and normals
    (zoom w / crop_w).

    mmdet draws the offset in ``_rand_offset``; it is kept for the dense maps.

    Modified Keys: mmdet's (img, img_shape, gt_bboxes, gt_bboxes_labels,
    gt_masks, gt_ignore_flags, gt_seg_map) and gt_depth, gt_normals.
    """

    def _rand_offset(self, margin: Tuple[int, int]) -> Tuple[int, int]:
        self._offset = super()._rand_offset(margin)
        return self._offset

    def _crop_data(self, results: dict, crop_size: Tuple[int, int],
                   allow_negative_crop: bool) -> Optional[dict]:
        """Crop as mmdet does (None: no box left), then the dense maps."""
        w = results['img'].shape[1]
        results = super()._crop_data(results, crop_size, allow_negative_crop)
        if results is not None:
            (y1, x1), (h, cw) = self._offset, results['img_shape']
            map_dense(results, lambda x: x[y1:y1 + h, x1:x1 + cw])
            zoom_dense(results, w / cw)
        return results


@TRANSFORMS.register_module()
class MultiTaskPad(Pad):
    """mmdet's :class:`Pad` (same args), also padding depth and normals at the
    bottom / right with 0 (invalid), whatever ``pad_val`` / ``padding_mode``
    (zoom 1: padding adds no field of view).

    Modified Keys: mmdet's (img, img_shape, gt_masks, gt_seg_map) and
    gt_depth, gt_normals.
    """

    def transform(self, results: dict) -> dict:
        """Pad as mmdet does, then the dense maps to the padded image's size."""
        results = super().transform(results)
        h, w = results['img'].shape[:2]

        def pad(x: np.ndarray) -> np.ndarray:
            out = np.zeros((h, w) + x.shape[2:], x.dtype)
            out[:x.shape[0], :x.shape[1]] = x
            return out

        map_dense(results, pad)
        return results


@TRANSFORMS.register_module()
class MultiTaskResize(Resize):
    """mmdet's :class:`Resize` (same args), also resizing depth and normals.

    Dense maps go to the new ``img_shape`` with nearest neighbour: values are
    copied, never blended, so invalid zeros stay zero and normals stay unit.
    Depth values are unchanged (zoom 1: the field of view is kept). mmcv's
    ``RandomResize`` / ``RandomChoiceResize`` with
    ``resize_type='MultiTaskResize'`` resize the dense maps through it.
    """

    def transform(self, results: dict) -> dict:
        """Resize as mmdet does, then the dense maps."""
        results = super().transform(results)
        h, w = results['img_shape']
        map_dense(results,
                  lambda x: mmcv.imresize(x, (w, h), interpolation='nearest', backend='cv2'))
        return results

    def _move_labels(self, results: dict, h: int, w: int) -> Tuple[int, int]:
        """What mmdet's ``transform`` sets for an (h, w) image, but the image and dense maps
        (scale, img_shape, scale_factor, keep_ratio, boxes, masks, seg map, homography);
        returns the new (h, w)."""
        results['scale'] = self.scale if self.scale else _scale_size((w, h), self.scale_factor)
        if self.keep_ratio:
            new_w, new_h = mmcv.rescale_size((w, h), results['scale'])
        else:
            new_w, new_h = results['scale']
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        results['keep_ratio'] = self.keep_ratio
        self._resize_bboxes(results)
        self._resize_masks(results)
        self._resize_seg(results)
        self._record_homography_matrix(results)
        return new_h, new_w

    def resize_image(self, img: np.ndarray, h: int, w: int) -> np.ndarray:
        """``img`` to (h, w) as ``transform`` resizes it (mmcv, same interpolation)."""
        return mmcv.imresize(img, (w, h), interpolation=self.interpolation, backend=self.backend)


@TRANSFORMS.register_module()
class MultiTaskRandomFlip(RandomFlip):
    """mmdet's :class:`RandomFlip` (same args), also flipping depth and normals.

    A horizontal flip negates the normals' x component (vertical: y).
    """

    NORMAL_SIGNS = {'horizontal': (-1, 1, 1), 'vertical': (1, -1, 1), 'diagonal': (-1, -1, 1)}

    @autocast_box_type()
    def _flip(self, results: dict) -> None:
        """Flip as mmdet does, then the dense maps."""
        direction = results['flip_direction']
        results['img'] = mmcv.imflip(results['img'], direction=direction)
        self._move_labels(results, *results['img'].shape[:2])
        map_dense(results, lambda x: np.ascontiguousarray(mmcv.imflip(x, direction)))
        if 'gt_normals' in results:
            results['gt_normals'] = results['gt_normals'] * np.array(self.NORMAL_SIGNS[direction],
                                                                     np.float32)

    def _move_labels(self, results: dict, h: int, w: int) -> None:
        """mmdet's flip of an (h, w) image but for the image and dense maps: boxes, masks, seg
        map, homography (``results['flip_direction']`` is set)."""
        direction = results['flip_direction']
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].flip_((h, w), direction)
        if results.get('gt_masks') is not None:
            results['gt_masks'] = results['gt_masks'].flip(direction)
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = mmcv.imflip(results['gt_seg_map'], direction=direction)
        flip_x, flip_y = direction in ('horizontal', 'diagonal'), direction in ('vertical',
                                                                                'diagonal')
        homography = np.array([[-1 if flip_x else 1, 0, w if flip_x else 0],
                               [0, -1 if flip_y else 1, h if flip_y else 0], [0, 0, 1]],
                              dtype=np.float32)
        if results.get('homography_matrix') is None:
            results['homography_matrix'] = homography
        else:
            results['homography_matrix'] = homography @ results['homography_matrix']
