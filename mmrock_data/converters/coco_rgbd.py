"""Conversion of your own RGB-D detection data (COCO json + depth images) into the folder that
:class:`MultiTaskCocoDataset` reads.

Inputs: one or more COCO json files (``images`` with id, file_name, width, height;
``annotations``, each of an image and a category of the file; ``categories``), the folder of the
images they name (stored upright: no EXIF orientation tag other than 1), a folder of depth
images (``<file_name stem>.png``, 16-bit one channel — 8-bit too when allowed —, ``depth_scale``
units per metre, 0 = invalid), optionally
a folder of normal PNGs of the same names (RGB, n = 2 v / 255 - 1; (128, 128, 128) = invalid) —
else normals are computed from the depth with the camera ``intrinsics`` (fx, fy, cx, cy in
pixels of the image) — and optionally a CSV of scene labels (``image_id,scene`` a row, a header
row allowed; images absent from it have no scene label).

Output layout under ``out_dir`` (NAME = the image's file_name, STEM = it without extension)::

    images/NAME              the image file, copied as is
    depth/STEM.png           uint16, millimetres, 0 = invalid
    normals/STEM.png         uint8 RGB, v = round((n + 1) / 2 * 255)
    normal_masks/STEM.png    uint8, 255 = valid normal
    annotations/<json name>  the input json, each image entry with depth_file, normal_file,
                             normal_mask_file (+ scene, scene_id with a CSV), top-level
                             scene_classes (the CSV's scene names, sorted)

As the NYUv2 converter: every check that needs no pixel data runs before anything is written,
images are streamed one at a time (memory of one image a process; ``nproc`` worker processes
write them), output goes to a temporary folder renamed to ``out_dir`` at the end and removed on
any failure; a bad input raises :class:`DataFormatError`, one line ``<file>: <problem>``.
"""
import csv
import json
import math
import os
import os.path as osp
import shutil
from collections.abc import Hashable
from contextlib import closing
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from .errors import ConversionError, DataFormatError
from .nyuv2_mat import (decode_rgb_normals, encode_depth_mm, encode_normals, normals_from_depth,
                        save_png)
from .output_dir import absolute_out_dir, atomic_output_dir
from .parallel import map_in_order

EXIF_ORIENTATION = 0x0112  # the EXIF tag; 1 = stored upright
DEPTH_MODES = {
    'L': '8-bit',
    '1': '1-bit',
    'P': 'a palette image',
    'I': '32-bit integer',
    'F': '32-bit float'
}  # Pillow modes of one-channel images, named


def _read_coco(path: str) -> dict:
    """The json at ``path`` with its images (id, file_name, width, height) and annotations
    (:func:`_check_annotations`) checked."""
    try:
        with open(path) as fh:
            coco = json.load(fh)
    except OSError as exc:
        raise DataFormatError(path, f'cannot read ({exc.strerror})')
    except ValueError as exc:
        raise DataFormatError(path, f'not JSON ({exc})')
    if not isinstance(coco, dict) or not isinstance(coco.get('images'), list):
        raise DataFormatError(path, "not a COCO annotation file (no 'images' list)")
    for img in coco['images']:
        if not (isinstance(img, dict) and isinstance(img.get('file_name'), str)
                and all(isinstance(img.get(k), int) for k in ('id', 'width', 'height'))):
            raise DataFormatError(
                path, f'image entry {img!r:.80} lacks an int id, width, '
                'height or a file_name')
    _check_annotations(path, coco)
    return coco


def _check_annotations(path: str, coco: dict) -> None:
    """Every annotation names an image and a category of the file (mmdet's ``CocoDataset``
    drops the others without a word)."""
    categories = [c.get('id') for c in coco.get('categories') or [] if isinstance(c, dict)]
    category_ids = {c for c in categories if isinstance(c, Hashable)}
    image_ids = {img['id'] for img in coco['images']}
    known = ', '.join(map(str, categories[:20])) + (', ...' if len(categories) > 20 else '')
    for ann in coco.get('annotations') or []:
        if not isinstance(ann, dict):
            raise DataFormatError(path, f'annotation {ann!r:.80} is not an object')
        where = f"annotation {ann.get('id')!r} of image {ann.get('image_id')!r}"
        image_id, category_id = ann.get('image_id'), ann.get('category_id')
        if not isinstance(image_id, Hashable) or image_id not in image_ids:
            raise DataFormatError(path, f'{where}: image_id is not among the images')
        if not isinstance(category_id, Hashable) or category_id not in category_ids:
            raise DataFormatError(
                path, f"{where}: category_id {category_id!r} is not "
                f"among the categories' ids ({known or 'none'})")


def _read_scenes(path: str, image_ids: set) -> Dict[int, str]:
    """``{image_id: scene name}`` of a CSV ``image_id,scene`` (optional header row)."""
    scenes = {}
    try:
        with open(path, newline='') as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise DataFormatError(path, f'cannot read ({exc.strerror})')
    for line, row in enumerate(rows, 1):
        if not row or (line == 1 and not row[0].strip().lstrip('-').isdigit()):
            continue  # blank line, header
        if len(row) != 2 or not row[0].strip().lstrip('-').isdigit() or not row[1].strip():
            raise DataFormatError(path, f'line {line}: expected "image_id,scene", got {row!r}')
        image_id = int(row[0])
        if image_id not in image_ids:
            raise DataFormatError(
                path, f'line {line}: unknown image id {image_id} (not in the '
                'COCO json files)')
        scenes[image_id] = row[1].strip()
    return scenes


