"""A chain of ROCK's geometric transforms with one resampling per map (:class:`FusedGeometry`)."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type

from .geometry import (MultiTaskExpand, MultiTaskMinIoURandomCrop, MultiTaskRandomFlip,
                       MultiTaskResize, zoom_normals_)
from .loading import decode_depth, decode_normals
from .multitask_pipeline import PIXEL_KEEPING, _type_name

# normals decoded at once with all zooms (one renormalisation) differ from the chain's (one per
# zoom) by float32 rounding: at most 2.4e-7 over all 2^24 codes and 11 sets of one or two zooms
NORMALS_ATOL = 4e-7
FUSABLE = (MultiTaskExpand, MultiTaskMinIoURandomCrop, MultiTaskResize, MultiTaskRandomFlip)


def nearest_index(new: int, old: int) -> np.ndarray:
    """Source index of each of ``new`` pixels when cv2 resizes ``old`` pixels to ``new`` with
    INTER_NEAREST: floor(i * old / new), as ``cv2.resize`` computes it (in double)."""
    return np.minimum(np.floor(np.arange(new) * (1. / (new / old))).astype(np.int64), old - 1)


def _valid_span(index: np.ndarray) -> Tuple[int, int]:
    """The range of positions whose ``index`` is valid (>= 0), when they are consecutive (an
    expand / crop / resize / flip of arange(n)); else the whole index."""
    valid = np.flatnonzero(index >= 0)
    if valid.size == 0:
        return 0, 0
    if valid[-1] - valid[0] + 1 != valid.size:
        return 0, len(index)
    return int(valid[0]), int(valid[-1]) + 1


def _run(index: np.ndarray) -> Tuple[int, int, int, int, int]:
    """An index array (-1 = canvas fill) made by expands, crops and flips of arange(n): (fill
    before, first source, end source, step +-1, fill after)."""
    start, end = _valid_span(index)
    if start == end:
        return len(index), 0, 0, 1, 0
    run = index[start:end]
    step = -1 if run.size > 1 and run[1] < run[0] else 1
    assert (np.diff(run) == step).all(), 'not an expand / crop / flip of the source'
    return start, int(run.min()), int(run.max()) + 1, step, len(index) - end


def materialise(src: np.ndarray,
                rows: np.ndarray,
                cols: np.ndarray,
                fill,
                scratch: Optional[list] = None) -> np.ndarray:
    """``src`` (H, W, ...) moved by expands / crops / flips: out[i, j] = src[rows[i], cols[j]],
    ``fill`` where an index is -1. A view when nothing is filled; otherwise only the fill
    around the source window is written (the canvas of Expand, cropped), into the reused
    buffer ``scratch[0]`` when given (a one-item list; no fresh pages to fault in, for an output
    used before the next call)."""
    (top, y0, y1, sy, bottom), (left, x0, x1, sx, right) = _run(rows), _run(cols)
    view = src[y0:y1, x0:x1][::sy, ::sx]
    if not (top or bottom or left or right):
        return view
    shape = (len(rows), len(cols)) + src.shape[2:]
    if scratch is None:
        out = np.empty(shape, src.dtype)
    else:
        size = int(np.prod(shape)) * src.dtype.itemsize
        if scratch[0] is None or scratch[0].size < size:
            scratch[0] = np.empty(size, np.uint8)
        out = scratch[0][:size].view(src.dtype).reshape(shape)
    # rows of (width * channels) items: numpy then copies long runs, not one pixel at a time
    flat = out.reshape(len(rows), -1)
    channels = flat.shape[1] // len(cols)
    fill_row = np.empty(flat.shape[1], src.dtype)
    fill_row.reshape(len(cols), -1)[:] = np.asarray(fill, np.float64)  # cast as np.full casts
    h, w = view.shape[:2]
    flat[:top], flat[top + h:] = fill_row, fill_row
    flat[top:top + h, :left * channels] = fill_row[:left * channels]
    flat[top:top + h, (left + w) * channels:] = fill_row[(left + w) * channels:]
    out[top:top + h, left:left + w] = view
    return out


def on_zeros(block: np.ndarray, top: int, left: int, shape: Tuple[int, int]) -> np.ndarray:
    """``block`` (..., h, w) at (top, left) on zeros of spatial ``shape`` (H, W): only the
    border is written; ``block`` itself when it fills the shape."""
    h, w = block.shape[-2:]
    if (h, w) == tuple(shape):
        return block
    out = np.empty(block.shape[:-2] + tuple(shape), block.dtype)
    out[..., :top, :] = 0
    out[..., top + h:, :] = 0
    out[..., top:top + h, :left] = 0
    out[..., top:top + h, left + w:] = 0
    out[..., top:top + h, left:left + w] = block
    return out


def gather(src: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """out[i, j] = src[rows[i], cols[j]], 0 where an index is -1 (the invalid canvas)."""
    if src.ndim == 3 and src.dtype == np.uint8 and src.shape[2] == 4 and src.flags.c_contiguous:
        # one 4-byte item per pixel: numpy's fast take
        return gather(src.view(np.uint32)[..., 0], rows,
                      cols).view(np.uint8).reshape(len(rows), len(cols), 4)
    out = src.take(np.maximum(rows, 0), 0).take(np.maximum(cols, 0), 1)
    out[rows < 0] = 0
    out[:, cols < 0] = 0
    return out


@TRANSFORMS.register_module()
class FusedGeometry(BaseTransform):
    """A chain of geometric transforms run as one: each map is resampled once.

    ``transforms`` are configs of :class:`MultiTaskExpand`,
    :class:`MultiTaskMinIoURandomCrop` / :class:`FixedRatioMinIoURandomCrop`,
    :class:`MultiTaskResize` and :class:`MultiTaskRandomFlip`, in the chain's
    order. Each step draws its randomness and moves boxes, labels, masks, seg
    map and meta keys with its own code, so these are those of the chain. The
    pixels too, bitwise but for zoomed normals decoded from codes:

    - image: expands / crops / flips are index moves; the window that a resize
      reads is built only then (a view, or the Expand fill written around the
      image only), and resized by the step's own call;
    - depth / normals: gathered once through the composed nearest-neighbour
      index (cv2's INTER_NEAREST rule), 0 on the canvas; then the chain's
      zooms (depth / s; normals z * s, renormalised) and flip signs, in its
      order, at the output size. From ``dense_codes``
      (``LoadMultiTaskAnnotations(decode_dense=False)``) only the codes of
      source pixels are gathered, then decoded: the normals with all zooms and
      flips in one renormalisation, within ``NORMALS_ATOL`` of the chain's.

    Output ``gt_normals`` is an (H, W, 3) view of (3, H, W) memory.

    Args:
        transforms (list[dict]): The chain's transform configs.
    """

    def __init__(self, transforms: Sequence[dict]) -> None:
        self.steps = [TRANSFORMS.build(t) for t in transforms]
        for step in self.steps:
            if not isinstance(step, FUSABLE):
                raise TypeError(f'FusedGeometry cannot fuse {type(step).__name__} (only '
                                f'{", ".join(t.__name__ for t in FUSABLE)})')
        means = {tuple(s.mean) for s in self.steps if isinstance(s, MultiTaskExpand)}
        if len(means) > 1:
            raise ValueError(f'FusedGeometry: the Expand steps fill with different means {means}')
        self.fill = list(means.pop()) if means else None
        self._scratch = [None]  # the window a resize reads, reused (per worker process)

    @autocast_box_type()
    def transform(self, results: dict) -> Optional[dict]:
        """Run the chain on boxes and meta, then resample image and dense maps once."""
        img = results['img']
        h, w = img.shape[:2]
        rows, cols = np.arange(h), np.arange(w)  # into img (resized when a step resizes)
        map_rows, map_cols = np.arange(h), np.arange(w)  # into the dense maps
        value_ops: List[Tuple[str, object]] = []  # zooms and flips, in order
        for step in self.steps:
            if isinstance(step, MultiTaskExpand):
                canvas = step._sample(h, w)
                if canvas is None:
                    continue
                value_ops.append(('zoom', w / canvas[1]))
                step._move_labels(results, canvas)
                (h, w), (left, top) = canvas[:2], canvas[2:]
                rows, map_rows = (self._expand(r, top, h) for r in (rows, map_rows))
                cols, map_cols = (self._expand(c, left, w) for c in (cols, map_cols))
            elif isinstance(step, MultiTaskMinIoURandomCrop):
                crop = step._sample_crop(results, h, w)
                if crop is None:
                    continue
                x1, y1, x2, y2 = (int(v) for v in crop[0])
                value_ops.append(('zoom', w / (x2 - x1)))
                step._move_labels(results, crop)
                h, w = y2 - y1, x2 - x1
                rows, cols = rows[y1:y2], cols[x1:x2]
                map_rows, map_cols = map_rows[y1:y2], map_cols[x1:x2]
            elif isinstance(step, MultiTaskResize):
                new_h, new_w = step._move_labels(results, h, w)
                window = materialise(img, rows, cols, self.fill, self._scratch)
                img = step.resize_image(window, new_h, new_w)
                rows, cols = np.arange(new_h), np.arange(new_w)
                map_rows = map_rows[nearest_index(new_h, h)]
                map_cols = map_cols[nearest_index(new_w, w)]
                h, w = new_h, new_w
            else:
                direction = step._choose_direction()
                results['flip'] = direction is not None
                results['flip_direction'] = direction
                if direction is None:
                    continue
                step._move_labels(results, h, w)
                value_ops.append(('flip', step.NORMAL_SIGNS[direction]))
                if direction in ('horizontal', 'diagonal'):
                    cols, map_cols = cols[::-1], map_cols[::-1]
                if direction in ('vertical', 'diagonal'):
                    rows, map_rows = rows[::-1], map_rows[::-1]
        results['img'] = materialise(img, rows, cols, self.fill)
        self._resample_dense(results, map_rows, map_cols, value_ops)
        return results

    @staticmethod
    def _expand(index: np.ndarray, offset: int, size: int) -> np.ndarray:
        out = np.full(size, -1, np.int64)
        out[offset:offset + len(index)] = index
        return out

    @staticmethod
    def _resample_dense(results: dict, rows: np.ndarray, cols: np.ndarray,
                        value_ops: List[Tuple[str, object]]) -> None:
        """Gather depth / normals (or their codes: :meth:`_decode_dense`) once, then apply the
        zooms and flips."""
        zooms = [value for op, value in value_ops if op == 'zoom' and value != 1]
        codes = results.pop('dense_codes', None)
        if codes is not None:
            FusedGeometry._decode_dense(results, codes, rows, cols, value_ops, zooms)
            return
        if 'gt_depth' in results:
            depth = gather(results['gt_depth'], rows, cols)
            for zoom in zooms:
                depth = depth / np.float32(zoom)
            results['gt_depth'] = depth
        if 'gt_normals' in results:
            normals = np.array(
                gather(results['gt_normals'], rows, cols).transpose(2, 0, 1), order='C')
            for op, value in value_ops:
                if op == 'zoom' and value != 1:  # as zoom_dense: no renormalisation at 1
                    zoom_normals_(normals, value)
                elif op == 'flip':
                    for c, sign in enumerate(value):
                        if sign < 0:
                            normals[c] *= np.float32(-1)
            results['gt_normals'] = normals.transpose(1, 2, 0)

    @staticmethod
    def _decode_dense(results: dict, codes: dict, rows: np.ndarray, cols: np.ndarray,
                      value_ops: List[Tuple[str, object]], zooms: List[float]) -> None:
        """Gather and decode only the codes of the output pixels that come from the source (a
        block when there is canvas fill around it: on average 32 % of an expanded output), the
        normals with the flips' signs and the zooms' product (one normalisation: see
        ``NORMALS_ATOL``), and place them on zeros (the canvas' labels, invalid)."""
        shape = (len(rows), len(cols))
        (top, bottom), (left, right) = _valid_span(rows), _valid_span(cols)
        rows, cols = rows[top:bottom], cols[left:right]
        empty = rows.size == 0 or cols.size == 0
        if 'depth' in codes:
            if empty:
                depth = np.zeros(shape, np.float32)
            else:
                depth = decode_depth(gather(codes['depth'], rows, cols), codes['depth_scale'])
                for zoom in zooms:
                    depth /= np.float32(zoom)
            results['gt_depth'] = on_zeros(depth, top, left, shape)
        if 'normals' in codes:
            signs = (1, 1, 1)
            for op, value in value_ops:
                if op == 'flip':
                    signs = tuple(a * b for a, b in zip(signs, value))
            if empty:
                normals = np.zeros((3, ) + shape, np.float32)
            else:
                normals = decode_normals(
                    gather(codes['normals'], rows, cols), signs, float(np.prod(zooms)))
            results['gt_normals'] = on_zeros(normals, top, left, shape).transpose(1, 2, 0)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.steps})'


