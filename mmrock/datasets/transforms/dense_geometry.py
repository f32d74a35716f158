"""How every pixel map follows a geometric transform: its stated pixel move, then one executor.

A geometric transform implements :class:`GeometricTransform`: ``plan`` draws its randomness,
moves what is not a pixel map (boxes, instance labels, meta keys) and states the pixel move, one
of :class:`Crop`, :class:`Place` (Expand), :class:`PadBottomRight` (Pad), :class:`Flip` and
:class:`Resample` (Resize). :func:`apply_move` moves the image, ``gt_masks``, ``gt_seg_map``,
``gt_depth`` and ``gt_normals`` by it; :class:`FusedGeometry` composes the moves' index maps
instead (one resampling per map).

The zoom s of a move is the width of the field of view before it over the width after it: a
crop of width cw out of width W has s = W / cw, Expand to a canvas of width W' has s = W / W'
(< 1); Resize, RandomFlip and Pad keep the field of view (s = 1), so resizing at test time keeps
metric depth. A zoom by s maps 3D points (X, Y, Z) to (X, Y, Z / s) (Eigen & Fergus 2015): depth
is divided by s and normals, transformed by the inverse transpose, get z * s and are renormalised
(:func:`zoom_dense`, the one place of that rule). A flip negates the normals' x (horizontal) or y
(vertical) component.
"""
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmdet.structures.bbox import autocast_box_type

DENSE_KEYS = ('gt_depth', 'gt_normals')
NORMAL_SIGNS = {'horizontal': (-1, 1, 1), 'vertical': (1, -1, 1), 'diagonal': (-1, -1, 1)}


def zoom_normals_(planes: np.ndarray, zoom: float) -> None:
    """Zoom unit normals in place: ``planes`` (3, H, W) float32 (x, y, z) becomes
    (x, y, z * zoom) / norm; zero vectors stay zero. The float32 operations of
    ``np.linalg.norm`` over the channels, in its order, so the same values.

    Args:
        planes (np.ndarray): Normals (3, H, W) float32, modified in place.
        zoom (float): The zoom s.
    """
    planes[2] *= np.float32(zoom)
    norm = planes[0] * planes[0]
    norm += planes[1] * planes[1]
    norm += planes[2] * planes[2]
    np.sqrt(norm, out=norm)
    planes /= np.maximum(norm, np.float32(1e-12), out=norm)


def zoom_dense(results: dict, zoom: float) -> None:
    """Apply a zoom by ``zoom`` (> 1: the content appears bigger) to the dense labels' values:
    depth / zoom; normals (x, y, z * zoom) renormalised, the zero vector (invalid) kept. New
    arrays; normals (H, W, 3) are returned as a view of (3, H, W) memory.

    Args:
        results (dict): Holds ``gt_depth`` (H, W) and / or ``gt_normals`` (H, W, 3), replaced.
        zoom (float): The zoom s.
    """
    if zoom == 1:
        return
    if 'gt_depth' in results:
        results['gt_depth'] = results['gt_depth'] / np.float32(zoom)
    if 'gt_normals' in results:
        planes = np.array(results['gt_normals'].transpose(2, 0, 1), np.float32, order='C')
        zoom_normals_(planes, zoom)
        results['gt_normals'] = planes.transpose(1, 2, 0)


def place(x: np.ndarray, canvas: Tuple[int, int, int, int], fill=None) -> np.ndarray:
    """``x`` (h, w, ...) placed at (left, top) on a (canvas_h, canvas_w, ...) canvas.

    Args:
        x (np.ndarray): The map (h, w, ...).
        canvas (tuple[int]): (canvas_h, canvas_w, left, top).
        fill: The canvas value; None: zeros from calloc, without writing every pixel as
            ``np.full`` does.

    Returns:
        np.ndarray: (canvas_h, canvas_w, ...), ``x``'s dtype.
    """
    new_h, new_w, left, top = canvas
    h, w = x.shape[:2]
    shape = (new_h, new_w) + x.shape[2:]
    out = np.zeros(shape, x.dtype) if fill is None else np.full(shape, fill, x.dtype)
    out[top:top + h, left:left + w] = x
    return out


