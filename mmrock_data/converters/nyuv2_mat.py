"""Reading of the official NYUv2 files and their conversion into mmrock's dataset folder.

Inputs (docs/design.md, "NYUv2 data"): ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3 = HDF5, read
image by image through h5py, never whole datasets), ``splits.mat`` (MATLAB v5, 1-based
``trainNdxs`` / ``testNdxs``), the surface normals: the ``normals_gt/`` folder
(``normals/NNNN.png``, ``masks/NNNN.png``, 0-based NNNN) or, only when asked, normals computed from
the depth maps, and optionally a val split (a text file of ``scenes`` names moved from train to
val, or whole scenes chosen by a seed: ``auto``, :func:`auto_val_scenes`).

Output layout under ``out_dir`` (NNNN = 0-based index of the image in the .mat, 4 digits)::

    images/NNNN.png         RGB uint8, lossless
    depth/NNNN.png          uint16, millimetres, 0 = invalid (NaN, inf, <= 0 or > 65.535 m)
    normals/NNNN.png        uint8 RGB, v = round((n + 1) / 2 * 255) (normals_gt's encoding)
    normal_masks/NNNN.png   uint8, 255 = valid normal, 0 = invalid
    seg/NNNN.png            uint8 semantic map of the official per-pixel ``labels`` (seg_map)
    annotations/nyuv2_train.json, nyuv2_test.json (+ nyuv2_val.json with a val split)

Each json is COCO: ``images`` entries carry id (= nyu_index + 1), file_name, height, width,
nyu_index, scene, scene_id (index in SCENE_CLASSES), scene_name, depth_file, normal_file,
normal_mask_file, seg_map_file; ``annotations`` carry id, image_id, category_id (1..19 in
DETECTION_CLASSES order), bbox [x, y, w, h] (w = xmax - xmin + 1), area (= w * h), iscrowd (0)
and nyu_instance (the ``instances`` value); one annotation per (class, instance value) pair
present in the image, its box covering every pixel of the pair (a fragmented instance gives one
box). Images without boxes are kept. Top level: ``info`` (``normals``: 'normals_gt' or 'computed
from depths'), ``licenses``, ``images``, ``annotations``, ``categories`` (id, name, supercategory)
and ``scene_classes``.
Only the images of trainNdxs and testNdxs are converted.

The semantic map (:func:`seg_map`) maps each ``labels`` value (a 1-based index into ``names``) by
its name: a detection class (exact name) to its index 0..18 in DETECTION_CLASSES, a name of
STRUCTURE_CLASSES (wall, floor, ceiling) to 20 'background', any other name to 19 'other', and 0
(unlabelled) to 255, ignored (nyuv2_meta.SEG_CLASSES; a ``SegmentationHead`` with
``num_classes=20`` reads them).

Everything is written into a sibling temporary folder ``<out>.tmp-XXXX`` renamed to ``out_dir`` at
the very end; on any failure the temporary folder is removed. Images are converted by ``nproc``
worker processes (each opens the .mat itself and takes two images at a time), the main process
keeping only the json entries. Memory is bounded by one image's working set per process: on the
1,449 generated 480x640 rooms (a 2.6 GB .mat) the CLI peaked at 98 MB per process, 185 MB PSS for
the main process and two workers together;
``tests/test_datasets/test_converters/test_converter_nyuv2.py`` checks that the peak RSS does not
grow with the number of images.

Bad inputs raise :class:`NYUv2FormatError`, whose message is one line ``<file>: <problem>``.
"""
import json
import os
import os.path as osp
from collections import Counter
from contextlib import closing
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ..nyuv2_meta import (DETECTION_CLASSES, IMAGE_HW, KINECT_CX, KINECT_CY, KINECT_FX, KINECT_FY,
                          SCENE_CLASSES, SEG_CLASSES, SEG_IGNORE_INDEX, STRUCTURE_CLASSES)
from .errors import ConversionError, DataFormatError
from .output_dir import absolute_out_dir, atomic_output_dir
from .parallel import map_in_order

MAT_DATASETS = ('images', 'depths', 'labels', 'instances', 'names', 'sceneTypes', 'scenes')
SPLIT_KEYS = ('trainNdxs', 'testNdxs')
MAX_DEPTH_MM = np.iinfo(np.uint16).max

# the NYUv2 converter's names of the converters' errors
NYUv2ConversionError = ConversionError
NYUv2FormatError = DataFormatError

# ----------------------------------------------------------------------------------------------
# geometry shared with the synthetic generator