def _stem_png(file_name: str) -> str:
    return osp.splitext(file_name)[0] + '.png'


def _check_exists(folder: str, name: str, what: str) -> str:
    path = osp.join(folder, name)
    if not osp.isfile(path):
        raise DataFormatError(path, f'{what} not found')
    return path


def _read_depth(path: str, hw: Tuple[int, int], scale: float, allow_8bit: bool) -> np.ndarray:
    """Depth in metres (H, W) float64, 0 = invalid, from a 16-bit single-channel image (8-bit
    too with ``allow_8bit``): an 8-bit depth among 16-bit ones would be read in the same units,
    e.g. 75..197 mm for what is 1.5..4 m."""
    try:
        with Image.open(path) as im:
            mode = im.mode
            raw = np.asarray(im)
    except OSError as exc:
        raise DataFormatError(path, f'not a readable image ({exc})')
    if raw.ndim != 2:
        raise DataFormatError(path, f'depth image has {raw.shape[2]} channels, expected 1')
    if not (mode.startswith('I;16') or (allow_8bit and mode == 'L')):
        kind = DEPTH_MODES.get(mode, f'of mode {mode}')
        raise DataFormatError(
            path, f'depth image is {kind}, expected 16-bit single-channel '
            f'({scale:g} units per metre)' +
            (' (pass --allow-8bit-depth if its 8-bit values are in those '
             'units)' if mode == 'L' else ''))
    if raw.shape != tuple(hw):
        raise DataFormatError(
            path, f'depth is {raw.shape[1]}x{raw.shape[0]}, its image '
            f'{hw[1]}x{hw[0]} (W x H)')
    depth = raw.astype(np.float64) / scale
    return np.where(np.isfinite(depth) & (depth > 0), depth, 0.)


