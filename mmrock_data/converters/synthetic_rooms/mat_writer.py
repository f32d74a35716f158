"""Writing the official NYUv2 files: ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3), ``splits.mat``
(MATLAB v5) and the ``normals_gt`` PNGs."""
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np

from ...nyuv2_meta import NAME_INDEX, NUM_NAMES
from ..nyuv2_mat import encode_normals, save_png


def default_names() -> List[str]:
    """The .mat's class names.

    Returns:
        list[str]: The 894 ``names``: NAME_INDEX's classes at their real positions,
        ``name_XXX`` elsewhere.
    """
    names = [f'name_{i:03d}' for i in range(1, NUM_NAMES + 1)]
    for name, index in NAME_INDEX.items():
        names[index - 1] = name
    return names


def _matlab_header() -> bytes:
    text = ('MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 '
            'HDF5 schema 1.00 .').ljust(116).encode('ascii')
    return text + b' ' * 8 + b'\x00\x02' + b'IM'


class NYUv2MatWriter:
    """Writes a ``nyu_depth_v2_labeled.mat`` image by image (the real file's v7.3 layout).

    ``write(i, ...)`` takes (H, W) / (H, W, 3) arrays and stores them transposed as MATLAB does;
    the string cell arrays and the MATLAB userblock header are written by ``close()``.

    Args:
        path (str | os.PathLike): The .mat file.
        num (int): Number of images.
        height (int): Image height.
        width (int): Image width.
        names (Sequence[str], optional): Class names. Defaults to :func:`default_names`.
        compression (int, optional): gzip level, None for none. Defaults to 1.
    """

    def __init__(self,
                 path,
                 num: int,
                 height: int,
                 width: int,
                 names: Optional[Sequence[str]] = None,
                 compression: Optional[int] = 1) -> None:
        import h5py
        self.path, self.num = os.fspath(path), num
        self.names = list(default_names() if names is None else names)
        self.scene_types: List[Optional[str]] = [None] * num
        self.scenes: List[Optional[str]] = [None] * num
        self._f = h5py.File(self.path, 'w', userblock_size=512)
        kw = dict(compression='gzip', compression_opts=compression) if compression else {}
        self._ds = {}
        for name, shape, dtype, mclass in (('images', (num, 3, width, height), np.uint8, 'uint8'),
                                           ('depths', (num, width, height), np.float32, 'single'),
                                           ('rawDepths', (num, width, height), np.float32,
                                            'single'), ('labels', (num, width, height), np.uint16,
                                                        'uint16'),
                                           ('instances', (num, width, height), np.uint8, 'uint8')):
            chunks = (1, ) + shape[1:] if num else None
            ds = self._f.create_dataset(
                name, shape, dtype, chunks=chunks, shuffle=bool(kw) and dtype != np.uint8, **kw)
            ds.attrs['MATLAB_class'] = np.bytes_(mclass)
            self._ds[name] = ds
        self._refs = self._f.create_group('#refs#')
        self._nref = 0

    def write(self, index: int, rgb, depth, raw_depth, labels, instances, scene_type: str,
              scene: str) -> None:
        """Store one image.

        Args:
            index (int): 0-based image index.
            rgb (np.ndarray): (H, W, 3) uint8 RGB.
            depth (np.ndarray): (H, W) depth, metres.
            raw_depth (np.ndarray): (H, W) raw depth, metres.
            labels (np.ndarray): (H, W) labels (1-based indices into ``names``, 0 unlabeled).
            instances (np.ndarray): (H, W) instance numbers within each label.
            scene_type (str): The scene type (``sceneTypes``).
            scene (str): The scene name (``scenes``).
        """
        self._ds['images'][index] = np.asarray(rgb, np.uint8).transpose(2, 1, 0)
        self._ds['depths'][index] = np.asarray(depth, np.float32).T
        self._ds['rawDepths'][index] = np.asarray(raw_depth, np.float32).T
        self._ds['labels'][index] = np.asarray(labels, np.uint16).T
        self._ds['instances'][index] = np.asarray(instances, np.uint8).T
        self.scene_types[index], self.scenes[index] = scene_type, scene

    def _string_ref(self, text: str):
        self._nref += 1
        codes = np.array([ord(ch) for ch in text], np.uint16).reshape(-1, 1)
        ds = self._refs.create_dataset(f'r{self._nref}', data=codes)
        ds.attrs['MATLAB_class'] = np.bytes_('char')
        ds.attrs['MATLAB_int_decode'] = np.int32(2)
        return ds.ref

    def _cell(self, name: str, strings: Sequence[str]) -> None:
        import h5py
        refs = np.empty((1, len(strings)), dtype=h5py.ref_dtype)
        for j, text in enumerate(strings):
            refs[0, j] = self._string_ref(text)
        ds = self._f.create_dataset(name, data=refs, dtype=h5py.ref_dtype)
        ds.attrs['MATLAB_class'] = np.bytes_('cell')

    def close(self) -> None:
        """Write the string cell arrays and the MATLAB header, and close the file.

        Raises:
            ValueError: An image was never written.
        """
        if self._f is None:
            return
        missing = [i for i, s in enumerate(self.scenes) if s is None]
        if missing:
            self._f.close()
            self._f = None
            raise ValueError(f'{self.path}: image {missing[0]} was never written')
        self._cell('names', self.names)
        self._cell('sceneTypes', self.scene_types)
        self._cell('scenes', self.scenes)
        self._f.close()
        self._f = None
        with open(self.path, 'r+b') as fh:
            fh.write(_matlab_header())

    def __enter__(self) -> 'NYUv2MatWriter':
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        elif self._f is not None:
            self._f.close()
            self._f = None


def write_splits_mat(path, train: Sequence[int], test: Sequence[int]) -> None:
    """Write ``splits.mat`` (MATLAB v5): 1-based integer (K, 1) column vectors, so that readers
    can index with them as loaded.

    Args:
        path (str | os.PathLike): The file.
        train (Sequence[int]): 0-based train indices.
        test (Sequence[int]): 0-based test indices.
    """
    import scipy.io
    train, test = np.asarray(train, np.int64) + 1, np.asarray(test, np.int64) + 1
    dtype = np.uint16 if max(train.max(initial=0), test.max(initial=0)) < 2**16 else np.uint32
    scipy.io.savemat(
        os.fspath(path), {
            'trainNdxs': train.astype(dtype).reshape(-1, 1),
            'testNdxs': test.astype(dtype).reshape(-1, 1)
        })


def write_normals_png(root, index: int, normals: np.ndarray, mask: np.ndarray) -> None:
    """Write ``root/normals/NNNN.png`` and ``root/masks/NNNN.png`` (normals_gt's layout).

    Args:
        root (str | os.PathLike): The ``normals_gt`` folder.
        index (int): 0-based image index.
        normals (np.ndarray): (H, W, 3) unit normals.
        mask (np.ndarray): (H, W) bool valid mask.
    """
    for sub in ('normals', 'masks'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    name = f'{index:04d}.png'
    save_png(osp.join(root, 'normals', name), encode_normals(normals, mask))
    save_png(osp.join(root, 'masks', name), np.where(mask, 255, 0).astype(np.uint8))