def kinect_intrinsics(height: int = IMAGE_HW[0], width: int = IMAGE_HW[1]) -> Tuple[float, ...]:
    """(fx, fy, cx, cy) of the Kinect RGB camera (nyuv2_meta) for a frame of ``height`` x ``width``.

    The 640x480 values are scaled with the frame; pixel centres are kept aligned, i.e.
    ``cx' = (cx + 0.5) * s - 0.5``. The principal point is used as given in nyuv2_meta, as 0-based
    pixel coordinates.

    Args:
        height (int): Frame height. Defaults to 480.
        width (int): Frame width. Defaults to 640.

    Returns:
        tuple[float, ...]: (fx, fy, cx, cy) in pixels.
    """
    sx, sy = width / IMAGE_HW[1], height / IMAGE_HW[0]
    return (KINECT_FX * sx, KINECT_FY * sy, (KINECT_CX + 0.5) * sx - 0.5,
            (KINECT_CY + 0.5) * sy - 0.5)


def backproject(depth: np.ndarray, intrinsics: Sequence[float]) -> np.ndarray:
    """3D points of a z-depth map in the camera frame: x right, y down, z forward.

    Args:
        depth (np.ndarray): z-depth of shape (H, W).
        intrinsics (Sequence[float]): (fx, fy, cx, cy) in pixels.

    Returns:
        np.ndarray: float64 points of shape (H, W, 3), in the depth's unit.
    """
    fx, fy, cx, cy = intrinsics
    h, w = depth.shape
    z = depth.astype(np.float64)
    x = (np.arange(w) - cx)[None, :] / fx * z
    y = (np.arange(h) - cy)[:, None] / fy * z
    return np.stack([x, y, z], axis=-1)


def normals_from_depth(depth: np.ndarray,
                       intrinsics: Optional[Sequence[float]] = None,
                       max_rel_jump: float = 0.05) -> Tuple[np.ndarray, np.ndarray]:
    """Surface normals of a z-depth map (metres) by back-projection and central differences.

    Camera frame: x right, y down, z forward (the optical axis), like the pixel axes u, v.
    Each pixel is back-projected with the pinhole ``intrinsics`` (fx, fy, cx, cy; default: the
    Kinect's, scaled to the map's size). The tangents are the central differences
    ``P(u+1) - P(u-1)`` and ``P(v+1) - P(v-1)``; the normal is their cross product, unit length,
    oriented toward the camera (``n . P < 0``).

    Args:
        depth (np.ndarray): z-depth of shape (H, W), metres.
        intrinsics (Sequence[float], optional): (fx, fy, cx, cy). Defaults to None (the
            Kinect's, scaled).
        max_rel_jump (float): Largest depth difference to a neighbour, relative to the centre
            depth. Defaults to 0.05.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``normals`` (H, W, 3) float32 (zero where invalid) and
        ``mask`` (H, W) bool: valid where the depth of the pixel and of its 4 neighbours is
        finite and > 0, no neighbour differs from the centre by more than ``max_rel_jump``
        times the centre depth (depth discontinuity), and the pixel is not on the border.
    """
    depth = np.asarray(depth, dtype=np.float64)
    h, w = depth.shape
    if intrinsics is None:
        intrinsics = kinect_intrinsics(h, w)
    normals = np.zeros((h, w, 3), np.float32)
    mask = np.zeros((h, w), bool)
    if h < 3 or w < 3:
        return normals, mask
    valid = np.isfinite(depth) & (depth > 0)
    z = np.where(valid, depth, 0.)
    pts = backproject(z, intrinsics)
    du = pts[1:-1, 2:] - pts[1:-1, :-2]
    dv = pts[2:, 1:-1] - pts[:-2, 1:-1]
    n = np.cross(du, dv)
    centre = pts[1:-1, 1:-1]
    n = np.where((np.einsum('hwc,hwc->hw', n, centre) > 0)[..., None], -n, n)
    norm = np.linalg.norm(n, axis=-1)
    zc = z[1:-1, 1:-1]
    ok = valid[1:-1, 1:-1] & (norm > 1e-12)
    for nb in (z[1:-1, 2:], z[1:-1, :-2], z[2:, 1:-1], z[:-2, 1:-1]):
        ok &= (nb > 0) & (np.abs(nb - zc) <= max_rel_jump * zc)
    inner = np.where(ok[..., None], n / np.maximum(norm, 1e-12)[..., None], 0.)
    normals[1:-1, 1:-1] = inner
    mask[1:-1, 1:-1] = ok
    return normals, mask


