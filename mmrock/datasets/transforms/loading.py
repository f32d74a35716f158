"""Loading of boxes plus the auxiliary depth / normal / scene labels."""
import mmcv
import numpy as np
from mmengine.fileio import get

from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS

from ..converters.errors import DataFormatError


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
    - dense_labels_at_ori_shape (bool): True when loaded after the image was
      resized (test pipelines): the dense labels keep the original size.

    Args:
        with_depth (bool): Load ``depth_path``. Defaults to True.
        with_normals (bool): Load ``normal_path`` (and ``normal_mask_path``
            when given). Defaults to True.
        with_scene (bool): Load ``scene_label``. Defaults to True.
        depth_scale (float): PNG units per metre. Defaults to 1000 (mm).
        **kwargs: See :class:`mmdet.datasets.transforms.LoadAnnotations`.
    """

    def __init__(self,
                 with_depth: bool = True,
                 with_normals: bool = True,
                 with_scene: bool = True,
                 depth_scale: float = 1000.,
                 **kwargs) -> None:
        super().__init__(**kwargs)
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
            raise DataFormatError(path, f'{what} is {label.shape[1]}x{label.shape[0]}, its '
                                   f'image {hw[1]}x{hw[0]} (W x H)')
        if what == 'depth PNG' and label.ndim != 2:
            raise DataFormatError(path, f'depth PNG has {label.shape[2]} channels, expected '
                                   '1 (16-bit millimetres)')
        return label

    def _load_depth(self, results: dict) -> None:
        """Load ``gt_depth`` (H, W) in metres, 0 = invalid."""
        depth = self._read_label(results, 'depth_path', 'unchanged', 'depth PNG')
        depth = depth.astype(np.float32) / self.depth_scale
        valid = np.isfinite(depth) & (depth > 0)
        results['gt_depth'] = np.where(valid, depth, 0).astype(np.float32)

    def _load_normals(self, results: dict) -> None:
        """Load ``gt_normals`` (H, W, 3): n = 2v/255 - 1, renormalised; the
        mask PNG (non-zero = valid) is folded in as zero vectors."""
        normals = self._read_label(results, 'normal_path', 'color', 'normals PNG')
        normals = normals.astype(np.float32) * (2. / 255.) - 1.
        norm = np.linalg.norm(normals, axis=-1, keepdims=True)
        valid = norm > 1e-6
        if results.get('normal_mask_path') is not None:
            mask = self._read_label(results, 'normal_mask_path', 'grayscale',
                                    'normal mask PNG')
            valid &= mask[..., None] > 0
        results['gt_normals'] = np.where(valid, normals / np.maximum(norm, 1e-6),
                                         0).astype(np.float32)

    def transform(self, results: dict) -> dict:
        """Load boxes/labels (mmdet) and the available auxiliary labels."""
        results = super().transform(results)
        shape, ori = results.get('img_shape'), results.get('ori_shape')
        results['dense_labels_at_ori_shape'] = (
            shape is not None and ori is not None and tuple(shape[:2]) != tuple(ori[:2]))
        if self.with_depth and results.get('depth_path') is not None:
            self._load_depth(results)
        if self.with_normals and results.get('normal_path') is not None:
            self._load_normals(results)
        if self.with_scene and results.get('scene_label') is not None:
            results['gt_scene_label'] = int(results['scene_label'])
        return results

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, with_depth={self.with_depth}, '
                f'with_normals={self.with_normals}, '
                f'with_scene={self.with_scene}, '
                f'depth_scale={self.depth_scale})')
