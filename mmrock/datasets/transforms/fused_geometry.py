"""A chain of ROCK's geometric transforms with one resampling per map (:class:`FusedGeometry`)."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type

from .dense_geometry import GeometricTransform, move_label_maps, zoom_normals_
from .loading import decode_depth, decode_normals
from .multitask_pipeline import is_fusable, keeps_pixels, type_name

# normals decoded at once with all zooms (one renormalisation) differ from the chain's (one per
# zoom) by float32 rounding: at most 2.4e-7 over all 2^24 codes and 11 sets of one or two zooms
NORMALS_ATOL = 4e-7


def _valid_span(index: np.ndarray) -> Tuple[int, int]:
    """The range of positions whose ``index`` is valid (>= 0), when they are consecutive (an
    expand / crop / resize / flip of arange(n)); else the whole index."""
    valid = np.flatnonzero(index >= 0)
    if valid.size == 0:
        return 0, 0
    if valid[-1] - valid[0] + 1 != valid.size:
        return 0, len(index)
    return int(valid[0]), int(valid[-1]) + 1


def _run(index: np.ndarray) -> Optional[Tuple[int, int, int, int, int]]:
    """An index array (-1 = canvas fill) made by expands, crops and flips of arange(n): (fill
    before, first source, end source, step +-1, fill after); None for any other index."""
    start, end = _valid_span(index)
    if start == end:
        return len(index), 0, 0, 1, 0
    run = index[start:end]
    step = -1 if run.size > 1 and run[1] < run[0] else 1
    if not (run >= 0).all() or not (np.diff(run) == step).all():
        return None
    return start, int(run.min()), int(run.max()) + 1, step, len(index) - end


def compose(index: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The index map of a move ``step`` (-1 = canvas) applied after the index map ``index``.

    Args:
        index (np.ndarray): (n, ) int64 into the source, -1 = canvas.
        step (np.ndarray): (m, ) int64 into ``index``'s positions, -1 = canvas.

    Returns:
        np.ndarray: (m, ) int64 into the source, -1 = canvas.
    """
    out = index[np.maximum(step, 0)]
    out[step < 0] = -1
    return out