def encode_normals(normals: np.ndarray, mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Encode unit normals as uint8 RGB: v = round((n + 1) / 2 * 255).

    Args:
        normals (np.ndarray): Unit normals of shape (H, W, 3).
        mask (np.ndarray, optional): (H, W) bool valid mask; invalid pixels are 128 (n ~ 0).
            Defaults to None.

    Returns:
        np.ndarray: (H, W, 3) uint8.
    """
    v = np.clip(np.rint((np.asarray(normals, np.float64) + 1.) * 127.5), 0, 255).astype(np.uint8)
    if mask is not None:
        v[~np.asarray(mask, bool)] = 128
    return v


def decode_rgb_normals(png: np.ndarray) -> np.ndarray:
    """Normals of an RGB normal PNG without mask, channels last (the inverse of
    :func:`encode_normals`; ``mmrock.datasets.transforms.loading.decode_normals``
    reads the RGBA code whose alpha is the mask and returns (3, H, W)).

    Args:
        png (np.ndarray): (H, W, 3) uint8, v = round((n + 1) / 2 * 255).

    Returns:
        np.ndarray: (H, W, 3) float32 unit normals n = 2 v / 255 - 1 renormalised; the zero vector
        where that vector is shorter than 0.01 (the invalid code 128 of :func:`encode_normals`).
    """
    n = png.astype(np.float32) * (2. / 255.) - 1.
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    return np.where(norm > 1e-2, n / np.maximum(norm, 1e-6), 0.).astype(np.float32)


def encode_depth_mm(depth: np.ndarray) -> np.ndarray:
    """Encode a depth map as uint16 millimetres; NaN, inf, <= 0 and > 65.535 m become 0.

    Args:
        depth (np.ndarray): Depth in metres, any shape.

    Returns:
        np.ndarray: uint16 millimetres, of the same shape.
    """
    depth = np.asarray(depth, np.float64)
    with np.errstate(invalid='ignore'):
        mm = np.rint(depth * 1000.)
        ok = np.isfinite(mm) & (mm > 0) & (mm <= MAX_DEPTH_MM)
    return np.where(ok, mm, 0).astype(np.uint16)


def save_png(path: str, array: np.ndarray, compress_level: int = 3) -> None:
    """Write an array as PNG, losslessly.

    Args:
        path (str): The file.
        array (np.ndarray): uint8 (H, W) / (H, W, 3) or uint16 (H, W).
        compress_level (int): zlib level. Defaults to 3.
    """
    Image.fromarray(np.ascontiguousarray(array)).save(path, compress_level=compress_level)


# ----------------------------------------------------------------------------------------------
# boxes


def instance_boxes(labels: np.ndarray, instances: np.ndarray,
                   class_label_ids: Sequence[Iterable[int]]) -> List[Tuple[int, int, List[int]]]:
    """One box per (class, instance value) pair present in an image.

    Args:
        labels (np.ndarray): (H, W) label map (values = 1-based indices into ``names``,
            0 = unlabeled).
        instances (np.ndarray): (H, W) instance numbers within each label.
        class_label_ids (Sequence[Iterable[int]]): For category k (0-based), the label values
            that belong to it.

    Returns:
        list[tuple[int, int, list[int]]]: ``(category_id, instance_value, [x, y, w, h])``
        sorted by category_id (1-based) then instance value; the box covers every pixel of the
        pair (w = xmax - xmin + 1).
    """
    labels = np.asarray(labels)
    lut = np.zeros(max(int(labels.max(initial=0)) + 1, 1), np.int32)
    for k, ids in enumerate(class_label_ids):
        for i in ids:
            if i < lut.size:
                lut[i] = k + 1
    cat = lut[labels].ravel()
    sel = np.flatnonzero(cat)
    if sel.size == 0:
        return []
    width = labels.shape[1]
    key = cat[sel].astype(np.int64) * 65536 + np.asarray(instances).ravel()[sel]
    order = np.argsort(key, kind='stable')
    key, sel = key[order], sel[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    rows, cols = sel // width, sel % width
    y0, y1 = np.minimum.reduceat(rows, starts), np.maximum.reduceat(rows, starts)
    x0, x1 = np.minimum.reduceat(cols, starts), np.maximum.reduceat(cols, starts)
    out = []
    for j, s in enumerate(starts):
        out.append((int(key[s] // 65536), int(key[s] % 65536),
                    [int(x0[j]),
                     int(y0[j]),
                     int(x1[j] - x0[j] + 1),
                     int(y1[j] - y0[j] + 1)]))
    return out


def seg_map(labels: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The semantic map of a label map (the module docstring's rule): a detection class's pixels
    -> its index in DETECTION_CLASSES, the STRUCTURE_CLASSES' -> 'background' (20), other
    names' -> 'other' (19), unlabelled -> SEG_IGNORE_INDEX.

    Args:
        labels (np.ndarray): (H, W) labels, 0 unlabelled, else a 1-based index into ``names``.
        names (Sequence[str]): The .mat's class names.

    Returns:
        np.ndarray: (H, W) uint8 semantic map.
    """
    other, background = SEG_CLASSES.index('other'), SEG_CLASSES.index('background')
    lut = np.full(len(names) + 1, other, np.uint8)
    lut[0] = SEG_IGNORE_INDEX
    for i, name in enumerate(names):
        if name in DETECTION_CLASSES:
            lut[i + 1] = DETECTION_CLASSES.index(name)
        elif name in STRUCTURE_CLASSES:
            lut[i + 1] = background
    return lut[labels]


# ----------------------------------------------------------------------------------------------
# reading


def _check_file(path: str) -> str:
    path = os.fspath(path)
    if not osp.exists(path):
        raise NYUv2FormatError(path, 'no such file')
    if not osp.isfile(path):
        raise NYUv2FormatError(path, 'not a file')
    return path


class NYUv2Mat:
    """Streaming reader of ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3 = HDF5).

    Opening validates the layout (datasets present, shapes, dtypes, image counts) and reads the
    small string arrays ``names``, ``sceneTypes`` and ``scenes``; the per-image accessors read a
    single image each, in MATLAB's reversed axes transposed back to (H, W[, 3]).

    Args:
        path (str | os.PathLike): The .mat file.
    """

    def __init__(self, path) -> None:
        import h5py
        self.path = _check_file(path)
        try:
            is_hdf5 = h5py.is_hdf5(self.path)
        except OSError as exc:
            raise NYUv2FormatError(self.path, f'cannot read ({exc})')
        if not is_hdf5:
            raise NYUv2FormatError(
                self.path, 'not an HDF5 file (a MATLAB v7.3 .mat is expected: '
                'nyu_depth_v2_labeled.mat)')
        try:
            self._f = h5py.File(self.path, 'r')
        except OSError as exc:
            raise NYUv2FormatError(self.path, f'cannot open as HDF5, truncated or corrupt ({exc})')
        try:
            try:
                self._validate()
            except (KeyError, RuntimeError, ValueError, TypeError, OSError) as exc:
                # h5py's errors on damaged object headers / heaps (a corrupt file)
                raise self._error(f'corrupt HDF5 structure ({exc})') from exc
            self.names = self._strings('names')
            self.scene_types = self._strings('sceneTypes')
            self.scenes = self._strings('scenes')
        except BaseException:
            self.close()
            raise

    # -- layout
    def _error(self, problem: str) -> NYUv2FormatError:
        return NYUv2FormatError(self.path, problem)

    def _validate(self) -> None:
        import h5py
        f = self._f
        for name in MAT_DATASETS:
            if name not in f or not isinstance(f[name], h5py.Dataset):
                raise self._error(f"missing dataset '{name}'")
        images = f['images']
        if images.ndim != 4 or images.shape[1] != 3:
            raise self._error(f"'images' has shape {images.shape}, expected (N, 3, W, H)")
        n, _, w, h = images.shape
        expect = {
            'images': ((n, 3, w, h), 'uint8'),
            'depths': ((n, w, h), 'float32'),
            'labels': ((n, w, h), 'uint16'),
            'instances': ((n, w, h), 'uint8')
        }
        if 'rawDepths' in f and isinstance(f['rawDepths'], h5py.Dataset):
            expect['rawDepths'] = ((n, w, h), 'float32')
        for name, (shape, dtype) in expect.items():
            ds = f[name]
            if ds.ndim != len(shape):
                raise self._error(f"'{name}' has shape {ds.shape}, expected {shape}")
            if ds.shape[0] != n:
                raise self._error(f"'{name}' holds {ds.shape[0]} images but 'images' holds {n}")
            if ds.shape != shape:
                raise self._error(f"'{name}' has shape {ds.shape}, expected {shape} "
                                  f"(like 'images' {images.shape})")
            if ds.dtype != np.dtype(dtype):
                raise self._error(f"'{name}' has dtype {ds.dtype}, expected {dtype}")
        for name in ('names', 'sceneTypes', 'scenes'):
            ds = f[name]
            if h5py.check_dtype(ref=ds.dtype) is not h5py.Reference:
                raise self._error(f"'{name}' is not a cell array of strings "
                                  f"(dtype {ds.dtype}, expected object references)")
            if ds.ndim != 2 or 1 not in ds.shape:
                raise self._error(f"'{name}' has shape {ds.shape}, expected (1, K)")
            if name != 'names' and ds.size != n:
                raise self._error(f"'{name}' holds {ds.size} entries but 'images' holds {n}")
        if f['names'].size == 0:
            raise self._error("'names' is empty")
        self.num_images, self.height, self.width = n, h, w

    def _strings(self, name: str) -> List[str]:
        f = self._f
        try:
            refs = f[name][()].ravel()
            out = []
            for j, ref in enumerate(refs):
                if not ref:
                    raise self._error(f"'{name}' entry {j} is a null reference")
                ds = f[ref]
                if ds.attrs.get('MATLAB_empty', 0):
                    out.append('')
                    continue
                codes = ds[()]
                if codes.dtype.kind not in 'ui':
                    raise self._error(f"'{name}' entry {j} is not a character array "
                                      f'(dtype {codes.dtype})')
                out.append(''.join(map(chr, codes.ravel().tolist())))
            return out
        except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise self._error(f"cannot read '{name}' ({exc})")

    # -- per image
    def _read(self, name: str, index: int) -> np.ndarray:
        if not 0 <= index < self.num_images:
            raise IndexError(f'image index {index} out of range [0, {self.num_images})')
        try:
            return self._f[name][index]
        except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise self._error(f"cannot read '{name}' of image {index} ({exc})")

    def image(self, index: int) -> np.ndarray:
        """One image.

        Args:
            index (int): 0-based image index.

        Returns:
            np.ndarray: RGB (H, W, 3) uint8.
        """
        return np.ascontiguousarray(self._read('images', index).transpose(2, 1, 0))

    def depth(self, index: int) -> np.ndarray:
        """One image's in-painted depth.

        Args:
            index (int): 0-based image index.

        Returns:
            np.ndarray: (H, W) float32, metres.
        """
        return np.ascontiguousarray(self._read('depths', index).T)

    def labels(self, index: int) -> np.ndarray:
        """One image's labels.

        Args:
            index (int): 0-based image index.

        Returns:
            np.ndarray: (H, W) uint16, 0 unlabeled, else a 1-based index into ``names``.
        """
        return np.ascontiguousarray(self._read('labels', index).T)

    def instances(self, index: int) -> np.ndarray:
        """One image's instance numbers within each label.

        Args:
            index (int): 0-based image index.

        Returns:
            np.ndarray: (H, W) uint8.
        """
        return np.ascontiguousarray(self._read('instances', index).T)

    def label_ids(self, class_name: str) -> List[int]:
        """The label values of a class name.

        Args:
            class_name (str): The name (exact match).

        Returns:
            list[int]: Its 1-based positions in ``names``.

        Raises:
            NYUv2FormatError: When absent.
        """
        ids = [i + 1 for i, name in enumerate(self.names) if name == class_name]
        if not ids:
            raise self._error(f"class '{class_name}' is not in 'names' "
                              f'({len(self.names)} entries)')
        return ids

    def close(self) -> None:
        """Close the file."""
        f = getattr(self, '_f', None)
        if f is not None:
            f.close()
            self._f = None

    def __enter__(self) -> 'NYUv2Mat':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _as_indices(path: str, key: str, value, num_images: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in 'uif' or arr.size == 0:
        raise NYUv2FormatError(path, f"'{key}' is not a non-empty numeric array")
    if arr.ndim != 2 or 1 not in arr.shape:
        raise NYUv2FormatError(path, f"'{key}' has shape {arr.shape}, expected a column (K, 1)")
    flat = arr.ravel().astype(np.float64)
    if not np.all(np.isfinite(flat)) or np.any(flat != np.round(flat)):
        raise NYUv2FormatError(path, f"'{key}' holds non-integer values")
    idx = flat.astype(np.int64)
    if np.any(idx == 0):
        raise NYUv2FormatError(
            path, f"'{key}' contains index 0: MATLAB indices are 1-based "
            '(was it written 0-based?)')
    bad = idx[(idx < 1) | (idx > num_images)]
    if bad.size:
        raise NYUv2FormatError(path, f"'{key}' index {int(bad[0])} out of range 1..{num_images}")
    uniq, counts = np.unique(idx, return_counts=True)
    if np.any(counts > 1):
        raise NYUv2FormatError(path, f"'{key}' repeats index {int(uniq[counts > 1][0])}")
    return np.sort(idx - 1)


def read_splits(path, num_images: int) -> Tuple[np.ndarray, np.ndarray]:
    """Read the official split.

    Args:
        path (str | os.PathLike): ``splits.mat`` (1-based ``trainNdxs`` / ``testNdxs``).
        num_images (int): Images of the .mat, the indices' bound.

    Returns:
        tuple[np.ndarray, np.ndarray]: 0-based sorted (train, test) indices.
    """
    import scipy.io
    path = _check_file(path)
    try:
        mat = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises ValueError, TypeError, NotImplementedError (v7.3)...
        raise NYUv2FormatError(path, f'not a MATLAB v5 .mat file ({type(exc).__name__}: {exc})')
    for key in SPLIT_KEYS:
        if key not in mat:
            raise NYUv2FormatError(path, f"missing variable '{key}'")
    train = _as_indices(path, 'trainNdxs', mat['trainNdxs'], num_images)
    test = _as_indices(path, 'testNdxs', mat['testNdxs'], num_images)
    both = np.intersect1d(train, test)
    if both.size:
        raise NYUv2FormatError(
            path, f'{both.size} image(s) in both trainNdxs and testNdxs '
            f'(first: {int(both[0]) + 1})')
    return train, test


def read_val_scenes(path, known_scenes: Iterable[str]) -> List[str]:
    """Scene names of a val split file: one ``scenes`` name a line; blank lines and # comments
    are skipped.

    Args:
        path (str | os.PathLike): The file.
        known_scenes (Iterable[str]): The .mat's scene names.

    Returns:
        list[str]: The names.

    Raises:
        NYUv2FormatError: A name unknown to the .mat.
    """
    path = _check_file(path)
    try:
        with open(path, encoding='utf-8') as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise NYUv2FormatError(path, f'cannot read ({exc})')
    known = set(known_scenes)
    names = []
    for lineno, line in enumerate(lines, 1):
        name = line.split('#', 1)[0].strip()
        if not name:
            continue
        if name not in known:
            raise NYUv2FormatError(
                path, f"line {lineno}: unknown scene '{name}' "
                "(not in the .mat's 'scenes')")
        names.append(name)
    if not names:
        raise NYUv2FormatError(path, 'no scene name in the val split file')
    return names


# The paper's protocol moves 122 of the 795 official train images (whole scenes) to val.
PAPER_VAL_FRACTION = 122 / 795
AUTO_VAL_SPLIT = 'auto'
AUTO_VAL_FILE = 'val_scenes_auto.txt'


def auto_val_scenes(train_scenes: Sequence[str],
                    seed: int = 0,
                    fraction: float = PAPER_VAL_FRACTION) -> List[str]:
    """Scenes for a val split chosen without a list (``--val-split auto``): the train images'
    scenes in a random order (``seed``), each taken whole if it keeps the val images at or below
    ``round(fraction * len(train_scenes))`` (122 of the official 795), until that count is
    reached or no scene fits. Deterministic given the scenes and the seed; not the
    re-implementation's list.

    Args:
        train_scenes: the ``scenes`` name of each train image.

    Returns:
        list[str]: the chosen scene names, sorted.
    """
    sizes = Counter(train_scenes)
    target = int(round(fraction * len(train_scenes)))
    order = np.random.default_rng(seed).permutation(sorted(sizes))
    chosen, count = [], 0
    for name in order:
        if count == target:
            break
        if count + sizes[name] <= target:
            chosen.append(str(name))
            count += sizes[name]
    return sorted(chosen)


class NormalsDir:
    """The ``normals_gt/`` folder: ``normals/NNNN.png`` (RGB) and ``masks/NNNN.png``, 0-based.

    Args:
        root (str | os.PathLike): The folder.
        height (int): Height of the images.
        width (int): Width of the images.
    """

    def __init__(self, root, height: int, width: int) -> None:
        self.root = os.fspath(root)
        if not osp.isdir(self.root):
            raise NYUv2FormatError(
                self.root, 'no such folder (normals_gt/ expected, holding '
                'normals/ and masks/)')
        self.height, self.width = height, width

    def paths(self, index: int) -> Tuple[str, str]:
        """The files of an image.

        Args:
            index (int): 0-based image index.

        Returns:
            tuple[str, str]: (normals PNG, mask PNG).
        """
        name = f'{index:04d}.png'
        return (osp.join(self.root, 'normals', name), osp.join(self.root, 'masks', name))

    def check(self, indices: Iterable[int]) -> None:
        """Check that every file exists, is a PNG and has the images' size (header reads only).

        Args:
            indices (Iterable[int]): 0-based image indices.

        Raises:
            NYUv2FormatError: The first file that does not.
        """
        for index in indices:
            for path, kind in zip(self.paths(index), ('normals', 'mask')):
                if not osp.isfile(path):
                    raise NYUv2FormatError(path, f'missing {kind} PNG of image {index}')
                try:
                    with Image.open(path) as im:
                        size, mode = im.size, im.mode
                except (OSError, ValueError) as exc:
                    raise NYUv2FormatError(path, f'not a readable image ({exc})')
                if size != (self.width, self.height):
                    raise NYUv2FormatError(
                        path, f'{kind} PNG is {size[0]}x{size[1]}, '
                        f'expected {self.width}x{self.height} (W x H)')
                if kind == 'normals' and mode != 'RGB':
                    raise NYUv2FormatError(path, f'normals PNG has mode {mode}, expected RGB')

    def read(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        """Read an image's normals.

        Args:
            index (int): 0-based image index.

        Returns:
            tuple[np.ndarray, np.ndarray]: Encoded normals (H, W, 3) uint8 and valid mask
            (H, W) bool.
        """
        npath, mpath = self.paths(index)
        try:
            with Image.open(npath) as im:
                normals = np.asarray(im.convert('RGB'))
            with Image.open(mpath) as im:
                mask = np.asarray(im)
        except (OSError, ValueError) as exc:
            raise NYUv2FormatError(npath, f'cannot read normals of image {index} ({exc})')
        if mask.ndim == 3:
            mask = mask[..., :3].any(axis=-1)
        return normals, mask != 0


# ----------------------------------------------------------------------------------------------
# conversion


def _coco(images: List[dict], annotations: List[dict], split: str, normals_source: str) -> dict:
    return {
        'info': {
            'description': f'NYUv2 detection ({split}), converted by mmrock',
            'normals': normals_source
        },
        'licenses': [],
        'images':
        images,
        'annotations':
        annotations,
        'categories': [{
            'id': k + 1,
            'name': name,
            'supercategory': 'object'
        } for k, name in enumerate(DETECTION_CLASSES)],
        'scene_classes':
        list(SCENE_CLASSES),
    }


class _ImageConverter:
    """Writes the five PNGs of one image into ``out`` and returns its boxes.

    Picklable: each process opens the .mat on its first image (an HDF5 handle must not cross a
    fork), and closes it with :meth:`close`.
    """

    def __init__(self, mat_path: str, normals_dir: Optional[str], out: str,
                 class_ids: List[List[int]], names: List[str], height: int, width: int) -> None:
        self.mat_path, self.out = mat_path, out
        self.normals = None if normals_dir is None else NormalsDir(normals_dir, height, width)
        self.class_ids, self.names, self.num_names = class_ids, names, len(names)
        self.height, self.width = height, width
        self._mat: Optional[NYUv2Mat] = None

    def __call__(self, i: int) -> List[Tuple[int, int, List[int]]]:
        if self._mat is None:
            self._mat = NYUv2Mat(self.mat_path)
        mat, name = self._mat, f'{i:04d}.png'
        labels = mat.labels(i)
        if int(labels.max(initial=0)) > self.num_names:
            raise NYUv2FormatError(
                mat.path, f"'labels' of image {i} holds "
                f'{int(labels.max())} > {self.num_names} names')
        save_png(osp.join(self.out, 'images', name), mat.image(i))
        save_png(osp.join(self.out, 'seg', name), seg_map(labels, self.names))
        depth = mat.depth(i)
        save_png(osp.join(self.out, 'depth', name), encode_depth_mm(depth))
        if self.normals is None:
            n, nmask = normals_from_depth(depth, kinect_intrinsics(self.height, self.width))
            n = encode_normals(n, nmask)
        else:
            n, nmask = self.normals.read(i)
        save_png(osp.join(self.out, 'normals', name), n)
        save_png(osp.join(self.out, 'normal_masks', name), np.where(nmask, 255, 0).astype(np.uint8))
        return instance_boxes(labels, mat.instances(i), self.class_ids)

    def close(self) -> None:
        if self._mat is not None:
            self._mat.close()
            self._mat = None


def convert_nyuv2(mat_path,
                  splits_path,
                  out_dir,
                  normals_dir=None,
                  compute_normals: bool = False,
                  val_split=None,
                  val_seed: int = 0,
                  overwrite: bool = False,
                  nproc: int = 1,
                  progress: bool = True) -> Dict[str, int]:
    """Convert the official NYUv2 files into ``out_dir`` (layout in the module docstring).

    Args:
        mat_path: ``nyu_depth_v2_labeled.mat``.
        splits_path: ``splits.mat``; only images of trainNdxs / testNdxs are converted.
        out_dir: output folder; an existing one is an error unless ``overwrite``.
        normals_dir: ``normals_gt/`` (with ``normals/`` and ``masks/``).
        compute_normals: compute the normals from ``depths`` instead
            (:func:`normals_from_depth`); exactly one of the two normals sources is required.
        val_split: text file of ``scenes`` names: their train images go to val instead; or
            ``'auto'``: scenes chosen by :func:`auto_val_scenes` (seed ``val_seed``), listed in
            ``annotations/val_scenes_auto.txt`` of the output.
        val_seed: seed of ``val_split='auto'``.
        overwrite: replace an existing ``out_dir`` (only once the new one is complete).
        nproc: worker processes converting images (1: in this process).
        progress: show a tqdm progress bar (stderr).

    Returns:
        counts: ``{'train': images, 'train_boxes': boxes, 'test': ..., 'val': ...}``.

    Raises:
        NYUv2FormatError: a bad input (every check that needs no pixel data runs before anything
            is written); NYUv2ConversionError: no normals source, or two, or ``out_dir`` exists
            or cannot be written.
    """
    from tqdm import tqdm
    if (normals_dir is None) == (not compute_normals):
        raise NYUv2ConversionError(
            f'{mat_path}: ' +
            ('no surface normals' if normals_dir is None else 'two sources of surface normals') +
            ': give either the precomputed normals_gt/ folder (--normals) or compute them from '
            'the depth maps (--normals-from-depth)')
    out = absolute_out_dir(out_dir, overwrite)
    with NYUv2Mat(mat_path) as mat:
        class_ids = [mat.label_ids(name) for name in DETECTION_CLASSES]
        train, test = read_splits(splits_path, mat.num_images)
        split_of = {int(i): 'train' for i in train}
        split_of.update({int(i): 'test' for i in test})
        if val_split == AUTO_VAL_SPLIT:
            val_scenes = set(auto_val_scenes([mat.scenes[i] for i in train], val_seed))
        elif val_split is not None:
            val_scenes = set(read_val_scenes(val_split, mat.scenes))
        if val_split is not None:
            moved = [i for i in train if mat.scenes[i] in val_scenes]
            in_train = {mat.scenes[i] for i in moved}
            not_train = sorted(val_scenes - in_train)
            if not_train:
                raise NYUv2FormatError(
                    val_split, f"scene '{not_train[0]}' has no train image "
                    '(only train images can move to val)')
            split_of.update({int(i): 'val' for i in moved})
        indices = sorted(split_of)
        for i in indices:
            if mat.scene_types[i] not in SCENE_CLASSES:
                raise NYUv2FormatError(
                    mat.path, f"unknown scene type '{mat.scene_types[i]}' of "
                    f'image {i} (not one of the {len(SCENE_CLASSES)} '
                    'SCENE_CLASSES)')
        if normals_dir is not None:
            normals_dir = os.fspath(normals_dir)
            NormalsDir(normals_dir, mat.height, mat.width).check(indices)
        height, width, names = mat.height, mat.width, mat.names
        scene_types, scenes = mat.scene_types, mat.scenes

    splits = ['train', 'val', 'test'] if val_split is not None else ['train', 'test']
    entries = {s: [] for s in splits}
    anns = {s: [] for s in splits}
    subdirs = ('images', 'depth', 'normals', 'normal_masks', 'seg', 'annotations')
    with atomic_output_dir(out, subdirs, overwrite) as tmp:
        converter = _ImageConverter(
            os.fspath(mat_path), normals_dir, tmp, class_ids, names, height, width)
        ann_id = 0
        # closed (its workers stopped) before the temporary folder is removed on an error
        with closing(map_in_order(converter, indices, nproc)) as boxes:
            for i, image_boxes in tqdm(
                    zip(indices, boxes),
                    total=len(indices),
                    desc='NYUv2',
                    unit='img',
                    disable=not progress):
                name = f'{i:04d}.png'
                split = split_of[i]
                entries[split].append({
                    'id': i + 1,
                    'file_name': name,
                    'height': height,
                    'width': width,
                    'nyu_index': i,
                    'scene': scene_types[i],
                    'scene_id': SCENE_CLASSES.index(scene_types[i]),
                    'scene_name': scenes[i],
                    'depth_file': name,
                    'normal_file': name,
                    'normal_mask_file': name,
                    'seg_map_file': name
                })
                for cat, inst, box in image_boxes:
                    ann_id += 1
                    anns[split].append({
                        'id': ann_id,
                        'image_id': i + 1,
                        'category_id': cat,
                        'bbox': box,
                        'area': box[2] * box[3],
                        'iscrowd': 0,
                        'nyu_instance': inst
                    })
        source = 'normals_gt' if normals_dir is not None else 'computed from depths'
        for split in splits:
            with open(osp.join(tmp, 'annotations', f'nyuv2_{split}.json'), 'w') as fh:
                json.dump(_coco(entries[split], anns[split], split, source), fh)
        if val_split == AUTO_VAL_SPLIT:
            with open(osp.join(tmp, 'annotations', AUTO_VAL_FILE), 'w') as fh:
                fh.write(f'# --val-split auto, --val-seed {val_seed}: whole scenes, '
                         f'{len(entries["val"])} of the train images\n')
                fh.write(''.join(f'{name}\n' for name in sorted(val_scenes)))
    counts = {}
    for split in splits:
        counts[split] = len(entries[split])
        counts[f'{split}_boxes'] = len(anns[split])
    return counts