class PixelMove:
    """A move of an image's pixels, as a geometric transform states it for every map to follow.

    Each kind says how it moves the image, an instance mask set, a seg map and a dense label
    map, and gives its index map (``index``) for :class:`FusedGeometry` to compose. The class
    attribute ``index_moves_image`` says whether the image follows the index map, with
    ``fill`` (the image's canvas value; None: no canvas) where it is -1; when False,
    :class:`FusedGeometry` builds the moved input window and calls ``move_image`` on it (a
    resize's interpolation, mmcv's padding modes).

    Args:
        shape (tuple[int]): The output's (h, w).
        zoom (float): The zoom s of the field of view (see the module). Defaults to 1.
        normal_signs (tuple[int]): Signs of the normals' (x, y, z) after the move (flips).
            Defaults to (1, 1, 1).
    """

    index_moves_image = True

    def __init__(self,
                 shape: Tuple[int, int],
                 zoom: float = 1.,
                 normal_signs: Tuple[int, int, int] = (1, 1, 1)) -> None:
        self.fill = None
        self.shape = (int(shape[0]), int(shape[1]))
        self.zoom = zoom
        self.normal_signs = normal_signs

    def index(self, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
        """The index map of an (h, w) input: out[i, j] = in[rows[i], cols[j]], -1 = canvas.

        Args:
            h (int): The input's height.
            w (int): The input's width.

        Returns:
            tuple[np.ndarray, np.ndarray]: rows (out_h, ) and cols (out_w, ) int64, indices into
            the input's rows / columns, -1 where the output is canvas; (out_h, out_w) =
            ``self.shape``.
        """
        raise NotImplementedError

    def move_image(self, img: np.ndarray) -> np.ndarray:
        """Move the image (by default as :meth:`move_dense` moves a map).

        Args:
            img (np.ndarray): Image of shape (h, w, C) or (h, w); for a move with
                ``index_moves_image = False`` in :class:`FusedGeometry`, the moved input window.

        Returns:
            np.ndarray: The moved image (out_h, out_w, C) or (out_h, out_w), (out_h, out_w) =
            ``self.shape``, ``img``'s dtype.
        """
        return self.move_dense(img)

    def move_masks(self, masks):
        """Move the instance masks.

        Args:
            masks (:obj:`BaseInstanceMasks`): mmdet's masks (bitmaps or polygons) of n
                instances, of spatial size (h, w).

        Returns:
            :obj:`BaseInstanceMasks`: The same type, n instances of size (out_h, out_w).
        """
        raise NotImplementedError

    def move_seg(self, seg: np.ndarray) -> np.ndarray:
        """Move the semantic seg map (by default as :meth:`move_dense` moves a map).

        Args:
            seg (np.ndarray): Seg map of shape (h, w) (or (h, w, C)), integer labels.

        Returns:
            np.ndarray: The moved seg map (out_h, out_w) (or (out_h, out_w, C)), ``seg``'s
            dtype.
        """
        return self.move_dense(seg)

    def move_dense(self, x: np.ndarray) -> np.ndarray:
        """Move a dense label map's pixels (values unchanged: the zoom and normal signs are
        applied by :func:`move_dense_labels`).

        Args:
            x (np.ndarray): Map of shape (h, w) or (h, w, C): ``gt_depth`` (h, w) or
                ``gt_normals`` (h, w, 3) float32 (or the image / seg map where
                :meth:`move_image` / :meth:`move_seg` are not overridden).

        Returns:
            np.ndarray: (out_h, out_w) or (out_h, out_w, C), ``x``'s dtype, 0 (invalid) where
            the output is outside the input.
        """
        raise NotImplementedError


class Crop(PixelMove):
    """The window ``box`` (x1, y1, x2, y2) of the input, zoom W / (x2 - x1).

    Args:
        box (tuple[int]): (x1, y1, x2, y2) in pixels, inside the input.
        width (int): The input's width W.
    """

    def __init__(self, box: Tuple[int, int, int, int], width: int) -> None:
        self.box = tuple(int(v) for v in box)
        x1, y1, x2, y2 = self.box
        super().__init__((y2 - y1, x2 - x1), width / (x2 - x1))

    def index(self, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
        """Rows y1..y2 - 1 and columns x1..x2 - 1 of the input, no canvas.

        See :meth:`PixelMove.index`.
        """
        x1, y1, x2, y2 = self.box
        return np.arange(y1, y2), np.arange(x1, x2)

    def move_masks(self, masks):
        """The masks cropped to ``box`` (their ``crop``).

        See :meth:`PixelMove.move_masks`.
        """
        return masks.crop(np.array(self.box))

    def move_dense(self, x: np.ndarray) -> np.ndarray:
        """The window ``box`` of ``x``, a view.

        See :meth:`PixelMove.move_dense`.
        """
        x1, y1, x2, y2 = self.box
        return x[y1:y2, x1:x2]


class Place(PixelMove):
    """The input placed at (left, top) on a larger canvas (mmdet's Expand), zoom w / canvas_w.

    Args:
        canvas (tuple[int]): (canvas_h, canvas_w, left, top).
        width (int): The input's width w.
        fill: The image's canvas value (per channel or one).
        seg_fill (int): The seg map's canvas value.
    """

    def __init__(self, canvas: Tuple[int, int, int, int], width: int, fill, seg_fill: int) -> None:
        self.canvas = tuple(int(v) for v in canvas)
        super().__init__(self.canvas[:2], width / self.canvas[1])
        self.fill = fill
        self.seg_fill = seg_fill

    def index(self, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
        """The input at (left, top) of the canvas, -1 elsewhere.

        See :meth:`PixelMove.index`.
        """
        new_h, new_w, left, top = self.canvas
        rows, cols = np.full(new_h, -1, np.int64), np.full(new_w, -1, np.int64)
        rows[top:top + h], cols[left:left + w] = np.arange(h), np.arange(w)
        return rows, cols

    def move_image(self, img: np.ndarray) -> np.ndarray:
        """The image placed on a canvas filled with ``fill``.

        See :meth:`PixelMove.move_image`.
        """
        return place(img, self.canvas, self.fill)

    def move_masks(self, masks):
        """The masks expanded to the canvas (their ``expand``).

        See :meth:`PixelMove.move_masks`.
        """
        new_h, new_w, left, top = self.canvas
        return masks.expand(new_h, new_w, top, left)

    def move_seg(self, seg: np.ndarray) -> np.ndarray:
        """The seg map placed on a canvas filled with ``seg_fill``.

        See :meth:`PixelMove.move_seg`.
        """
        return place(seg, self.canvas, self.seg_fill)

    def move_dense(self, x: np.ndarray) -> np.ndarray:
        """The map placed on a canvas of zeros (invalid).

        See :meth:`PixelMove.move_dense`.
        """
        return place(x, self.canvas)


class PadBottomRight(PixelMove):
    """The input padded at the bottom / right to ``shape`` (mmcv's ``impad``; zoom 1: padding
    adds no field of view); dense labels get 0 (invalid) whatever the padding mode.

    Args:
        shape (tuple[int]): The padded (h, w).
        fill: The image's padding value (``pad_val`` of ``mmcv.impad``).
        seg_fill: The seg map's padding value.
        mask_fill (int): The instance masks' padding value.
        padding_mode (str): ``mmcv.impad``'s mode, for the image and seg map.
    """

    index_moves_image = False

    def __init__(self, shape: Tuple[int, int], fill, seg_fill, mask_fill: int,
                 padding_mode: str) -> None:
        super().__init__(shape)
        self.fill, self.seg_fill, self.mask_fill = fill, seg_fill, mask_fill
        self.padding_mode = padding_mode

    def index(self, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
        """The input at the top left of the padded shape, -1 in the padding.

        See :meth:`PixelMove.index`.
        """
        return Place(self.shape + (0, 0), w, self.fill, self.seg_fill).index(h, w)

    def move_image(self, img: np.ndarray) -> np.ndarray:
        """The image padded by ``mmcv.impad`` with ``fill`` and ``padding_mode``.

        See :meth:`PixelMove.move_image`.
        """
        return mmcv.impad(img, shape=self.shape, pad_val=self.fill, padding_mode=self.padding_mode)

    def move_masks(self, masks):
        """The masks padded with ``mask_fill`` (their ``pad``).

        See :meth:`PixelMove.move_masks`.
        """
        return masks.pad(self.shape, pad_val=self.mask_fill)

    def move_seg(self, seg: np.ndarray) -> np.ndarray:
        """The seg map padded by ``mmcv.impad`` with ``seg_fill`` and ``padding_mode``.

        See :meth:`PixelMove.move_seg`.
        """
        return mmcv.impad(
            seg, shape=self.shape, pad_val=self.seg_fill, padding_mode=self.padding_mode)

    def move_dense(self, x: np.ndarray) -> np.ndarray:
        """The map padded with zeros (invalid), whatever ``padding_mode``.

        See :meth:`PixelMove.move_dense`.
        """
        out = np.zeros(self.shape + x.shape[2:], x.dtype)
        out[:x.shape[0], :x.shape[1]] = x
        return out


class Flip(PixelMove):
    """The input mirrored: 'horizontal', 'vertical' or 'diagonal' (both); normals' x and / or y
    negated.

    Args:
        direction (str): The flip direction.
        shape (tuple[int]): The input's (h, w).
    """

    def __init__(self, direction: str, shape: Tuple[int, int]) -> None:
        super().__init__(shape, normal_signs=NORMAL_SIGNS[direction])
        self.direction = direction

    def index(self, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
        """The rows and / or columns of the input reversed, as ``direction`` says.

        See :meth:`PixelMove.index`.
        """
        rows, cols = np.arange(h), np.arange(w)
        if self.direction in ('horizontal', 'diagonal'):
            cols = cols[::-1]
        if self.direction in ('vertical', 'diagonal'):
            rows = rows[::-1]
        return rows, cols

    def move_image(self, img: np.ndarray) -> np.ndarray:
        """The image flipped by ``mmcv.imflip`` (a view).

        See :meth:`PixelMove.move_image`.
        """
        return mmcv.imflip(img, direction=self.direction)

    def move_masks(self, masks):
        """The masks flipped (their ``flip``).

        See :meth:`PixelMove.move_masks`.
        """
        return masks.flip(self.direction)

    def move_seg(self, seg: np.ndarray) -> np.ndarray:
        """The seg map flipped by ``mmcv.imflip`` (a view).

        See :meth:`PixelMove.move_seg`.
        """
        return mmcv.imflip(seg, direction=self.direction)

    def move_dense(self, x: np.ndarray) -> np.ndarray:
        """The map flipped, as a C-contiguous copy.

        See :meth:`PixelMove.move_dense`.
        """
        return np.ascontiguousarray(mmcv.imflip(x, self.direction))


class Resample(PixelMove):
    """The input resized to ``shape``: the image with ``interpolation``, every label map by
    nearest neighbour (cv2's INTER_NEAREST rule; values copied, never blended), zoom 1.

    Args:
        shape (tuple[int]): The new (h, w).
        interpolation (str): mmcv's interpolation for the image. Defaults to 'bilinear'.
        backend (str): mmcv's resize backend for the image and seg map. Defaults to 'cv2'.
    """

    index_moves_image = False

    def __init__(self,
                 shape: Tuple[int, int],
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        super().__init__(shape)
        self.interpolation = interpolation
        self.backend = backend

    def index(self, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
        """cv2's INTER_NEAREST source index of each output row and column (:func:`nearest_index`).

        See :meth:`PixelMove.index`.
        """
        return nearest_index(self.shape[0], h), nearest_index(self.shape[1], w)

    def move_image(self, img: np.ndarray) -> np.ndarray:
        """The image resized with ``interpolation`` and ``backend``.

        See :meth:`PixelMove.move_image`.
        """
        return self.resize(img, self.interpolation, self.backend)

    def move_masks(self, masks):
        """The masks resized to ``shape`` (their ``resize``).

        See :meth:`PixelMove.move_masks`.
        """
        return masks.resize(self.shape)

    def move_seg(self, seg: np.ndarray) -> np.ndarray:
        """The seg map resized by nearest neighbour with ``backend``.

        See :meth:`PixelMove.move_seg`.
        """
        return self.resize(seg, 'nearest', self.backend)

    def move_dense(self, x: np.ndarray) -> np.ndarray:
        """The map resized by nearest neighbour with cv2.

        See :meth:`PixelMove.move_dense`.
        """
        return self.resize(x, 'nearest', 'cv2')

    def resize(self, x: np.ndarray, interpolation: str, backend: str) -> np.ndarray:
        """``x`` (h, w, ...) resized to ``shape`` by ``mmcv.imresize``.

        Args:
            x (np.ndarray): The map.
            interpolation (str): mmcv's interpolation.
            backend (str): mmcv's backend.

        Returns:
            np.ndarray: (new_h, new_w, ...).
        """
        h, w = self.shape
        return mmcv.imresize(x, (w, h), interpolation=interpolation, backend=backend)


def nearest_index(new: int, old: int) -> np.ndarray:
    """Source index of each of ``new`` pixels when cv2 resizes ``old`` pixels to ``new`` with
    INTER_NEAREST: floor(i * old / new), as ``cv2.resize`` computes it (in double).

    Args:
        new (int): The output's size (pixels) along the axis.
        old (int): The input's size along the axis.

    Returns:
        np.ndarray: (new, ) int64 indices in [0, old).
    """
    return np.minimum(np.floor(np.arange(new) * (1. / (new / old))).astype(np.int64), old - 1)


def move_label_maps(results: dict, move: PixelMove) -> None:
    """Move ``gt_masks`` and ``gt_seg_map`` (when present) by ``move``.

    Args:
        results (dict): The sample, modified.
        move (PixelMove): The stated move.
    """
    if results.get('gt_masks') is not None:
        results['gt_masks'] = move.move_masks(results['gt_masks'])
    if results.get('gt_seg_map') is not None:
        results['gt_seg_map'] = move.move_seg(results['gt_seg_map'])


def move_dense_labels(results: dict, move: PixelMove) -> None:
    """Move ``gt_depth`` and ``gt_normals`` (when present) by ``move``, with its zoom (applied
    on the smaller of the input and output: the same values, on fewer pixels) and normal signs.

    Args:
        results (dict): The sample, modified.
        move (PixelMove): The stated move.
    """
    present = [key for key in DENSE_KEYS if key in results]
    if not present:
        return
    h, w = results[present[0]].shape[:2]
    zoom_first = move.shape[0] * move.shape[1] > h * w
    if zoom_first:
        zoom_dense(results, move.zoom)
    for key in present:
        results[key] = move.move_dense(results[key])
    if not zoom_first:
        zoom_dense(results, move.zoom)
    if 'gt_normals' in results and move.normal_signs != (1, 1, 1):
        results['gt_normals'] = results['gt_normals'] * np.array(move.normal_signs, np.float32)


def apply_move(results: dict, move: Optional[PixelMove]) -> dict:
    """The step-by-step executor: move the image and every pixel map of ``results`` by
    ``move`` (None: nothing moves).

    Args:
        results (dict): The sample, modified.
        move (PixelMove, optional): The stated move.

    Returns:
        dict: ``results``.
    """
    if move is not None:
        results['img'] = move.move_image(results['img'])
        move_label_maps(results, move)
        move_dense_labels(results, move)
    return results


class GeometricTransform:
    """The interface of a transform that moves pixels and carries every pixel map with them.

    A subclass implements :meth:`plan`; its ``transform`` is then :func:`apply_move` of the
    plan, and :class:`FusedGeometry` can run it within a chain. Class attributes declare it to
    the pipeline helpers (no list to edit):

    - ``fusable`` (bool): :class:`FusedGeometry` may run it within a chain (its ``transform``
      is :func:`apply_move` of its plan: it never drops the sample). Defaults to True.
    - ``stock_type`` (str, optional): the stock transform it replaces with the same arguments,
      read from the class itself, not inherited (``multitask_pipeline`` converts that type to
      it; the pipeline check names it).
    """

    fusable = True
    stock_type: Optional[str] = None
    moves_dense_labels = True  # accepted after the dense labels are loaded

    def plan(self, results: dict, shape: Tuple[int, int]) -> Optional[PixelMove]:
        """Draw this step's randomness for an image of ``shape``, move what is not a pixel map
        (boxes, instance labels, meta keys) and state the pixel move.

        Args:
            results (dict): The sample; its image may not be moved to ``shape`` yet.
            shape (tuple[int]): The image's current (h, w).

        Returns:
            PixelMove, optional: The move; None when the image stays as it is.
        """
        raise NotImplementedError

    @autocast_box_type()
    def transform(self, results: dict) -> Optional[dict]:
        """Plan, then move the image and every pixel map.

        Args:
            results (dict): The sample.

        Returns:
            dict: The moved sample.
        """
        return apply_move(results, self.plan(results, results['img'].shape[:2]))
