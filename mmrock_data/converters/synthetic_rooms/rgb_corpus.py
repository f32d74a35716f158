"""An RGB-only detection corpus of synthetic rooms, for pretraining a backbone (an ImageNet
stand-in): images and boxes of the 19 detection classes in a COCO json, nothing else.

The rooms come from the same generator as the synthetic NYUv2 but from another seed's room
streams (room k of seed s is drawn from ``np.random.default_rng((s, k))``), so a corpus of seed
s != 0 shares no room with the demo's and the ablation's rooms (seed 0). No depth, normals or
scene label is written: whatever trains on the corpus cannot see ROCK's auxiliary signals.
"""
import json
import os
import os.path as osp

import numpy as np

from ...nyuv2_meta import DETECTION_CLASSES, NAME_INDEX
from ..nyuv2_mat import instance_boxes, save_png
from ..output_dir import absolute_out_dir, atomic_output_dir
from .generate import _plan
from .render import render

ANNOTATION_FILE = 'annotations.json'
IMAGE_DIR = 'images'


def make_rgb_corpus(out_dir,
                    num: int,
                    seed: int,
                    height: int = 240,
                    width: int = 320,
                    overwrite: bool = False,
                    progress: bool = True) -> dict:
    """Render ``num`` synthetic room images and write them with their boxes.

    Writes ``out_dir/images/NNNNNN.png`` (H, W, 3 RGB) and ``out_dir/annotations.json`` (COCO:
    ``images``, ``annotations`` with ``bbox`` [x, y, w, h] and ``category_id`` 1..19,
    ``categories``). The folder appears complete or not at all.

    Args:
        out_dir (str | os.PathLike): The folder.
        num (int): Number of images (1-3 viewpoints per room, as in the synthetic NYUv2).
        seed (int): Seed of the room streams; the demo's rooms are seed 0.
        height (int): Image height. Defaults to 240.
        width (int): Image width. Defaults to 320.
        overwrite (bool): Replace an existing ``out_dir``. Defaults to False.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: ``images`` and ``boxes`` counts, ``annotations`` (the json's path).
    """
    from tqdm import tqdm
    if num < 1:
        raise ValueError('num must be >= 1')
    out = absolute_out_dir(out_dir, overwrite)
    class_ids = [[NAME_INDEX[name]] for name in DETECTION_CLASSES]
    images, annotations = [], []
    with atomic_output_dir(out, [IMAGE_DIR], overwrite) as tmp:
        bar = tqdm(total=num, desc='RGB corpus', unit='img', disable=not progress)
        for room, views in _plan(num, seed, {}):
            for i, camera in views:
                # the image noise of image i: another stream than the synthetic NYUv2's
                img = render(room, camera, height, width, np.random.default_rng((seed, 2, i)))
                name = f'{i:06d}.png'
                save_png(osp.join(tmp, IMAGE_DIR, name), img['rgb'])
                images.append(dict(id=i, file_name=name, height=height, width=width))
                for category, _, box in instance_boxes(img['labels'], img['instances'], class_ids):
                    annotations.append(
                        dict(
                            id=len(annotations) + 1,
                            image_id=i,
                            category_id=category,
                            bbox=box,
                            area=box[2] * box[3],
                            iscrowd=0))
                bar.update(1)
        bar.close()
        coco = dict(
            info=dict(description=f'synthetic rooms, RGB and boxes only (seed {seed})'),
            images=sorted(images, key=lambda im: im['id']),
            annotations=annotations,
            categories=[dict(id=k + 1, name=name) for k, name in enumerate(DETECTION_CLASSES)])
        with open(osp.join(tmp, ANNOTATION_FILE), 'w') as f:
            json.dump(coco, f)
    return dict(
        images=len(images), boxes=len(annotations), annotations=os.path.join(out, ANNOTATION_FILE))
