"""Loading of boxes plus the auxiliary depth / normal / scene labels."""
from typing import Tuple

import cv2
import mmcv
import numpy as np
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS
from mmengine.fileio import get

from mmrock_data.converters.errors import DataFormatError

# normal PNG value v -> 2v/255 - 1 by the decoding's float32 operations (a table: the same values),
# its negation (a flipped axis), its square, and per mask value what makes |n| infinite when invalid
NORMAL_LUT = np.arange(256).astype(np.float32) * (2. / 255.) - 1.
SIGNED_NORMAL_LUTS = {1: NORMAL_LUT, -1: -NORMAL_LUT}
NORMAL_SQUARE_LUT = NORMAL_LUT * NORMAL_LUT
INVALID_TO_INF_LUT = np.where(np.arange(256) == 0, np.inf, 0).astype(np.float32)


def decode_depth(code: np.ndarray, depth_scale: float) -> np.ndarray:
    """Depth image ``code`` (H, W) (units of 1 / ``depth_scale`` m, 0 = invalid) -> float32
    metres, 0 where invalid (0, negative or non-finite).

    Args:
        code (np.ndarray): Depth image (H, W), e.g. the 16-bit PNG's uint16 values.
        depth_scale (float): Units per metre (1000: millimetres).

    Returns:
        np.ndarray: Depth (H, W) float32, metres, 0 where invalid.
    """
    depth = code.astype(np.float32) / depth_scale
    if code.dtype.kind in 'ui':  # finite and non-negative already
        return depth
    return np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)


def decode_normals(code: np.ndarray,
                   signs: Tuple[int, int, int] = (1, 1, 1),
                   z_scale: float = 1.) -> np.ndarray:
    """Normal PNG + mask ``code`` (H, W, 4) uint8 (RGB: v = 2c/255 - 1; A: 0 = invalid) ->
    unit normals (3, H, W) float32, the zero vector where invalid: ``u / np.linalg.norm(u)``
    with u = (v_x, v_y, v_z * z_scale) * signs (zooms and flips; see ``zoom_dense``). Every
    code's v is longer than sqrt(3) / 255: no division by about 0. Per channel plane, the
    values, their squares and the mask's infinite length (x / inf = 0) are read from tables:
    few passes over the pixels. With ``z_scale`` 1, the float32 values of the formula.

    Args:
        code (np.ndarray): Normal PNG's RGB + mask (H, W, 4) uint8.
        signs (tuple[int]): Signs (+-1) of (x, y, z) (flips). Defaults to (1, 1, 1).
        z_scale (float): Factor of z before normalising (the product of the zooms).
            Defaults to 1.

    Returns:
        np.ndarray: Unit normals (3, H, W) float32, the zero vector where invalid.
    """
    h, w = code.shape[:2]
    channels = cv2.split(np.ascontiguousarray(code))
    luts = [SIGNED_NORMAL_LUTS[sign] for sign in signs]
    square_luts = [NORMAL_SQUARE_LUT] * 3
    if z_scale != 1:
        luts[2] = luts[2] * np.float32(z_scale)
        square_luts[2] = luts[2] * luts[2]
    planes = np.empty((3, h, w), np.float32)
    for c in range(3):
        cv2.LUT(channels[c], luts[c], dst=planes[c])
    norm, square = np.empty((h, w), np.float32), np.empty((h, w), np.float32)
    cv2.LUT(channels[0], square_luts[0], dst=norm)
    for c in (1, 2):
        norm += cv2.LUT(channels[c], square_luts[c], dst=square)
    norm += cv2.LUT(channels[3], INVALID_TO_INF_LUT, dst=square)
    planes /= np.sqrt(norm, out=norm)
    return planes


