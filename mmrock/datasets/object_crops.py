"""Object crops of a COCO-format detection set, as an image classification task: each box, with
some context, is one example of its category; windows that overlap no box are examples of an
extra ``background`` class (walls, floor, unlabelled clutter).

Reads only the json's ``images`` (``file_name``), ``annotations`` (``bbox``, ``category_id``,
``iscrowd``) and ``categories``, and the RGB images: nothing else (no depth, normals or scene
label), whatever else the set carries.
"""
import json
import os.path as osp
from typing import List

import cv2
import numpy as np

BACKGROUND = 'background'


class CropsError(ValueError):
    """The corpus cannot be read; the message (one line) names the file and the problem."""


def _iou_with(window: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x0, y0, x1, y1) window with (N, 4) boxes."""
    if not len(boxes):
        return np.zeros(0)
    ix = np.clip(np.minimum(window[2], boxes[:, 2]) - np.maximum(window[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(window[3], boxes[:, 3]) - np.maximum(window[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (window[2] - window[0]) * (window[3] - window[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + areas - inter)


class ObjectCrops:
    """All crops of a COCO-format set, in memory.

    Each box (x, y, w, h) is enlarged by ``context`` about its centre, clipped to the image and
    resized (aspect not kept, as SSD warps its inputs) to ``size`` x ``size``; per image,
    ``background_per_image`` random windows (sides 10-50 % of the image's, IoU < 0.3 with every
    box, including crowd ones) are crops of the background class.

    Args:
        ann_file (str): COCO json.
        img_dir (str): Folder the ``file_name`` s are relative to.
        size (int): Side of the stored crops (pixels).
        context (float): Box enlargement factor (1 = the tight box).
        min_box (int): Boxes whose shorter side is smaller (pixels) are skipped.
        background_per_image (int): Background windows drawn per image.
        seed (int): Seed of the background windows.
        progress (bool): Show a progress bar. Defaults to True.

    Attributes:
        crops (np.ndarray): (N, size, size, 3) uint8 RGB.
        labels (np.ndarray): (N, ) int64, 0..K-1 the categories in json order, K background.
        image_index (np.ndarray): (N, ) int64, position in the json's ``images`` of each crop.
        classes (list[str]): K category names, then ``'background'``.
    """

    def __init__(self,
                 ann_file: str,
                 img_dir: str,
                 size: int = 64,
                 context: float = 1.25,
                 min_box: int = 8,
                 background_per_image: int = 1,
                 seed: int = 0,
                 progress: bool = True) -> None:
        from tqdm import tqdm
        coco = self._read_json(ann_file)
        categories = coco['categories']
        cat_index = {c['id']: k for k, c in enumerate(categories)}
        self.classes: List[str] = [c['name'] for c in categories] + [BACKGROUND]
        per_image = {im['id']: [] for im in coco['images']}
        for ann in coco['annotations']:
            if ann.get('image_id') not in per_image:
                raise CropsError(f'{ann_file}: annotation {ann.get("id")} refers to image '
                                 f'{ann.get("image_id")}, which is not in "images"')
            if ann.get('category_id') not in cat_index:
                raise CropsError(f'{ann_file}: annotation {ann.get("id")} has category_id '
                                 f'{ann.get("category_id")}, which is not in "categories"')
            per_image[ann['image_id']].append(ann)
        rng = np.random.default_rng(seed)
        crops, labels, image_index = [], [], []
        for i, im in enumerate(
                tqdm(coco['images'], desc='object crops', unit='img', disable=not progress)):
            path = osp.join(img_dir, im['file_name'])
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is None:
                raise CropsError(f'{path}: cannot be read as an image')
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            h, w = rgb.shape[:2]
            anns = per_image[im['id']]
            boxes = np.array([[
                a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]
            ] for a in anns], np.float64)
            for ann, box in zip(anns, boxes):
                if ann.get('iscrowd', 0) or min(ann['bbox'][2], ann['bbox'][3]) < min_box:
                    continue
                crops.append(self._crop(rgb, box, context, size))
                labels.append(cat_index[ann['category_id']])
                image_index.append(i)
            for window in self._background_windows(rng, h, w, boxes, background_per_image):
                crops.append(self._crop(rgb, window, 1.0, size))
                labels.append(len(categories))
                image_index.append(i)
        if not crops:
            raise CropsError(f'{ann_file}: no box of at least {min_box} pixels and no '
                             'background window: nothing to train on')
        self.crops = np.stack(crops)
        self.labels = np.asarray(labels, np.int64)
        self.image_index = np.asarray(image_index, np.int64)

    @staticmethod
    def _read_json(ann_file: str) -> dict:
        try:
            with open(ann_file) as f:
                coco = json.load(f)
        except (OSError, ValueError) as exc:
            raise CropsError(f'{ann_file}: cannot be read as json ({exc})') from exc
        missing = [k for k in ('images', 'annotations', 'categories') if k not in coco]
        if missing:
            raise CropsError(f'{ann_file}: no "{missing[0]}" list (a COCO detection json needs '
                             '"images", "annotations" and "categories")')
        return coco

    @staticmethod
    def _crop(rgb: np.ndarray, box: np.ndarray, context: float, size: int) -> np.ndarray:
        """(size, size, 3) crop of ``box`` (x0, y0, x1, y1) enlarged by ``context``."""
        h, w = rgb.shape[:2]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        bw, bh = (box[2] - box[0]) * context, (box[3] - box[1]) * context
        x0, x1 = int(max(0, round(cx - bw / 2))), int(min(w, round(cx + bw / 2)))
        y0, y1 = int(max(0, round(cy - bh / 2))), int(min(h, round(cy + bh / 2)))
        x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
        return cv2.resize(rgb[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)

    @staticmethod
    def _background_windows(rng: np.random.Generator,
                            h: int,
                            w: int,
                            boxes: np.ndarray,
                            count: int,
                            tries: int = 20) -> List[np.ndarray]:
        windows = []
        for _ in range(count):
            for _ in range(tries):
                ww, wh = rng.uniform(0.1, 0.5) * w, rng.uniform(0.1, 0.5) * h
                x0, y0 = rng.uniform(0, w - ww), rng.uniform(0, h - wh)
                window = np.array([x0, y0, x0 + ww, y0 + wh])
                if not len(boxes) or _iou_with(window, boxes).max() < 0.3:
                    windows.append(window)
                    break
        return windows

    def split(self, val_fraction: float, seed: int = 0) -> tuple:
        """Split the crops by whole images, so that no image has crops on both sides.

        Args:
            val_fraction (float): Fraction of the images for validation.
            seed (int): Seed of the draw. Defaults to 0.

        Returns:
            tuple[np.ndarray, np.ndarray]: (train indices, val indices) of the crops.
        """
        num_images = int(self.image_index.max()) + 1
        rng = np.random.default_rng(seed)
        num_val = int(round(val_fraction * num_images))
        val_images = rng.permutation(num_images)[:num_val]
        is_val = np.isin(self.image_index, val_images)
        return np.flatnonzero(~is_val), np.flatnonzero(is_val)
