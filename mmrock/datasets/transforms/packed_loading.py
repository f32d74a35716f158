"""Loading from a decode-free pack (:mod:`mmrock.datasets.packed_split`) instead of PNGs."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from ..packed_split import open_pack
from .loading import LoadMultiTaskAnnotations


def _entry(results: dict):
    if results.get('pack_dir') is None:
        raise ValueError(f"{results.get('img_path')}: no pack to load from (give the dataset "
                         "pack='...', written by tools/dataset_converters/pack_split.py)")
    pack = open_pack(results['pack_dir'])
    return pack, pack.entry(results['img_id'], results['img_path'])


@TRANSFORMS.register_module()
class LoadPackedImage(BaseTransform):
    """``LoadImageFromFile`` (BGR uint8, or float32 with ``to_float32``) from the dataset's pack
    (``pack_dir`` and ``img_id`` of the data info): the same array, copied out of the mapped
    file without decoding.

    Added Keys: img, img_shape, ori_shape.

    Args:
        to_float32 (bool): Convert the image to float32. Defaults to False.
    """

    keeps_pixels = True

    def __init__(self, to_float32: bool = False) -> None:
        self.to_float32 = to_float32

    def transform(self, results: dict) -> dict:
        """Copy the sample's image out of the pack.

        Args:
            results (dict): The data info (``pack_dir``, ``img_id``, ``img_path``).

        Returns:
            dict: ``results`` with ``img`` (H, W, 3), ``img_shape`` and ``ori_shape`` (H, W).
        """
        pack, entry = _entry(results)
        img = pack.get(entry, 'images')
        results['img'] = img.astype(np.float32) if self.to_float32 else np.array(img)
        results['img_shape'] = results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(to_float32={self.to_float32})'


@TRANSFORMS.register_module()
class LoadPackedMultiTaskAnnotations(LoadMultiTaskAnnotations):
    """:class:`LoadMultiTaskAnnotations` (same args and keys) reading depth, normals and, with
    ``with_seg``, the seg map from the dataset's pack instead of PNGs: the same arrays. With
    ``decode_dense=False`` the codes are read-only views of the mapped file (only
    :class:`FusedGeometry` reads them).

    Args:
        with_seg (bool): Read ``gt_seg_map`` from the pack (mmdet's file loader is not used).
            Defaults to False.
        **kwargs: See :class:`LoadMultiTaskAnnotations`.
    """

    def __init__(self, with_seg: bool = False, **kwargs) -> None:
        super().__init__(with_seg=False, **kwargs)
        self.with_packed_seg = with_seg

    def transform(self, results: dict) -> dict:
        """Load as :class:`LoadMultiTaskAnnotations` does, then the seg map from the pack.

        Args:
            results (dict): The data info (``pack_dir``, ``img_id``, ``img_path``, ...).

        Returns:
            dict: ``results`` with the loaded labels, and with ``with_seg`` ``gt_seg_map``
            (H, W) and ``ignore_index``.
        """
        results = super().transform(results)
        if self.with_packed_seg and results.get('seg_map_path') is not None:
            pack, entry = _entry(results)
            seg = pack.get(entry, 'seg')
            if seg is None:
                raise ValueError(f'{pack.pack_dir}: holds no seg map of {results["img_path"]} '
                                 '(packed before seg maps?): re-run '
                                 'tools/dataset_converters/pack_split.py')
            results['gt_seg_map'] = np.array(seg)
            results['ignore_index'] = self.ignore_index
        return results

    def _read_codes(self, results: dict) -> dict:
        pack, entry = _entry(results)
        codes = {}
        for name, wanted in (('depth', self.with_depth), ('normals', self.with_normals)):
            code = pack.get(entry, name) if wanted else None
            if code is not None:
                codes[name] = code
        return codes
