"""A synthetic NYUv2 of ``num`` images: rooms, viewpoints, the scene-wise split, and the files."""
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np

from ...nyuv2_meta import IMAGE_HW
from ..output_dir import sigterm_raises
from .mat_writer import NYUv2MatWriter, write_normals_png, write_splits_mat
from .render import render_image
from .scene import Camera, Room
from .scenes import sample_room, sample_view

# What a given seed produces: bumped whenever the rooms change, so that tools reusing generated
# rooms can tell stale ones (1: 8 scene types; 2: all 27, integer split indices, gap-free ids).
ROOMS_VERSION = 2
MAT_NAME = 'nyu_depth_v2_labeled.mat'
SPLITS_NAME = 'splits.mat'
NORMALS_DIR = 'normals_gt'
VAL_SPLIT_NAME = 'val_scenes.txt'


def _plan(num: int, seed: int, forced: Dict[int, Tuple[Room, Camera]]):
    """[(room, [(image index, camera)])] covering images 0..num-1."""
    rooms, i, k = [], 0, 0
    while i < num:
        if i in forced:
            room, camera = forced[i]
            rooms.append((room, [(i, camera)]))
            i += 1
            continue
        rng = np.random.default_rng((seed, k))
        k += 1
        room, camera = sample_room(rng)
        views = [(i, camera)]
        i += 1
        for _ in range(int(rng.integers(0, 3))):
            if i >= num or i in forced:
                break
            views.append((i, sample_view(rng, room, camera)))
            i += 1
        rooms.append((room, views))
    return rooms


def make_synthetic_nyuv2(out_dir,
                         num: int,
                         seed: int = 0,
                         height: int = IMAGE_HW[0],
                         width: int = IMAGE_HW[1],
                         forced_layouts: Optional[Dict[int, Tuple[Room, Camera]]] = None,
                         train_fraction: float = 0.55,
                         val_fraction: float = 0.15,
                         progress: bool = True) -> dict:
    """Write a synthetic NYUv2 (official layout) of ``num`` images into ``out_dir``.

    Args:
        out_dir (str | os.PathLike): The folder.
        num (int): Number of images.
        seed (int): Seed of the rooms. Defaults to 0.
        height (int): Image height. Defaults to 480.
        width (int): Image width. Defaults to 640.
        forced_layouts (dict[int, tuple[Room, Camera]], optional): {image index: (Room,
            Camera)} rendered instead of random rooms (each as a scene of its own); the other
            rooms do not change.
        train_fraction (float): Share of images in trainNdxs (whole scenes; the rest in
            testNdxs). Defaults to 0.55.
        val_fraction (float): Share of train scenes listed in ``val_scenes.txt``. Defaults to
            0.15.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: The written paths (``mat``, ``splits``, ``normals``, ``val_split``) and
        ``scene_types``, ``scenes`` (per image), ``train``, ``test`` (0-based indices),
        ``val_scenes``.
    """
    from tqdm import tqdm
    if num < 1:
        raise ValueError('num must be >= 1')
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    forced = dict(forced_layouts or {})
    rooms = _plan(num, seed, forced)
    counters: Dict[str, int] = {}
    scene_names = []
    for room, _ in rooms:
        counters[room.scene_type] = counters.get(room.scene_type, 0) + 1
        scene_names.append(f'{room.scene_type}_{counters[room.scene_type]:04d}')

    split_rng = np.random.default_rng((seed, 7919))
    order = split_rng.permutation(len(rooms))
    train_rooms, count = set(), 0
    for r in order:
        if count >= train_fraction * num:
            break
        train_rooms.add(int(r))
        count += len(rooms[r][1])
    if len(rooms) > 1 and len(train_rooms) == len(rooms):
        train_rooms.discard(int(order[-1]))
    train = sorted(i for r in train_rooms for i, _ in rooms[r][1])
    test = sorted(i for r in range(len(rooms)) if r not in train_rooms for i, _ in rooms[r][1])
    train_scene_list = sorted(scene_names[r] for r in train_rooms)
    n_val = int(round(val_fraction * len(train_scene_list)))
    if len(train_scene_list) > 1:
        n_val = min(max(n_val, 1), len(train_scene_list) - 1)
    val_scenes = sorted(split_rng.choice(train_scene_list, n_val, replace=False).tolist()) \
        if n_val else []

    mat_path = osp.join(out_dir, MAT_NAME)
    normals_root = osp.join(out_dir, NORMALS_DIR)
    scene_types, scenes = [None] * num, [None] * num
    part_path = mat_path + '.part'
    bar = tqdm(total=num, desc='synthetic NYUv2', unit='img', disable=not progress)
    with sigterm_raises():  # SIGTERM removes the partial .mat too
        try:
            with NYUv2MatWriter(part_path, num, height, width) as writer:
                for r, (room, views) in enumerate(rooms):
                    for i, camera in views:
                        img = render_image(room, camera, height, width,
                                           np.random.default_rng((seed, 1_000_003, i)))
                        writer.write(i, img['rgb'], img['depth'], img['raw_depth'], img['labels'],
                                     img['instances'], room.scene_type, scene_names[r])
                        write_normals_png(normals_root, i, img['normals'], img['normal_mask'])
                        scene_types[i], scenes[i] = room.scene_type, scene_names[r]
                        bar.update(1)
            os.replace(part_path, mat_path)
        except BaseException:
            if osp.exists(part_path):
                os.unlink(part_path)
            raise
        finally:
            bar.close()
    splits_path = osp.join(out_dir, SPLITS_NAME)
    write_splits_mat(splits_path, train, test)
    val_path = osp.join(out_dir, VAL_SPLIT_NAME)
    with open(val_path, 'w') as fh:
        fh.write(''.join(f'{name}\n' for name in val_scenes))
    return {
        'mat': mat_path,
        'splits': splits_path,
        'normals': normals_root,
        'val_split': val_path,
        'scene_types': scene_types,
        'scenes': scenes,
        'train': train,
        'test': test,
        'val_scenes': val_scenes
    }
