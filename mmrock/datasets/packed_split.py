"""Decode-free storage of a split: its images and dense labels as memory-mapped arrays.

A pack is a folder (written next to the PNG layout, which stays the reference) holding

- ``images.npy`` uint8: each image's BGR pixels (H, W, 3), as ``LoadImageFromFile`` decodes it;
- ``depth.npy`` uint16: each depth PNG (H, W), undecoded (units of the dataset's depth scale);
- ``normals.npy`` uint8: each normal PNG's RGB plus its mask as A (255 without a mask file),
  (H, W, 4): the ``dense_codes`` of ``LoadMultiTaskAnnotations(decode_dense=False)``;
- ``seg.npy`` uint8: each seg map (H, W), as ``LoadAnnotations(with_seg=True)`` decodes it (absent
  from packs written before seg maps: their entries have no ``seg``);
- ``index.json``: per COCO image id, its file name, size and offsets (items) in each array
  (null: label missing for that image).

The arrays are flat (images of any sizes); readers map them read-only, per process, and copy
nothing but what a sample uses.
"""
import json
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np

from mmrock_data.converters.errors import DataFormatError
from mmrock_data.converters.output_dir import absolute_out_dir, atomic_output_dir

FORMAT = 'mmrock-packed-split'
VERSION = 1
# array -> (dtype, channels)
ARRAYS = {
    'images': (np.uint8, 3),
    'depth': (np.uint16, 1),
    'normals': (np.uint8, 4),
    'seg': (np.uint8, 1)
}


def pack_split(ann_file: str,
               out_dir: str,
               data_root: str = '',
               data_prefix: Optional[dict] = None,
               overwrite: bool = False,
               progress: bool = True) -> int:
    """Pack a split into a folder. Every file is decoded by the pipeline's own loaders (same
    arrays, same checks).

    Args:
        ann_file (str): The split's COCO json (a converted dataset, as
            :class:`MultiTaskCocoDataset` reads it).
        out_dir (str): The pack folder to write.
        data_root (str): Root of the PNGs. Defaults to ''.
        data_prefix (dict, optional): Folders of the images and dense labels, as
            :class:`MultiTaskCocoDataset` takes them. Defaults to None (the converters' layout).
        overwrite (bool): Replace an existing ``out_dir``. Defaults to False.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        int: The number of images.

    Raises:
        DataFormatError: a missing or malformed file (one line naming it); nothing is written.
        ConversionError: ``out_dir`` exists and not ``overwrite``.
    """
    from mmcv.transforms import LoadImageFromFile

    from .multitask_coco import MultiTaskCocoDataset
    from .transforms.loading import LoadMultiTaskAnnotations
    out = absolute_out_dir(out_dir, overwrite)
    dataset = MultiTaskCocoDataset(
        ann_file=ann_file, data_root=data_root, data_prefix=data_prefix, filter_cfg=None)
    load_img = LoadImageFromFile()
    load_codes = LoadMultiTaskAnnotations(
        with_bbox=False, with_scene=False, with_seg=True, decode_dense=False)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    sizes = {name: 0 for name in ARRAYS}
    entries = []
    for info in infos:
        entry = dict(
            id=info['img_id'],
            file_name=osp.basename(info['img_path']),
            height=info['height'],
            width=info['width'])
        has = dict(
            images=True,
            depth=info.get('depth_path') is not None,
            normals=info.get('normal_path') is not None,
            seg=info.get('seg_map_path') is not None)
        for name, (_, channels) in ARRAYS.items():
            entry[name] = sizes[name] if has[name] else None
            sizes[name] += has[name] * info['height'] * info['width'] * channels
        entries.append(entry)
    with atomic_output_dir(out, (), overwrite) as tmp:
        arrays = {
            name:
            np.lib.format.open_memmap(osp.join(tmp, f'{name}.npy'), 'w+', dtype, (sizes[name], ))
            for name, (dtype, _) in ARRAYS.items()
        }
        for info, entry in zip(_progress(infos, progress), entries):
            try:
                results = load_codes(load_img(dict(info)))
            except OSError as exc:  # a file missing or unreadable (not the pack being written)
                raise DataFormatError(exc.filename or info['img_path'],
                                      f'cannot be read ({exc.strerror or exc})') from exc
            got = dict(
                images=results['img'], seg=results.get('gt_seg_map'), **results['dense_codes'])
            hw = (entry['height'], entry['width'])
            if got['images'].shape[:2] != hw:
                raise DataFormatError(
                    info['img_path'], f'is {got["images"].shape[1]}x'
                    f'{got["images"].shape[0]}, {ann_file} says '
                    f'{hw[1]}x{hw[0]} (W x H)')
            for name, (dtype, _) in ARRAYS.items():
                if entry[name] is not None:
                    if name == 'depth' and got[name].dtype.kind not in 'u':
                        raise DataFormatError(
                            info['depth_path'], f'depth PNG of type {got[name].dtype}, '
                            'expected unsigned integers')
                    if name == 'seg' and got[name].shape != hw:
                        raise DataFormatError(
                            info['seg_map_path'], f'seg map of shape {got[name].shape}, '
                            f'expected {hw} (one 8-bit channel of the image\'s size)')
                    flat = got[name].astype(dtype, copy=False).reshape(-1)
                    arrays[name][entry[name]:entry[name] + flat.size] = flat
        for array in arrays.values():
            array.flush()
        del arrays
        with open(osp.join(tmp, 'index.json'), 'w') as f:
            json.dump(
                dict(
                    format=FORMAT, version=VERSION, ann_file=osp.basename(ann_file),
                    images=entries), f)
    return len(entries)


