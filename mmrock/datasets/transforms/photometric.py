"""Krizhevsky et al.'s PCA lighting noise (not in mmdet)."""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.registry import TRANSFORMS
from numpy import random


def unflipped_contiguous(img: np.ndarray) -> np.ndarray:
    """``img`` (H, W, C) as a C-contiguous array; a flipped view of a contiguous array (what
    FusedGeometry's flips return) is flipped back by cv2 (SIMD), anything else copied.

    Args:
        img (np.ndarray): Image of shape (H, W, C).

    Returns:
        np.ndarray: The same values (H, W, C), C-contiguous: ``img`` itself when it is.
    """
    if img.flags.c_contiguous:
        return img
    base = img[::-1 if img.strides[0] < 0 else 1, ::-1 if img.strides[1] < 0 else 1]
    if base.flags.c_contiguous:
        return cv2.flip(base, {
            (True, False): 0,
            (False, True): 1,
            (True, True): -1
        }[(img.strides[0] < 0, img.strides[1] < 0)])
    return np.ascontiguousarray(img)


@TRANSFORMS.register_module()
class PCALighting(BaseTransform):
    """Add ``eigvec @ (alpha * eigval)`` to every pixel, alpha ~ N(0, std).

    Principal components of ImageNet's RGB pixels (values in [0, 1]; scaled
    by 255 here). Changes the image only; the output image is float32, an
    (H, W, 3) view of (3, H, W) memory.

    Required Keys: img (H, W, 3). Modified Keys: img.

    Args:
        std (float): Standard deviation of alpha. Defaults to 0.1.
        channel_order (str): 'bgr' (mmcv's loading default) or 'rgb'.
    """

    keeps_pixels = True
    EIGVAL = np.array([0.2175, 0.0188, 0.0045])
    # columns are the eigenvectors; rows are R, G, B
    EIGVEC = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                       [-0.5836, -0.6948, 0.4203]])

    def __init__(self, std: float = 0.1, channel_order: str = 'bgr') -> None:
        assert channel_order in ('bgr', 'rgb')
        self.std = std
        self.channel_order = channel_order

    @cache_randomness
    def _random_alpha(self) -> np.ndarray:
        return random.normal(0, self.std, 3)

    def transform(self, results: dict) -> dict:
        """Shift all pixels by the same random colour offset.

        Args:
            results (dict): The sample, with ``img`` (H, W, 3).

        Returns:
            dict: ``results`` with ``img`` float32 (H, W, 3), a view of (3, H, W) memory.
        """
        shift = 255. * self.EIGVEC @ (self._random_alpha() * self.EIGVAL)
        if self.channel_order == 'bgr':
            shift = shift[::-1]
        img = results['img']
        shift = shift.astype(np.float32)
        # the same float32 sums, written as (3, H, W) memory so that packing the image (C, H, W)
        # copies nothing
        planes = np.empty((img.shape[2], ) + img.shape[:2], np.float32)
        if img.dtype == np.float32:
            # cv2.split into the planes, then contiguous adds: 2-3x the speed of strided adds
            split = cv2.split(unflipped_contiguous(img), list(planes))
            assert all(a.ctypes.data == b.ctypes.data for a, b in zip(split, planes))
            planes += shift[:, None, None]
        else:
            for c in range(img.shape[2]):
                np.add(img[..., c], shift[c], out=planes[c], dtype=np.float32)
        results['img'] = planes.transpose(1, 2, 0)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(std={self.std}, '
                f"channel_order='{self.channel_order}')")