@TRANSFORMS.register_module()
class LoadMultiTaskAnnotations(LoadAnnotations):
    """Load mmdet's annotations plus depth, surface normals and scene label.

    Extends :class:`mmdet.datasets.transforms.LoadAnnotations` with the three
    auxiliary labels of ROCK. A label whose path / id is absent from the data
    info is missing for this sample: its key is not added.

    Added Keys:

    - gt_depth (np.float32, (H, W)): metres, 0 where invalid (0 in the PNG,
      negative or non-finite).
    - gt_normals (np.float32, (H, W, 3)): unit vectors (x right, y down,
      z forward); the zero vector where the mask is 0 or the vector is null.
    - gt_scene_label (int): index in ``scene_classes``.
    - dense_codes (dict): instead of gt_depth / gt_normals when
      ``decode_dense=False``.
    - dense_labels_at_ori_shape (bool): True when loaded after the image was
      resized (test pipelines): the dense labels keep the original size.

    Args:
        with_depth (bool): Load ``depth_path``. Defaults to True.
        with_normals (bool): Load ``normal_path`` (and ``normal_mask_path``
            when given). Defaults to True.
        with_scene (bool): Load ``scene_label``. Defaults to True.
        depth_scale (float): PNG units per metre. Defaults to 1000 (mm).
        decode_dense (bool): Decode depth and normals into ``gt_depth`` /
            ``gt_normals``. False: keep them as ``dense_codes`` (dict:
            ``depth`` uint16 (H, W), ``normals`` uint8 (H, W, 4) = normal PNG's
            RGB + mask (255 without mask file), ``depth_scale``) for
            :class:`FusedGeometry`, which decodes them once, at the output
            size. Defaults to True.
        **kwargs: See :class:`mmdet.datasets.transforms.LoadAnnotations`.
    """

    stock_type = 'LoadAnnotations'

    def __init__(self,
                 with_depth: bool = True,
                 with_normals: bool = True,
                 with_scene: bool = True,
                 depth_scale: float = 1000.,
                 decode_dense: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.decode_dense = decode_dense
        self.with_depth = with_depth
        self.with_normals = with_normals
        self.with_scene = with_scene
        self.depth_scale = depth_scale

    def _read(self, path: str, flag: str) -> np.ndarray:
        """Decode the image file at ``path`` (RGB when in colour)."""
        return mmcv.imfrombytes(
            get(path, backend_args=self.backend_args),
            flag=flag,
            channel_order='rgb',
            backend=self.imdecode_backend)

    def _read_label(self, results: dict, key: str, flag: str, what: str) -> np.ndarray:
        """Decode the ``what`` label file ``results[key]``; :class:`DataFormatError` (one
        line naming the file) when it is not an image of the loaded image's size."""
        path = results[key]
        label = self._read(path, flag)
        if label is None:
            raise DataFormatError(path, f'{what} is not a readable image')
        hw = results.get('ori_shape')
        if hw is not None and tuple(label.shape[:2]) != tuple(hw[:2]):
            raise DataFormatError(
                path, f'{what} is {label.shape[1]}x{label.shape[0]}, its '
                f'image {hw[1]}x{hw[0]} (W x H)')
        if what == 'depth PNG' and label.ndim != 2:
            raise DataFormatError(
                path, f'depth PNG has {label.shape[2]} channels, expected '
                '1 (16-bit millimetres)')
        return label

    def _read_codes(self, results: dict) -> dict:
        """The undecoded dense labels of the sample (see ``dense_codes`` above)."""
        codes = {}
        if self.with_depth and results.get('depth_path') is not None:
            codes['depth'] = self._read_label(results, 'depth_path', 'unchanged', 'depth PNG')
        if self.with_normals and results.get('normal_path') is not None:
            rgb = self._read_label(results, 'normal_path', 'color', 'normals PNG')
            mask = (
                self._read_label(results, 'normal_mask_path', 'grayscale', 'normal mask PNG')
                if results.get('normal_mask_path') is not None else np.full(
                    rgb.shape[:2], 255, np.uint8))
            codes['normals'] = np.dstack([rgb, mask])
        return codes

    def transform(self, results: dict) -> dict:
        """Load boxes/labels (mmdet) and the available auxiliary labels.

        Args:
            results (dict): The data info (``depth_path``, ``normal_path``,
                ``normal_mask_path``, ``scene_label`` when available).

        Returns:
            dict: ``results`` with the loaded labels (see Added Keys above).
        """
        results = super().transform(results)
        shape, ori = results.get('img_shape'), results.get('ori_shape')
        results['dense_labels_at_ori_shape'] = (
            shape is not None and ori is not None and tuple(shape[:2]) != tuple(ori[:2]))
        codes = self._read_codes(results)
        if not self.decode_dense:
            results['dense_codes'] = dict(codes, depth_scale=self.depth_scale)
        elif 'depth' in codes:
            results['gt_depth'] = decode_depth(codes['depth'], self.depth_scale)
        if self.decode_dense and 'normals' in codes:
            results['gt_normals'] = decode_normals(codes['normals']).transpose(1, 2, 0)
        if self.with_scene and results.get('scene_label') is not None:
            results['gt_scene_label'] = int(results['scene_label'])
        return results

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, with_depth={self.with_depth}, '
                f'with_normals={self.with_normals}, '
                f'with_scene={self.with_scene}, '
                f'depth_scale={self.depth_scale}, '
                f'decode_dense={self.decode_dense})')