def _progress(items, enabled: bool):
    if not enabled:
        return items
    from tqdm import tqdm
    return tqdm(items, desc='packing', unit='img')


class PackedSplit:
    """Read-only access to a pack (see the module). Arrays are memory-mapped on first use.

    Args:
        pack_dir (str): The pack folder.
    """

    def __init__(self, pack_dir: str) -> None:
        self.pack_dir = pack_dir
        index_file = osp.join(pack_dir, 'index.json')
        try:
            with open(index_file) as f:
                index = json.load(f)
            if index.get('format') != FORMAT or index.get('version') != VERSION:
                raise ValueError(f'not a {FORMAT} version {VERSION} index')
            self.entries = {e['id']: e for e in index['images']}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataFormatError(
                index_file, f'not a readable pack index ({exc}); write the '
                'pack with tools/dataset_converters/pack_split.py') from exc
        self._arrays: Dict[str, np.ndarray] = {}

    def _array(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            path = osp.join(self.pack_dir, f'{name}.npy')
            try:
                self._arrays[name] = np.load(path, mmap_mode='r')
            except (OSError, ValueError) as exc:
                raise DataFormatError(path, f'cannot be memory-mapped ({exc})') from exc
        return self._arrays[name]

    def entry(self, img_id, img_path: str) -> dict:
        """The index entry of an image.

        Args:
            img_id (int): The COCO image id.
            img_path (str): The image's path (its file name must match the entry's).

        Returns:
            dict: The entry (``file_name``, ``height``, ``width`` and each array's offset).

        Raises:
            DataFormatError: Absent, or of another file (a pack of another annotation file).
        """
        entry = self.entries.get(img_id)
        if entry is None or osp.basename(img_path) != entry['file_name']:
            raise DataFormatError(
                self.pack_dir, f'holds no image {img_id} ({img_path}): '
                'packed from another annotation file? Re-run '
                'tools/dataset_converters/pack_split.py')
        return entry

    def get(self, entry: dict, name: str) -> Optional[np.ndarray]:
        """One array of an image.

        Args:
            entry (dict): The image's entry (:meth:`entry`).
            name (str): ``'images'``, ``'depth'``, ``'normals'`` or ``'seg'``.

        Returns:
            np.ndarray | None: A read-only view of the mapped file, (H, W, 3) uint8 images,
            (H, W) uint16 depth, (H, W, 4) uint8 normals or (H, W) uint8 seg; None when that
            label is missing for the image (or the pack predates it).
        """
        offset = entry.get(name)
        if offset is None:
            return None
        channels = ARRAYS[name][1]
        shape = (entry['height'], entry['width']) + ((channels, ) if channels > 1 else ())
        return self._array(name)[offset:offset + int(np.prod(shape))].reshape(shape)


PACKED_LOADERS = frozenset({'LoadPackedImage', 'LoadPackedMultiTaskAnnotations'})


def reads_pack(dataset: dict) -> bool:
    """Whether a dataset config reads its split's pack.

    Args:
        dataset (dict): A dataset config.

    Returns:
        bool: True when a ``pack`` folder is set and its pipeline loads from it
        (``LoadPackedImage`` / ``LoadPackedMultiTaskAnnotations``).
    """
    return bool(dataset.get('pack')) and any(
        str(t.get('type', '')).split('.')[-1] in PACKED_LOADERS
        for t in dataset.get('pipeline') or [] if isinstance(t, dict))


def pack_problem(dataset: dict) -> Optional[str]:
    """Why the pack a dataset config reads cannot serve it.

    Args:
        dataset (dict): A dataset config.

    Returns:
        str | None: One line naming the file (no pack, an unreadable index, or one of other
        images than the config's ``ann_file``); None when it serves (or the config reads none).
    """
    if not reads_pack(dataset):
        return None
    root = dataset.get('data_root') or ''
    pack_dir = osp.join(root, dataset['pack'])
    ann_file = osp.join(root, dataset['ann_file'])
    if not osp.isfile(osp.join(pack_dir, 'index.json')):
        return f'{osp.join(pack_dir, "index.json")}: no pack of {ann_file}'
    try:
        entries = PackedSplit(pack_dir).entries
        with open(ann_file) as f:
            images = json.load(f)['images']
    except DataFormatError as exc:
        return str(exc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f'{ann_file}: not a readable annotation file ({exc})'
    held = sum(1 for image in images if image['id'] in entries
               and osp.basename(image['file_name']) == entries[image['id']]['file_name'])
    if held < len(images):
        return (f'{pack_dir}: holds {held} of the {len(images)} images of {ann_file} (packed '
                'from another conversion?)')
    return None


_OPEN: Dict[tuple, PackedSplit] = {}


def open_pack(pack_dir: str) -> PackedSplit:
    """The pack of a folder, opened once per process (each dataloader worker maps the files
    itself).

    Args:
        pack_dir (str): The pack folder.

    Returns:
        PackedSplit: The pack.
    """
    key = (os.getpid(), pack_dir)
    if key not in _OPEN:
        _OPEN[key] = PackedSplit(pack_dir)
    return _OPEN[key]
