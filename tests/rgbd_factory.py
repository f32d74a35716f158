"""A tiny RGB-D detection dataset in the user's own format (COCO json, image folder, depth PNGs
in millimetres, a scene CSV), as ``coco_rgbd.py`` takes it."""
import json
from pathlib import Path

import numpy as np
from PIL import Image

INTRINSICS = (80., 80., 39.5, 31.5)  # fx, fy, cx, cy of the 64x80 frames
CLASSES = ('cube', 'ball')
SCENES = ('lab', 'office')


def plane_depth(hw, normal, offset, intrinsics=INTRINSICS) -> np.ndarray:
    """Depth (H, W) in metres of the plane ``normal . P = offset`` seen by the pinhole camera."""
    fx, fy, cx, cy = intrinsics
    v, u = np.mgrid[0:hw[0], 0:hw[1]].astype(np.float64)
    rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], -1)
    return offset / (rays @ np.asarray(normal, np.float64))


def make_rgbd_source(root: Path, num: int = 6, hw=(64, 80), seed: int = 0) -> dict:
    """``root/{images,depth}/NNN.{jpg,png}``, ``root/train.json`` and ``root/scenes.csv``: a
    slanted wall (depth from a plane) with one box-shaped object 1 m away per image."""
    rng = np.random.RandomState(seed)
    (root / 'images').mkdir(parents=True)
    (root / 'depth').mkdir()
    images, anns = [], []
    for i in range(num):
        name = f'{i:03d}.png'
        normal = np.array([0.3 * rng.uniform(-1, 1), -0.2, -1.])
        depth = plane_depth(hw, normal / np.linalg.norm(normal), -3.)
        x, y = rng.randint(5, hw[1] // 2), rng.randint(5, hw[0] // 2)
        w, h = rng.randint(15, hw[1] // 2), rng.randint(15, hw[0] // 2)
        depth[y:y + h, x:x + w] = 1.
        img = rng.randint(0, 255, hw + (3, ), dtype=np.uint8)
        img[y:y + h, x:x + w] = (200, 40 + 100 * (i % 2), 40)
        Image.fromarray(img).save(root / 'images' / name)
        Image.fromarray(np.rint(depth * 1000).astype(np.uint16)).save(root / 'depth' / name)
        images.append(dict(id=100 + i, file_name=name, height=hw[0], width=hw[1]))
        anns.append(
            dict(
                id=i + 1,
                image_id=100 + i,
                category_id=1 + i % 2,
                bbox=[x, y, w, h],
                area=w * h,
                iscrowd=0))
    coco = dict(
        images=images,
        annotations=anns,
        categories=[dict(id=k + 1, name=n) for k, n in enumerate(CLASSES)])
    (root / 'train.json').write_text(json.dumps(coco))
    (root / 'scenes.csv').write_text('image_id,scene\n' + ''.join(f'{100 + i},{SCENES[i % 2]}\n'
                                                                  for i in range(num)))
    return coco