def materialise(src: np.ndarray,
                rows: np.ndarray,
                cols: np.ndarray,
                fill,
                scratch: Optional[list] = None) -> np.ndarray:
    """``src`` (H, W, ...) moved by an index map: out[i, j] = src[rows[i], cols[j]], ``fill``
    where an index is -1. For a window (expands / crops / flips): a view when nothing is filled;
    otherwise only the fill around the source window is written (the canvas of Expand,
    cropped), into the reused buffer ``scratch[0]`` when given (a one-item list; no fresh pages
    to fault in, for an output used before the next call). Any other index map is gathered.

    Args:
        src (np.ndarray): The image (H, W, ...).
        rows (np.ndarray): (h, ) int64 indices into the rows, -1 = canvas.
        cols (np.ndarray): (w, ) int64 indices into the columns, -1 = canvas.
        fill: The canvas value (one, or one per channel).
        scratch (list, optional): A one-item list holding the reused buffer.

    Returns:
        np.ndarray: (h, w, ...), ``src``'s dtype.
    """
    row_run, col_run = _run(rows), _run(cols)
    if row_run is None or col_run is None:  # not a window of the source: gathered
        out = src.take(np.maximum(rows, 0), 0).take(np.maximum(cols, 0), 1)
        canvas = (rows < 0)[:, None] | (cols < 0)
        if canvas.any():
            out[canvas] = np.full(src.shape[2:], np.asarray(fill, np.float64), src.dtype)
        return out
    (top, y0, y1, sy, bottom), (left, x0, x1, sx, right) = row_run, col_run
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
    border is written; ``block`` itself when it fills the shape.

    Args:
        block (np.ndarray): Of shape (..., h, w): decoded depth (h, w) or normals (3, h, w).
        top (int): Row of ``block``'s first row in the output.
        left (int): Column of ``block``'s first column in the output.
        shape (tuple[int]): The output's spatial (H, W).

    Returns:
        np.ndarray: (..., H, W), ``block``'s dtype, 0 outside ``block``.
    """
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
    """out[i, j] = src[rows[i], cols[j]], 0 where an index is -1 (the invalid canvas).

    Args:
        src (np.ndarray): Map of shape (H, W) or (H, W, C): depth / normals, or their codes
            (depth (H, W), normals uint8 (H, W, 4); a C-contiguous uint8 (H, W, 4) is gathered
            as one uint32 per pixel).
        rows (np.ndarray): (h, ) int64 indices into the rows, -1 = canvas.
        cols (np.ndarray): (w, ) int64 indices into the columns, -1 = canvas.

    Returns:
        np.ndarray: (h, w) or (h, w, C), ``src``'s dtype (a new array).
    """
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

    ``transforms`` are configs of fusable :class:`GeometricTransform`\\ s
    (``fusable = True``: :class:`MultiTaskExpand`,
    :class:`MultiTaskMinIoURandomCrop` / :class:`FixedRatioMinIoURandomCrop`,
    :class:`MultiTaskResize`, :class:`MultiTaskRandomFlip`, or one of yours),
    in the chain's order. Each step's ``plan`` draws its randomness, moves
    boxes, labels and meta keys and states its pixel move; masks and the seg
    map follow each move as step by step, so all these are those of the chain.
    The image and dense maps follow the composed index maps of the moves,
    bitwise but for zoomed normals decoded from codes:

    - image: index moves are composed; the window that a ``Resample`` reads
      is built only then (a view, or the canvas fill written around the
      image only), and resized by the move's own call;
    - depth / normals: gathered once through the composed index map (a
      resize's is cv2's INTER_NEAREST rule), 0 on the canvas; then the
      chain's zooms (depth / s; normals z * s, renormalised) and flip signs,
      in its order, at the output size. From ``dense_codes``
      (``LoadMultiTaskAnnotations(decode_dense=False)``) only the codes of
      source pixels are gathered, then decoded: the normals with all zooms and
      flips in one renormalisation, within ``NORMALS_ATOL`` of the chain's.

    Output ``gt_normals`` is an (H, W, 3) view of (3, H, W) memory.

    Args:
        transforms (list[dict]): The chain's transform configs.
    """

    moves_dense_labels = True

    def __init__(self, transforms: Sequence[dict]) -> None:
        self.steps = [TRANSFORMS.build(t) for t in transforms]
        for step in self.steps:
            if not (isinstance(step, GeometricTransform) and step.fusable):
                raise TypeError(f'FusedGeometry cannot fuse {type(step).__name__} (only '
                                'GeometricTransforms with fusable = True)')
        self._scratch = [None]  # the window a resize reads, reused (per worker process)

    @autocast_box_type()
    def transform(self, results: dict) -> Optional[dict]:
        """Plan each step on boxes and meta, then resample image and dense maps once.

        Args:
            results (dict): The sample (``gt_depth`` / ``gt_normals`` or ``dense_codes``).

        Returns:
            dict: The moved sample.
        """
        img = results['img']
        h, w = img.shape[:2]
        rows, cols = np.arange(h), np.arange(w)  # into img (resized when a step resizes)
        map_rows, map_cols = np.arange(h), np.arange(w)  # into the dense maps
        value_ops: List[Tuple[str, object]] = []  # zooms and flips, in order
        fill = None  # the image's canvas value
        for step in self.steps:
            move = step.plan(results, (h, w))
            if move is None:
                continue
            move_label_maps(results, move)
            if move.zoom != 1:
                value_ops.append(('zoom', move.zoom))
            if move.normal_signs != (1, 1, 1):
                value_ops.append(('flip', move.normal_signs))
            step_rows, step_cols = move.index(h, w)
            if not move.index_moves_image:
                window = materialise(img, rows, cols, fill, self._scratch)
                img = move.move_image(window)
                rows, cols = np.arange(move.shape[0]), np.arange(move.shape[1])
                fill = None  # the canvas so far is in the moved image
            else:
                if move.fill is not None:
                    if fill is not None and np.any(np.asarray(fill) != np.asarray(move.fill)):
                        raise ValueError('FusedGeometry: canvases filled with different '
                                         f'values {fill} and {move.fill}')
                    fill = move.fill
                rows, cols = compose(rows, step_rows), compose(cols, step_cols)
            map_rows, map_cols = compose(map_rows, step_rows), compose(map_cols, step_cols)
            h, w = move.shape
        results['img'] = materialise(img, rows, cols, fill)
        self._resample_dense(results, map_rows, map_cols, value_ops)
        return results

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

    Args:
        pipeline (Sequence[dict]): Transform configs (multi-task ones, e.g. from
            :func:`multitask_pipeline`).
        packed (bool): Load the image and labels from the dataset's pack. Defaults to False.

    Returns:
        list[dict]: The new pipeline (new dicts; the configs are copied, not modified).
    """
    out: List[dict] = []
    run: List[dict] = []

    def end_run():
        out.extend([dict(type='FusedGeometry', transforms=list(run))] if len(run) > 1 else run)
        run.clear()

    for transform in pipeline:
        if is_fusable(transform):
            run.append(dict(transform))
        else:
            end_run()
            out.append(dict(transform))
    end_run()
    for i, transform in enumerate(out):
        name = type_name(transform)
        if name == 'LoadMultiTaskAnnotations':
            after = [type_name(t) for t in out[i + 1:] if not keeps_pixels(t)]
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