def _read_normals(path: str, hw: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """(encoded uint8 normals (H, W, 3), valid mask (H, W)) of a normal PNG."""
    try:
        with Image.open(path) as im:
            png = np.asarray(im.convert('RGB'))
    except OSError as exc:
        raise DataFormatError(path, f'not a readable image ({exc})')
    if png.shape[:2] != tuple(hw):
        raise DataFormatError(
            path, f'normals are {png.shape[1]}x{png.shape[0]}, its image '
            f'{hw[1]}x{hw[0]} (W x H)')
    mask = np.linalg.norm(decode_rgb_normals(png), axis=-1) > 0.5
    return encode_normals(decode_rgb_normals(png), mask), mask


def _image_hw(path: str, entry: dict) -> Tuple[int, int]:
    """(H, W) of the image file, checked against its json entry."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(EXIF_ORIENTATION, 1)
    except OSError as exc:
        raise DataFormatError(path, f'not a readable image ({exc})')
    if orientation != 1:
        raise DataFormatError(
            path, f'EXIF orientation {orientation}: OpenCV, which mmdet loads '
            'images with, rotates or mirrors it on reading, so its pixels would '
            'no longer match its size, boxes and depth; store it upright '
            'without the tag (its boxes and depth to match), or remove the tag '
            'if they refer to the stored pixels')
    if (h, w) != (entry['height'], entry['width']):
        raise DataFormatError(
            path, f'image is {w}x{h}, its json entry says '
            f"{entry['width']}x{entry['height']} (W x H)")
    return h, w


class _ImageWriter:
    """Writes one image's files into ``out`` (copy, depth, normals, mask) and returns the
    json fields naming them. Picklable, for worker processes."""

    def __init__(self, images_dir: str, depth_dir: str, depth_scale: float,
                 normals_dir: Optional[str], intrinsics: Optional[Sequence[float]], out: str,
                 allow_8bit_depth: bool) -> None:
        self.images_dir, self.depth_dir, self.depth_scale = images_dir, depth_dir, depth_scale
        self.normals_dir, self.intrinsics, self.out = normals_dir, intrinsics, out
        self.allow_8bit_depth = allow_8bit_depth

    def __call__(self, img: dict) -> dict:
        name = img['file_name']
        src = osp.join(self.images_dir, name)
        hw = _image_hw(src, img)
        for sub in ('images', 'depth', 'normals', 'normal_masks'):
            os.makedirs(osp.join(self.out, sub, osp.dirname(name)), exist_ok=True)
        shutil.copyfile(src, osp.join(self.out, 'images', name))
        png = _stem_png(name)
        depth = _read_depth(
            osp.join(self.depth_dir, png), hw, self.depth_scale, self.allow_8bit_depth)
        save_png(osp.join(self.out, 'depth', png), encode_depth_mm(depth))
        if self.normals_dir is None:
            normals, mask = normals_from_depth(depth, self.intrinsics)
            normals = encode_normals(normals, mask)
        else:
            normals, mask = _read_normals(osp.join(self.normals_dir, png), hw)
        save_png(osp.join(self.out, 'normals', png), normals)
        save_png(osp.join(self.out, 'normal_masks', png), np.where(mask, 255, 0).astype(np.uint8))
        return dict(depth_file=png, normal_file=png, normal_mask_file=png)


def convert_coco_rgbd(coco_jsons: Sequence[str],
                      images_dir: str,
                      depth_dir: str,
                      depth_scale: float,
                      out_dir: str,
                      normals_dir: Optional[str] = None,
                      intrinsics: Optional[Sequence[float]] = None,
                      scenes_csv: Optional[str] = None,
                      overwrite: bool = False,
                      nproc: int = 1,
                      progress: bool = True,
                      allow_8bit_depth: bool = False) -> Dict[str, int]:
    """Convert COCO json(s) + depth (+ normals, scenes) into ``out_dir`` (layout in the module
    docstring).

    Args:
        coco_jsons: COCO annotation files (e.g. a train and a val split of the same images
            folder); each gives ``annotations/<its name>``.
        images_dir: folder of the images' ``file_name``.
        depth_dir: folder of the depth images, ``<file_name stem>.png``.
        depth_scale: depth image units per metre (1000: millimetres); > 0.
        out_dir: output folder; an existing one is an error unless ``overwrite``.
        normals_dir: folder of normal PNGs ``<stem>.png``; without it normals are computed from
            the depth with ``intrinsics``.
        intrinsics: (fx, fy, cx, cy) in pixels, needed without ``normals_dir``.
        scenes_csv: CSV of ``image_id,scene`` rows.
        overwrite: replace an existing ``out_dir`` (only once the new one is complete).
        nproc: worker processes writing images (1: in this process).
        progress: show a tqdm progress bar (stderr).
        allow_8bit_depth: accept 8-bit depth images too (in ``depth_scale`` units); by default
            a depth image that is not 16-bit single-channel is an error.

    Returns:
        ``{<json name>: images, <json name>_boxes: boxes}``.

    Raises:
        DataFormatError: a bad input; ConversionError: ``out_dir`` exists or cannot be written,
            or the arguments do not fit together.
    """
    from tqdm import tqdm
    if not (isinstance(depth_scale,
                       (int, float)) and math.isfinite(depth_scale) and depth_scale > 0):
        raise ConversionError(f'--depth-scale {depth_scale!r}: must be a positive number of '
                              'depth units per metre (e.g. 1000 for millimetres)')
    if normals_dir is None and (intrinsics is None or len(intrinsics) != 4
                                or not all(math.isfinite(v)
                                           for v in intrinsics) or min(intrinsics[:2]) <= 0):
        raise ConversionError('normals: give --normals DIR, or --intrinsics FX FY CX CY (pixels, '
                              'fx, fy > 0) to compute them from the depth')
    out = absolute_out_dir(out_dir, overwrite)
    cocos = [(path, _read_coco(path)) for path in coco_jsons]
    names = [osp.basename(path) for path, _ in cocos]
    if len(set(names)) != len(names):
        raise ConversionError(f'COCO json files must have distinct names, got {names}')
    entries = {}  # file_name -> image entry (an image shared by two files is converted once)
    for _, coco in cocos:
        for img in coco['images']:
            entries.setdefault(img['file_name'], img)
    for name in entries:
        _check_exists(images_dir, name, 'image')
        _check_exists(depth_dir, _stem_png(name), 'depth image')
        if normals_dir is not None:
            _check_exists(normals_dir, _stem_png(name), 'normal image')
    scenes, scene_classes = {}, []
    if scenes_csv is not None:
        scenes = _read_scenes(scenes_csv, {img['id'] for img in entries.values()})
        scene_classes = sorted(set(scenes.values()))

    subdirs = ('images', 'depth', 'normals', 'normal_masks', 'annotations')
    with atomic_output_dir(out, subdirs, overwrite) as tmp:
        writer = _ImageWriter(images_dir, depth_dir, depth_scale, normals_dir, intrinsics, tmp,
                              allow_8bit_depth)
        added = {}
        # closed (its workers stopped) before the temporary folder is removed on an error
        with closing(map_in_order(writer, entries.values(), nproc)) as written:
            for img, files in tqdm(
                    zip(entries.values(), written),
                    total=len(entries),
                    desc='COCO RGB-D',
                    unit='img',
                    disable=not progress):
                added[img['file_name']] = files
                if img['id'] in scenes:
                    files.update(
                        scene=scenes[img['id']], scene_id=scene_classes.index(scenes[img['id']]))
        counts = {}
        for (path, coco), name in zip(cocos, names):
            coco = dict(
                coco, images=[dict(img, **added[img['file_name']]) for img in coco['images']])
            if scenes_csv is not None:
                coco['scene_classes'] = scene_classes
            with open(osp.join(tmp, 'annotations', name), 'w') as fh:
                json.dump(coco, fh)
            counts[name] = len(coco['images'])
            counts[f'{name}_boxes'] = len(coco.get('annotations') or [])
    return counts