FUSABLE_TYPES = frozenset({
    'MultiTaskExpand', 'MultiTaskMinIoURandomCrop', 'FixedRatioMinIoURandomCrop', 'MultiTaskResize',
    'MultiTaskRandomFlip'
})
PACKED_LOADERS = {
    'LoadImageFromFile': 'LoadPackedImage',
    'LoadMultiTaskAnnotations': 'LoadPackedMultiTaskAnnotations'
}


def fused_pipeline(pipeline: Sequence[dict], packed: bool = False) -> List[dict]:
    """``pipeline`` with each run of two or more consecutive fusable transforms (see
    :class:`FusedGeometry`) replaced by one ``FusedGeometry``, the labels it moves first loaded
    undecoded (``decode_dense=False``, decoded at the output size); with ``packed``, loaded from
    the dataset's pack (``LoadPackedImage``, ``LoadPackedMultiTaskAnnotations``; the dataset
    needs ``pack=...``). The same samples for a given seed. In a config::

        from mmrock.datasets import fused_pipeline
        train_pipeline = fused_pipeline(_base_.train_pipeline, packed=True)
    """
    out: List[dict] = []
    run: List[dict] = []

    def end_run():
        out.extend([dict(type='FusedGeometry', transforms=list(run))] if len(run) > 1 else run)
        run.clear()

    for transform in pipeline:
        if _type_name(transform) in FUSABLE_TYPES:
            run.append(dict(transform))
        else:
            end_run()
            out.append(dict(transform))
    end_run()
    for i, transform in enumerate(out):
        name = _type_name(transform)
        if name == 'LoadMultiTaskAnnotations':
            after = [_type_name(t) for t in out[i + 1:] if _type_name(t) not in PIXEL_KEEPING]
            if after and after[0] == 'FusedGeometry':
                transform['decode_dense'] = False
        if packed and name in PACKED_LOADERS:
            kept = {k: v for k, v in transform.items() if k not in ('type', 'backend_args')}
            if name == 'LoadImageFromFile':
                if kept.get('color_type', 'color') != 'color':
                    raise ValueError('fused_pipeline(packed=True): packs hold colour images, '
                                     f"not color_type={kept['color_type']!r}")
                kept = {k: v for k, v in kept.items() if k == 'to_float32'}
            out[i] = dict(kept, type=PACKED_LOADERS[name])
    return out
