"""Procedural NYUv2-like indoor rooms, written in the layout of the official NYUv2 files.

:func:`make_synthetic_nyuv2` writes, under ``out_dir``:

- ``nyu_depth_v2_labeled.mat``: MATLAB v7.3 = HDF5 with a 512-byte userblock holding a MATLAB text
  header, and h5py-visible datasets as in the real file: ``images`` (N, 3, W, H) uint8, ``depths``
  and ``rawDepths`` (N, W, H) float32 metres (raw: with Kinect-like holes = 0), ``labels``
  (N, W, H) uint16 (1-based index into ``names``), ``instances`` (N, W, H) uint8, and the cell
  arrays of strings ``names`` (1, 894), ``sceneTypes`` (1, N), ``scenes`` (1, N) as object
  references to uint16 (len, 1) character arrays under ``#refs#``. ``names`` holds the classes of
  nyuv2_meta.NAME_INDEX at their real positions and ``name_XXX`` fillers elsewhere.
- ``splits.mat`` (MATLAB v5): ``trainNdxs`` / ``testNdxs``, 1-based column vectors, about 55/45,
  split by scene (all views of a room on the same side) like the real split.
- ``normals_gt/normals/NNNN.png`` (v = round((n + 1) / 2 * 255), camera frame) and
  ``normals_gt/masks/NNNN.png`` (255 where the raw depth is valid), 0-based NNNN.
- ``val_scenes.txt``: about 15% of the train scenes, for the converter's ``--val-split``.

Each room is a box (floor, 4 walls, ceiling) seen by a Kinect-like pinhole camera (nyuv2_meta's
intrinsics, scaled to the frame) 1.2-1.6 m above the floor, pitched 10-25 degrees down, with a
small yaw / roll. Its furniture is built from cuboids (tables with legs, beds with mattress and
headboard, lamps with a base, pole and shade, monitors and televisions as thin panels on a stand,
...) in class-typical sizes and colours, standing on the floor, against walls or on other furniture
(monitor on a desk, lamp on a night stand, pillows on a bed or sofa, television on a dresser, sink
on a counter, box on a table). The furniture follows the scene type (bedroom, bathroom,
living_room, kitchen, dining_room, office, home_office, bookstore), several classes come twice or
more (instance numbers within the class), and about a third of the rooms put a floor lamp in front
of a wide piece of furniture, which then shows as two fragments of one instance. A room is seen
from 1-3 viewpoints (images sharing the ``scenes`` name).

Rendering is vectorised ray casting (slab test per cuboid, restricted to the cuboid's screen
rectangle): exact z-depth (metres), normals, labels and instances per pixel; RGB = Lambertian
shading (a ceiling point light + a camera fill light + ambient) of per-class base colours with
procedural wood / tile / fabric / screen textures and noise.

Frames: world x east, y north (into the room), z up, the room spans [0, W] x [0, D] x [0, H];
camera frame x right, y down, z forward (optical axis), as in :mod:`.nyuv2_mat`.

Everything is deterministic given ``seed``: room k is drawn from
``np.random.default_rng((seed, k))``.
"""
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..nyuv2_meta import IMAGE_HW, NAME_INDEX, NUM_NAMES, SCENE_CLASSES
from .nyuv2_mat import encode_normals, kinect_intrinsics, save_png

MAT_NAME = 'nyu_depth_v2_labeled.mat'
SPLITS_NAME = 'splits.mat'
NORMALS_DIR = 'normals_gt'
VAL_SPLIT_NAME = 'val_scenes.txt'

SCENE_TYPES = ('bedroom', 'bathroom', 'living_room', 'kitchen', 'dining_room', 'office',
               'home_office', 'bookstore')
assert set(SCENE_TYPES) <= set(SCENE_CLASSES)

TEXTURES = ('plain', 'wood', 'fabric', 'tiles', 'screen', 'emissive')
_TEX = {name: k for k, name in enumerate(TEXTURES)}
_NOISE = np.array([3., 3., 7., 3., 2., 2.], np.float32)  # per-texture noise sigma (0-255)


def default_names() -> List[str]:
    """The 894 ``names``: NAME_INDEX's classes at their real positions, ``name_XXX`` elsewhere."""
    names = [f'name_{i:03d}' for i in range(1, NUM_NAMES + 1)]
    for name, index in NAME_INDEX.items():
        names[index - 1] = name
    return names


# ----------------------------------------------------------------------------------------------
# scene description


@dataclass
class Part:
    """A cuboid of a thing, in the thing's frame: centre (z from the thing's base), half sizes,
    yaw about the vertical relative to the thing, base colour (0-255), texture, and the label name
    (None: the thing's class)."""
    center: Tuple[float, float, float]
    half: Tuple[float, float, float]
    color: Tuple[float, float, float]
    texture: str = 'plain'
    yaw: float = 0.
    label: Optional[str] = None


@dataclass
class Thing:
    """A piece of furniture: parts in its own frame (front = local -y), footprint half sizes
    ``hx, hy``, height, optional top surface ``(z, cx, cy, hx, hy)`` that can hold other things,
    and its pose (x, y of the base centre, base height z, yaw)."""
    cls: str
    parts: List[Part]
    hx: float
    hy: float
    height: float
    top: Optional[Tuple[float, float, float, float, float]] = None
    clearance: float = 0.   # free floor kept in front (doors)
    x: float = 0.
    y: float = 0.
    z: float = 0.
    yaw: float = 0.
    instance: int = 1
    children: List['Thing'] = field(default_factory=list)

    def to_world(self, lx, ly, lz=0.):
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return self.x + c * lx - s * ly, self.y + s * lx + c * ly, self.z + lz

    def world_boxes(self):
        """[(centre (3,), half (3,), yaw, part)] in the world frame."""
        out = []
        for p in self.parts:
            cx, cy, cz = self.to_world(*p.center)
            out.append((np.array([cx, cy, cz]), np.array(p.half, float), self.yaw + p.yaw, p))
        return out

    def footprint(self):
        """Oriented floor rectangle (cx, cy, hx, hy, yaw), clearance in front included."""
        cx, cy, _ = self.to_world(0., -self.clearance / 2)
        return cx, cy, self.hx, self.hy + self.clearance / 2, self.yaw


@dataclass
class Room:
    """A box room [0, W] x [0, D] x [0, H] (metres) with its furniture."""
    size: Tuple[float, float, float]
    scene_type: str
    things: List[Thing] = field(default_factory=list)
    wall_color: Tuple[float, float, float] = (215., 210., 200.)
    wall_texture: str = 'plain'
    floor_color: Tuple[float, float, float] = (150., 110., 70.)
    floor_texture: str = 'wood'
    ceiling_color: Tuple[float, float, float] = (240., 240., 238.)
    light: Optional[Tuple[float, float, float]] = None  # default: under the ceiling's centre


@dataclass
class Camera:
    """Pinhole camera at ``position`` (world), yaw (0 = looking north, + toward east), pitch
    (negative = looking down), roll, all in radians."""
    position: Tuple[float, float, float]
    yaw: float = 0.
    pitch: float = -0.3
    roll: float = 0.

    def rotation(self) -> np.ndarray:
        """R (3, 3) whose columns are the camera's x (right), y (down), z (forward) axes in the
        world frame: p_world = position + R @ p_camera."""
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        f = np.array([sy * cp, cy * cp, sp])
        r = np.array([cy, -sy, 0.])
        d = np.cross(f, r)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        return np.stack([cr * r + sr * d, -sr * r + cr * d, f], axis=1)


# ----------------------------------------------------------------------------------------------
# furniture templates (front = local -y, base at z = 0)


def _box(cx, cy, z0, w, d, h, color, texture='plain', yaw=0., label=None) -> Part:
    return Part((cx, cy, z0 + h / 2), (w / 2, d / 2, h / 2), tuple(color), texture, yaw, label)


def _jit(rng, color, amount=12.):
    return tuple(np.clip(np.asarray(color, float) + rng.uniform(-amount, amount, 3), 0, 255))


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


WOODS = [(150, 100, 58), (110, 70, 40), (175, 130, 80), (95, 60, 35)]
METAL = (150, 150, 155)
WHITE = (238, 238, 232)
FABRICS = [(60, 100, 70), (120, 120, 128), (140, 60, 50), (70, 80, 130), (150, 120, 90)]
BEDDING = [(200, 175, 145), (150, 180, 210), (210, 200, 220), (235, 235, 230), (180, 80, 80)]
PILLOWS = [(245, 245, 240), (230, 195, 205), (195, 220, 240), (240, 220, 150)]
BOOKS = [(180, 40, 40), (40, 80, 160), (40, 130, 70), (200, 170, 50), (90, 50, 120),
         (220, 220, 210), (30, 30, 30), (200, 100, 40)]


def _bathtub(rng, **kw):
    w, d, h, t = rng.uniform(1.45, 1.7), rng.uniform(0.7, 0.8), rng.uniform(0.5, 0.58), 0.07
    col = _jit(rng, WHITE, 6)
    parts = [_box(0, 0, 0, w, d, 0.12, col),
             _box(0, -d / 2 + t / 2, 0, w, t, h, col), _box(0, d / 2 - t / 2, 0, w, t, h, col),
             _box(-w / 2 + t / 2, 0, 0, t, d, h, col), _box(w / 2 - t / 2, 0, 0, t, d, h, col)]
    return Thing('bathtub', parts, w / 2, d / 2, h)


def _bed(rng, **kw):
    w = _pick(rng, [0.95, 1.4, 1.6, 1.8]) + rng.uniform(-0.03, 0.03)
    length, fh, mh = rng.uniform(1.95, 2.1), rng.uniform(0.22, 0.3), rng.uniform(0.18, 0.25)
    hb = rng.uniform(0.9, 1.2)
    wood = _jit(rng, _pick(rng, WOODS))
    parts = [_box(0, 0, 0, w, length, fh, wood, 'wood'),
             _box(0, -0.02, fh, w - 0.04, length - 0.08, mh, _jit(rng, _pick(rng, BEDDING)),
                  'fabric'),
             _box(0, length / 2 - 0.03, 0, w + 0.04, 0.06, hb, wood, 'wood')]
    return Thing('bed', parts, w / 2 + 0.02, length / 2, hb,
                 top=(fh + mh, 0, -0.02, w / 2 - 0.04, length / 2 - 0.08))


def _bookshelf(rng, **kw):
    w, d, h, t = rng.uniform(0.8, 1.2), rng.uniform(0.3, 0.38), rng.uniform(1.6, 2.0), 0.025
    wood = _jit(rng, _pick(rng, WOODS))
    parts = [_box(-w / 2 + t / 2, 0, 0, t, d, h, wood, 'wood'),
             _box(w / 2 - t / 2, 0, 0, t, d, h, wood, 'wood'),
             _box(0, 0, h - t, w, d, t, wood, 'wood'), _box(0, 0, 0, w, d, 0.08, wood, 'wood'),
             _box(0, d / 2 - 0.01, 0, w, 0.02, h, _jit(rng, wood, 20), 'wood')]
    n = int(rng.integers(3, 6))
    levels = np.linspace(0.08, h - t, n + 1)
    for z in levels[1:-1]:
        parts.append(_box(0, 0, z, w, d, t, wood, 'wood'))
    for z0, z1 in zip(levels[:-1], levels[1:]):
        z0 = z0 + (t if z0 > 0.08 else 0)
        gap, x = z1 - z0, -w / 2 + t
        while x < w / 2 - t - 0.06:
            bw = min(rng.uniform(0.06, 0.28), w / 2 - t - x)
            if rng.random() < 0.85:
                bd = rng.uniform(0.16, d - 0.04)
                parts.append(_box(x + bw / 2, d / 2 - 0.02 - bd / 2, z0, bw, bd,
                                  gap * rng.uniform(0.55, 0.9), _jit(rng, _pick(rng, BOOKS), 20),
                                  label='book'))
            x += bw
    return Thing('bookshelf', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2 - 0.02, d / 2 - 0.02))


def _cardboard_box(rng, **kw):
    w, d, h = rng.uniform(0.28, 0.6), rng.uniform(0.25, 0.5), rng.uniform(0.2, 0.45)
    parts = [_box(0, 0, 0, w, d, h, _jit(rng, (185, 145, 95), 15))]
    return Thing('box', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2, d / 2))


def _chair(rng, **kw):
    s, sh, bh, leg = rng.uniform(0.42, 0.5), rng.uniform(0.43, 0.48), rng.uniform(0.38, 0.5), 0.035
    col = _jit(rng, _pick(rng, [(170, 40, 40), (60, 60, 70), (140, 95, 55), (40, 90, 150),
                                (200, 200, 195)]))
    legc = _pick(rng, [METAL, tuple(0.7 * np.asarray(col))])
    parts = [_box(sx * (s / 2 - leg / 2), sy * (s / 2 - leg / 2), 0, leg, leg, sh - 0.04, legc)
             for sx in (-1, 1) for sy in (-1, 1)]
    parts += [_box(0, 0, sh - 0.04, s, s, 0.04, col), _box(0, s / 2 - 0.015, sh, s, 0.03, bh, col)]
    return Thing('chair', parts, s / 2, s / 2, sh + bh)


def _counter(rng, **kw):
    w, d, h = rng.uniform(1.2, 2.4), rng.uniform(0.58, 0.65), rng.uniform(0.88, 0.92)
    cab = _jit(rng, _pick(rng, [(225, 225, 215), (120, 85, 50), (90, 100, 110), (170, 190, 170)]))
    top = _jit(rng, _pick(rng, [(70, 70, 75), (180, 175, 165), (40, 40, 45)]), 8)
    parts = [_box(0, 0.05, 0, w - 0.06, d - 0.1, 0.1, (40, 40, 40)),
             _box(0, 0.01, 0.1, w - 0.02, d - 0.02, h - 0.14, cab),
             _box(0, 0, h - 0.04, w, d, 0.04, top, 'fabric')]
    ndoors = max(1, int(w / 0.5))
    dw = (w - 0.04) / ndoors
    front = tuple(np.clip(np.asarray(cab) * 1.08, 0, 255))
    for k in range(ndoors):
        parts.append(_box(-w / 2 + 0.02 + (k + 0.5) * dw, -d / 2 + 0.015, 0.13, dw - 0.015, 0.01,
                          h - 0.2, front))
    return Thing('counter', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2 - 0.03, d / 2 - 0.03))


def _desk(rng, **kw):
    w, d, h = rng.uniform(1.1, 1.6), rng.uniform(0.6, 0.75), rng.uniform(0.72, 0.76)
    col = _jit(rng, _pick(rng, [(190, 150, 100), (235, 235, 230), (60, 60, 65), (160, 110, 65)]))
    parts = [_box(0, 0, h - 0.03, w, d, 0.03, col, 'wood')]
    if rng.random() < 0.5:
        parts += [_box(sx * (w / 2 - 0.05), sy * (d / 2 - 0.05), 0, 0.05, 0.05, h - 0.03, METAL)
                  for sx in (-1, 1) for sy in (-1, 1)]
    else:
        parts += [_box(sx * (w / 2 - 0.015), 0, 0, 0.03, d - 0.04, h - 0.03, col)
                  for sx in (-1, 1)]
    if rng.random() < 0.5:
        side = _pick(rng, [-1, 1])
        parts.append(_box(side * (w / 2 - 0.23), 0, 0.08, 0.4, d - 0.06, h - 0.12,
                          _jit(rng, col, 15)))
    return Thing('desk', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2 - 0.03, d / 2 - 0.03))


def _door(rng, **kw):
    w, h, t = rng.uniform(0.8, 0.92), rng.uniform(2.0, 2.1), 0.04
    wood = _jit(rng, _pick(rng, WOODS + [(200, 170, 120)]))
    trim = _jit(rng, (235, 233, 225), 6)
    side = _pick(rng, [-1, 1])
    parts = [_box(0, 0, 0, w, t, h, wood, 'wood'),
             _box(-w / 2 - 0.035, 0.005, 0, 0.07, 0.03, h + 0.07, trim),
             _box(w / 2 + 0.035, 0.005, 0, 0.07, 0.03, h + 0.07, trim),
             _box(0, 0.005, h, w + 0.14, 0.03, 0.07, trim),
             _box(side * (w / 2 - 0.08), -t / 2 - 0.03, 0.95, 0.05, 0.06, 0.05, (200, 180, 80))]
    return Thing('door', parts, w / 2 + 0.07, t / 2, h + 0.07, clearance=0.6)


def _dresser(rng, **kw):
    w, d, h = rng.uniform(0.8, 1.4), rng.uniform(0.45, 0.55), rng.uniform(0.75, 1.05)
    col = _jit(rng, _pick(rng, [(100, 62, 35), (150, 105, 65), (230, 225, 215), (170, 120, 75)]))
    front = tuple(np.asarray(col) * 0.85)
    parts = [_box(0, 0.02, 0, w - 0.04, d - 0.04, 0.06, (45, 35, 30)),
             _box(0, 0, 0.06, w, d, h - 0.06, col, 'wood')]
    rows = int(rng.integers(3, 5))
    rh = (h - 0.1) / rows
    for k in range(rows):
        z = 0.08 + k * rh
        parts.append(_box(0, -d / 2 - 0.006, z + 0.01, w - 0.06, 0.012, rh - 0.02, front, 'wood'))
        parts.append(_box(0, -d / 2 - 0.02, z + rh / 2 - 0.015, 0.12, 0.02, 0.03, METAL))
    return Thing('dresser', parts, w / 2, d / 2 + 0.02, h,
                 top=(h, 0, 0, w / 2 - 0.03, d / 2 - 0.03))


def _garbage_bin(rng, **kw):
    s, h = rng.uniform(0.26, 0.38), rng.uniform(0.32, 0.6)
    col = _jit(rng, _pick(rng, [(90, 90, 95), (40, 110, 60), (50, 80, 160), (200, 200, 200)]))
    rim = tuple(np.asarray(col) * 0.7)
    parts = [_box(0, 0, 0, s, s, h, col), _box(0, 0, 0, 0.9 * s, 0.9 * s, h, col, yaw=math.pi / 4),
             _box(0, 0, h - 0.03, s + 0.02, s + 0.02, 0.03, rim)]
    return Thing('garbage bin', parts, 0.65 * s, 0.65 * s, h)


def _lamp(rng, variant='table', **kw):
    shade = _jit(rng, (250, 238, 200), 5)
    if variant == 'floor':
        pole, sw, sh = rng.uniform(1.3, 1.5), rng.uniform(0.35, 0.45), 0.3
        parts = [_box(0, 0, 0, 0.3, 0.3, 0.03, (50, 50, 50)),
                 _box(0, 0, 0.03, 0.05, 0.05, pole, METAL),
                 _box(0, 0, 0.03 + pole - 0.05, sw, sw, sh, shade, 'emissive')]
        return Thing('lamp', parts, max(0.15, sw / 2), max(0.15, sw / 2), pole + sh - 0.02)
    stem, sw, sh = rng.uniform(0.25, 0.35), rng.uniform(0.22, 0.32), rng.uniform(0.18, 0.25)
    parts = [_box(0, 0, 0, 0.14, 0.14, 0.03, (50, 50, 50)),
             _box(0, 0, 0.03, 0.025, 0.025, stem, METAL),
             _box(0, 0, 0.03 + stem - 0.05, sw, sw, sh, shade, 'emissive')]
    return Thing('lamp', parts, sw / 2, sw / 2, stem + sh - 0.02)


def _screen(rng, cls, w, hgt, t, lift, foot, screen_color, texture):
    frame = (22, 22, 25)
    parts = [_box(0, 0, 0, foot[0], foot[1], 0.02, (45, 45, 48)),
             _box(0, 0.01, 0.02, 0.06, 0.04, lift - 0.02, (45, 45, 48)),
             _box(0, 0, lift, w, t, hgt, frame),
             _box(0, -t / 2 - 0.002, lift + 0.02, w - 0.04, 0.004, hgt - 0.04, screen_color,
                  texture)]
    return Thing(cls, parts, w / 2, max(foot[1] / 2, t / 2 + 0.004), lift + hgt)


def _monitor(rng, **kw):
    w = rng.uniform(0.45, 0.62)
    return _screen(rng, 'monitor', w, w * rng.uniform(0.58, 0.68), 0.035, 0.1, (0.22, 0.18),
                   _jit(rng, _pick(rng, [(45, 70, 110), (60, 110, 170), (200, 205, 215)]), 10),
                   'plain')


def _television(rng, **kw):
    w = rng.uniform(0.8, 1.3)
    return _screen(rng, 'television', w, w * 0.58, 0.06, 0.09, (0.4, 0.22),
                   _jit(rng, (140, 140, 140), 30), 'screen')


def _night_stand(rng, **kw):
    w, d, h = rng.uniform(0.4, 0.55), rng.uniform(0.35, 0.45), rng.uniform(0.5, 0.65)
    col = _jit(rng, _pick(rng, WOODS + [(225, 220, 210)]))
    parts = [_box(0, 0, 0, w, d, h, col, 'wood'),
             _box(0, -d / 2 - 0.005, h * 0.55, w - 0.05, 0.01, h * 0.35,
                  tuple(np.asarray(col) * 0.85), 'wood'),
             _box(0, -d / 2 - 0.02, h * 0.72 - 0.015, 0.08, 0.02, 0.03, METAL)]
    return Thing('night stand', parts, w / 2, d / 2 + 0.01, h,
                 top=(h, 0, 0, w / 2 - 0.02, d / 2 - 0.02))


def _pillow(rng, **kw):
    w, d, h = rng.uniform(0.45, 0.65), rng.uniform(0.3, 0.42), rng.uniform(0.1, 0.16)
    return Thing('pillow', [_box(0, 0, 0, w, d, h, _jit(rng, _pick(rng, PILLOWS), 8), 'fabric')],
                 w / 2, d / 2, h)


def _sink(rng, variant='pedestal', **kw):
    if variant == 'counter':
        bw, bd = rng.uniform(0.5, 0.75), rng.uniform(0.38, 0.45)
        steel = _jit(rng, (175, 180, 185), 8)
        parts = [_box(0, 0, 0, bw, bd, 0.025, steel),
                 _box(0, -0.02, 0.025, bw - 0.08, bd - 0.12, 0.003, tuple(np.asarray(steel) * .6)),
                 _box(0, bd / 2 - 0.03, 0.025, 0.03, 0.03, 0.25, METAL),
                 _box(0, bd / 2 - 0.1, 0.23, 0.03, 0.14, 0.03, METAL)]
        return Thing('sink', parts, bw / 2, bd / 2, 0.27)
    bw, bd, top, bh, t = (rng.uniform(0.5, 0.6), rng.uniform(0.4, 0.48), rng.uniform(0.8, 0.88),
                          0.16, 0.04)
    col = _jit(rng, WHITE, 5)
    parts = [_box(0, 0.05, 0, 0.17, 0.17, top - bh, col),
             _box(0, 0, top - bh, bw, bd, 0.05, col),
             _box(0, -bd / 2 + t / 2, top - bh, bw, t, bh, col),
             _box(0, bd / 2 - t / 2, top - bh, bw, t, bh, col),
             _box(-bw / 2 + t / 2, 0, top - bh, t, bd, bh, col),
             _box(bw / 2 - t / 2, 0, top - bh, t, bd, bh, col),
             _box(0, bd / 2 - 0.03, top, 0.03, 0.03, 0.12, METAL),
             _box(0, bd / 2 - 0.08, top + 0.09, 0.03, 0.1, 0.03, METAL)]
    return Thing('sink', parts, bw / 2, bd / 2, top + 0.12)


def _sofa(rng, variant='sofa', **kw):
    w = rng.uniform(1.7, 2.3) if variant == 'sofa' else rng.uniform(0.8, 1.0)
    d, sh, bh = rng.uniform(0.82, 0.95), rng.uniform(0.4, 0.46), rng.uniform(0.75, 0.9)
    aw, ah = rng.uniform(0.15, 0.22), rng.uniform(0.55, 0.65)
    col = _jit(rng, _pick(rng, FABRICS))
    inner = w - 2 * aw
    parts = [_box(0, -0.1, 0, inner, d - 0.2, sh, _jit(rng, col, 6), 'fabric'),
             _box(0, d / 2 - 0.1, 0, inner, 0.2, bh, col, 'fabric'),
             _box(-w / 2 + aw / 2, 0, 0, aw, d, ah, col, 'fabric'),
             _box(w / 2 - aw / 2, 0, 0, aw, d, ah, col, 'fabric')]
    return Thing('sofa', parts, w / 2, d / 2, bh, top=(sh, 0, -0.1, inner / 2 - 0.02, d / 2 - 0.12))


def _table(rng, variant='dining', **kw):
    if variant == 'coffee':
        w, d, h = rng.uniform(0.8, 1.2), rng.uniform(0.45, 0.65), rng.uniform(0.38, 0.48)
    else:
        w, d, h = rng.uniform(1.1, 1.8), rng.uniform(0.75, 1.0), rng.uniform(0.72, 0.77)
    leg = rng.uniform(0.05, 0.07)
    col = _jit(rng, _pick(rng, WOODS + [(230, 230, 225)]))
    parts = [_box(0, 0, h - 0.04, w, d, 0.04, col, 'wood')]
    parts += [_box(sx * (w / 2 - 0.04 - leg / 2), sy * (d / 2 - 0.04 - leg / 2), 0, leg, leg,
                   h - 0.04, col, 'wood') for sx in (-1, 1) for sy in (-1, 1)]
    return Thing('table', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2 - 0.03, d / 2 - 0.03))


def _toilet(rng, **kw):
    w, d, bh = rng.uniform(0.36, 0.42), rng.uniform(0.5, 0.6), rng.uniform(0.38, 0.42)
    tw, td, th = w + 0.04, 0.18, rng.uniform(0.35, 0.42)
    depth = d + td
    col = _jit(rng, (250, 250, 248), 4)
    yb, yt = -depth / 2 + d / 2, depth / 2 - td / 2
    parts = [_box(0, yb + 0.05, 0, w * 0.6, d * 0.7, bh - 0.1, col),
             _box(0, yb, bh - 0.12, w, d, 0.12, col),
             _box(0, yb, bh, w + 0.02, d + 0.01, 0.03, _jit(rng, col, 8)),
             _box(0, yt, 0.95 * bh, tw, td, th, col)]
    return Thing('toilet', parts, tw / 2, depth / 2, 0.95 * bh + th)


TEMPLATES = {
    'bathtub': _bathtub, 'bed': _bed, 'bookshelf': _bookshelf, 'box': _cardboard_box,
    'chair': _chair, 'counter': _counter, 'desk': _desk, 'door': _door, 'dresser': _dresser,
    'garbage bin': _garbage_bin, 'lamp': _lamp, 'monitor': _monitor, 'night stand': _night_stand,
    'pillow': _pillow, 'sink': _sink, 'sofa': _sofa, 'table': _table,
    'television': _television, 'toilet': _toilet}


def make_thing(cls: str, rng: np.random.Generator, x: float = 0., y: float = 0., yaw: float = 0.,
               z: float = 0., instance: int = 1, **variant) -> Thing:
    """A piece of furniture of detection class ``cls`` with random class-typical dimensions and
    colours, its base centre at (x, y, z), rotated by ``yaw`` (front = local -y; yaw 0 faces
    south, i.e. toward a camera looking north). ``variant``: ``lamp(variant='floor'|'table')``,
    ``table(variant='dining'|'coffee')``, ``sofa(variant='sofa'|'armchair')``,
    ``sink(variant='pedestal'|'counter')``."""
    thing = TEMPLATES[cls](rng, **variant)
    thing.x, thing.y, thing.z, thing.yaw, thing.instance = x, y, z, yaw, instance
    return thing


# ----------------------------------------------------------------------------------------------
# room layout


class _Retry(Exception):
    pass


def _obb_overlap(a, b, margin=0.03) -> bool:
    """Separating-axis test of two floor rectangles (cx, cy, hx, hy, yaw)."""
    axes = []
    for r in (a, b):
        c, s = math.cos(r[4]), math.sin(r[4])
        axes.append(((c, s), (-s, c)))
    d = (b[0] - a[0], b[1] - a[1])
    for axis in (axes[0][0], axes[0][1], axes[1][0], axes[1][1]):
        ra = a[2] * abs(axes[0][0][0] * axis[0] + axes[0][0][1] * axis[1]) + \
            a[3] * abs(axes[0][1][0] * axis[0] + axes[0][1][1] * axis[1])
        rb = b[2] * abs(axes[1][0][0] * axis[0] + axes[1][0][1] * axis[1]) + \
            b[3] * abs(axes[1][1][0] * axis[0] + axes[1][1][1] * axis[1])
        if abs(d[0] * axis[0] + d[1] * axis[1]) > ra + rb + margin:
            return False
    return True


def _project(camera: Camera, points: np.ndarray, intrinsics) -> np.ndarray:
    """(u, v, z) of world points (K, 3) in a camera."""
    fx, fy, cx, cy = intrinsics
    pc = (np.asarray(points, float) - np.asarray(camera.position, float)) @ camera.rotation()
    z = pc[:, 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.stack([fx * pc[:, 0] / z + cx, fy * pc[:, 1] / z + cy, z], axis=1)


class _Planner:
    """Places things in a room so that they do not intersect and are seen by camera 0."""

    WALL_YAW = {'far': 0., 'left': math.pi / 2, 'right': -math.pi / 2}

    def __init__(self, rng, size, camera):
        self.rng, self.size, self.camera = rng, size, camera
        self.things: List[Thing] = []
        self.floor: List[Thing] = []
        self.counts: Dict[str, int] = {}
        self.intr = kinect_intrinsics(*IMAGE_HW)

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def _add(self, thing: Thing, on_floor: bool = True) -> Thing:
        self.counts[thing.cls] = self.counts.get(thing.cls, 0) + 1
        thing.instance = self.counts[thing.cls]
        self.things.append(thing)
        if on_floor:
            self.floor.append(thing)
        return thing

    def _fits(self, thing: Thing, ignore: Optional[Thing] = None) -> bool:
        w, d, _ = self.size
        fp = thing.footprint()
        c, s = math.cos(fp[4]), math.sin(fp[4])
        for sx in (-1, 1):
            for sy in (-1, 1):
                px = fp[0] + c * sx * fp[2] - s * sy * fp[3]
                py = fp[1] + s * sx * fp[2] + c * sy * fp[3]
                if not (0.0 <= px <= w and 0.0 <= py <= d):
                    return False
        cam = self.camera.position
        if math.hypot(fp[0] - cam[0], fp[1] - cam[1]) < 0.9 + max(fp[2], fp[3]) or \
                fp[1] - max(fp[2], fp[3]) < cam[1] + 0.5:
            return False
        return not any(_obb_overlap(fp, o.footprint()) for o in self.floor if o is not ignore)

    def _visible(self, thing: Thing) -> bool:
        u, v, z = _project(self.camera, [thing.to_world(0, 0, thing.height / 2)], self.intr)[0]
        h, w = IMAGE_HW
        return z > 0.7 and 0.04 * w < u < 0.96 * w and 0.04 * h < v < 0.96 * h

    def _try(self, cls, poses, tries=40, ignore=None, **variant) -> Optional[Thing]:
        thing = make_thing(cls, self.rng, **variant)
        for _ in range(tries):
            pose = poses(thing)
            if pose is None:
                continue
            thing.x, thing.y, thing.yaw = pose
            if self._fits(thing, ignore) and self._visible(thing):
                return self._add(thing)
        return None

    def wall(self, cls, walls=('far', 'far', 'left', 'right'), required=False, **variant):
        w, d, _ = self.size

        def poses(t):
            side = _pick(self.rng, walls)
            length = w if side == 'far' else d
            if length < 2 * t.hx + 0.1:
                return None
            s = self.rng.uniform(t.hx + 0.05, length - t.hx - 0.05)
            off = t.hy + 0.005
            if side == 'far':
                return s, d - off, 0.
            return (off, s, math.pi / 2) if side == 'left' else (w - off, s, -math.pi / 2)
        thing = self._try(cls, poses, **variant)
        if thing is None and required:
            raise _Retry(cls)
        return thing

    def free(self, cls, required=False, face_camera=True, **variant):
        w, d, _ = self.size
        cam = self.camera.position

        def poses(t):
            r = max(t.hx, t.hy)
            if w - 2 * r - 0.6 <= 0 or d - r - 0.3 <= cam[1] + 1.3:
                return None
            x = self.rng.uniform(r + 0.3, w - r - 0.3)
            y = self.rng.uniform(cam[1] + 1.3, d - r - 0.3)
            if face_camera:
                yaw = math.atan2(-(cam[0] - x), (cam[1] - y)) + self.rng.uniform(-0.5, 0.5)
            else:
                yaw = self.rng.integers(4) * math.pi / 2 + self.rng.uniform(-0.2, 0.2)
            return x, y, yaw
        thing = self._try(cls, poses, **variant)
        if thing is None and required:
            raise _Retry(cls)
        return thing

    def beside(self, cls, parent: Thing, side: int, **variant):
        def poses(t):
            lx = side * (parent.hx + t.hx + self.rng.uniform(0.03, 0.15))
            x, y, _ = parent.to_world(lx, parent.hy - t.hy)
            return x, y, parent.yaw
        return self._try(cls, poses, tries=3, **variant)

    def around(self, cls, parent: Thing, sides=('front', 'back', 'left', 'right'), **variant):
        """A thing (chair) next to one of ``parent``'s sides, facing its centre."""
        def poses(t):
            side = _pick(self.rng, sides)
            gap = t.hy + self.rng.uniform(-0.1, 0.05)
            lx = {'left': -parent.hx - gap, 'right': parent.hx + gap}.get(
                side, self.rng.uniform(-parent.hx + t.hx, parent.hx - t.hx))
            ly = {'front': -parent.hy - gap, 'back': parent.hy + gap}.get(
                side, self.rng.uniform(-parent.hy / 2, parent.hy / 2))
            x, y, _ = parent.to_world(lx, ly)
            yaw = math.atan2(-(parent.x - x), (parent.y - y)) + math.pi
            return x, y, yaw + self.rng.uniform(-0.3, 0.3)
        return self._try(cls, poses, tries=12, ignore=parent, **variant)

    def on(self, cls, parent: Optional[Thing], region='any', max_yaw=0.35, **variant):
        """A thing standing on ``parent``'s top surface (region 'any' or 'back'), turned by up
        to ``max_yaw`` from the parent's orientation."""
        if parent is None or parent.top is None:
            return None
        tz, tcx, tcy, thx, thy = parent.top
        thing = make_thing(cls, self.rng, **variant)
        for _ in range(15):
            dyaw = self.rng.uniform(-max_yaw, max_yaw) if max_yaw else 0.
            c, s = abs(math.cos(dyaw)), abs(math.sin(dyaw))
            mx, my = thing.hx * c + thing.hy * s, thing.hx * s + thing.hy * c
            if mx > thx or my > thy:
                continue
            lx = self.rng.uniform(tcx - thx + mx, tcx + thx - mx)
            lo = tcy - thy + my if region == 'any' else max(tcy - thy + my, tcy + thy - my - 0.25)
            ly = self.rng.uniform(lo, tcy + thy - my)
            thing.x, thing.y, thing.z = parent.to_world(lx, ly, tz)
            thing.yaw = parent.yaw + dyaw
            fp = thing.footprint()
            if not any(_obb_overlap(fp, o.footprint(), 0.01) for o in parent.children):
                parent.children.append(thing)
                return self._add(thing, on_floor=False)
        return None

    def occlude(self, candidates=('sofa', 'bed', 'dresser', 'counter', 'table', 'desk')):
        """A floor lamp between the camera and a wide thing: that thing shows in two fragments."""
        cam = self.camera.position
        targets = [t for t in self.floor if t.cls in candidates and t.hx > 0.45]
        if not targets:
            return None
        target = _pick(self.rng, targets)
        dx, dy = target.x - cam[0], target.y - cam[1]
        dist = math.hypot(dx, dy)
        lamp = make_thing('lamp', self.rng, variant='floor')
        for back in self.rng.uniform(0.35, 0.9, 8):
            ext = abs(target.hx * dx / dist) + abs(target.hy * dy / dist)
            k = (dist - ext - back) / dist
            if k * dist < 1.2:
                continue
            lamp.x, lamp.y = cam[0] + k * dx, cam[1] + k * dy
            if self._fits(lamp):
                return self._add(lamp)
        return None


def _scene_bedroom(p: _Planner):
    bed = p.wall('bed', required=True)
    for _ in range(2 if bed.hx > 0.6 else 1):
        p.on('pillow', bed, region='back')
    for side in p.rng.permutation([-1, 1])[:int(p.rng.integers(1, 3))]:
        stand = p.beside('night stand', bed, int(side))
        if stand is not None and p.chance(0.7):
            p.on('lamp', stand)
    if p.chance(0.75):
        dresser = p.wall('dresser')
        if p.chance(0.5):
            p.on('television', dresser, max_yaw=0.)
    _extras(p, door=0.6, box=0.6, bin=0.4, chair=0.4)


def _scene_bathroom(p: _Planner):
    p.wall('toilet', required=True)
    p.wall('sink', required=True, variant='pedestal')
    if p.chance(0.7):
        p.wall('bathtub')
    _extras(p, door=0.7, box=0.3, bin=0.6)


def _scene_living_room(p: _Planner):
    sofa = p.wall('sofa', required=True)
    for _ in range(int(p.rng.integers(1, 4))):
        p.on('pillow', sofa, region='back')
    if p.chance(0.7):
        p.free('table', variant='coffee')
    stand = p.wall('dresser', required=True)
    if not any(p.on('television', stand, max_yaw=0.) for _ in range(5)):
        raise _Retry('television')
    if p.chance(0.6):
        p.free('lamp', variant='floor')
    if p.chance(0.5):
        p.free('sofa', variant='armchair')
    if p.chance(0.4):
        p.wall('bookshelf')
    _extras(p, door=0.5, box=0.4, bin=0.3, chair=0.4)


def _scene_kitchen(p: _Planner):
    counter = p.wall('counter', required=True)
    if p.on('sink', counter, max_yaw=0., variant='counter') is None:
        raise _Retry('sink')
    if p.chance(0.4):
        p.wall('counter')
    if p.chance(0.5):
        table = p.free('table', face_camera=False)
        for _ in range(int(p.rng.integers(1, 3)) if table else 0):
            p.around('chair', table)
    _extras(p, door=0.5, box=0.5, bin=0.7, chair=0.3)


def _scene_dining_room(p: _Planner):
    table = p.free('table', required=True, face_camera=False)
    for _ in range(int(p.rng.integers(2, 5))):
        p.around('chair', table)
    if p.chance(0.6):
        p.wall('dresser')
    if p.chance(0.4):
        p.free('lamp', variant='floor')
    if p.chance(0.2):
        p.wall('bookshelf')
    _extras(p, door=0.6, box=0.3, bin=0.3)


def _scene_office(p: _Planner):
    desks = [p.wall('desk', required=True)]
    if p.chance(0.6):
        desks.append(p.wall('desk'))
    for desk in desks:
        if desk is None:
            continue
        for _ in range(2 if p.chance(0.3) else 1):
            p.on('monitor', desk, region='back', max_yaw=0.15)
        if p.chance(0.8):
            p.around('chair', desk, sides=('front',))
    if p.chance(0.3):
        p.wall('bookshelf')
    _extras(p, door=0.6, box=0.6, bin=0.7, chair=0.3)


def _scene_home_office(p: _Planner):
    desk = p.wall('desk', required=True)
    p.on('monitor', desk, region='back', max_yaw=0.15)
    if p.chance(0.6):
        p.on('lamp', desk)
    if p.chance(0.7):
        p.around('chair', desk, sides=('front',))
    if p.chance(0.6):
        p.wall('bookshelf')
    if p.chance(0.5):
        sofa = p.wall('sofa')
        if p.chance(0.6):
            p.on('pillow', sofa, region='back')
    _extras(p, door=0.5, box=0.5, bin=0.5)


def _scene_bookstore(p: _Planner):
    p.wall('bookshelf', required=True)
    for _ in range(int(p.rng.integers(1, 4))):
        p.wall('bookshelf')
    if p.chance(0.6):
        table = p.free('table', face_camera=False)
        if p.chance(0.6):
            p.on('box', table)
    if p.chance(0.5):
        p.wall('counter')
    _extras(p, door=0.3, box=0.7, bin=0.3, chair=0.4)


def _extras(p: _Planner, door=0., box=0., bin=0., chair=0.):
    if p.chance(door):
        p.wall('door')
    for k in range(3):
        if p.chance(box * 0.6 ** k):
            p.free('box', face_camera=False)
    if p.chance(bin):
        p.free('garbage bin')
    if p.chance(chair):
        p.free('chair')


SCENE_BUILDERS = {
    'bedroom': _scene_bedroom, 'bathroom': _scene_bathroom, 'living_room': _scene_living_room,
    'kitchen': _scene_kitchen, 'dining_room': _scene_dining_room, 'office': _scene_office,
    'home_office': _scene_home_office, 'bookstore': _scene_bookstore}

PALETTES = {  # scene type -> (wall colours, [(floor colour, floor texture)], wall texture)
    'bedroom': ([(205, 190, 170), (180, 195, 215), (215, 205, 180)],
                [((150, 105, 65), 'wood'), ((140, 120, 110), 'fabric')], 'plain'),
    'bathroom': ([(215, 225, 230), (230, 230, 225)], [((200, 200, 195), 'tiles')], 'tiles'),
    'living_room': ([(220, 210, 190), (200, 185, 160)],
                    [((160, 115, 70), 'wood'), ((120, 110, 100), 'fabric')], 'plain'),
    'kitchen': ([(235, 225, 200), (220, 230, 220)], [((180, 170, 150), 'tiles')], 'plain'),
    'dining_room': ([(210, 190, 160), (190, 160, 140)], [((130, 90, 60), 'wood')], 'plain'),
    'office': ([(225, 225, 225), (210, 215, 220)], [((100, 105, 115), 'fabric')], 'plain'),
    'home_office': ([(215, 200, 180), (200, 210, 195)], [((145, 100, 60), 'wood')], 'plain'),
    'bookstore': ([(225, 215, 200)], [((150, 140, 130), 'fabric')], 'plain'),
}


def sample_camera(rng: np.random.Generator, size: Sequence[float]) -> Camera:
    """A camera near the south wall of a room of ``size`` (W, D, H), looking north-ish."""
    w, _, _ = size
    return Camera((w / 2 + rng.uniform(-0.4, 0.4), rng.uniform(0.25, 0.6), rng.uniform(1.2, 1.6)),
                  yaw=rng.uniform(-0.26, 0.26), pitch=rng.uniform(-0.44, -0.17),
                  roll=rng.uniform(-0.035, 0.035))


def sample_view(rng: np.random.Generator, room: Room, camera: Camera) -> Camera:
    """Another viewpoint of the same room, near ``camera``."""
    w, d, h = room.size
    x, y, z = camera.position
    return Camera((float(np.clip(x + rng.uniform(-0.35, 0.35), 0.3, w - 0.3)),
                   float(np.clip(y + rng.uniform(-0.15, 0.15), 0.2, 0.8)),
                   float(np.clip(z + rng.uniform(-0.1, 0.1), 1.15, 1.65))),
                  yaw=camera.yaw + rng.uniform(-0.17, 0.17),
                  pitch=float(np.clip(camera.pitch + rng.uniform(-0.07, 0.07), -0.5, -0.12)),
                  roll=rng.uniform(-0.035, 0.035))


def sample_room(rng: np.random.Generator, scene_type: Optional[str] = None,
                occluder_prob: float = 0.35) -> Tuple[Room, Camera]:
    """A furnished room of ``scene_type`` (random among SCENE_TYPES) and a camera that sees it."""
    scene_type = scene_type or _pick(rng, SCENE_TYPES)
    for _ in range(50):
        if scene_type == 'bathroom':
            size = (rng.uniform(2.6, 3.6), rng.uniform(3.0, 4.2), rng.uniform(2.4, 2.8))
        else:
            size = (rng.uniform(3.4, 5.0), rng.uniform(3.8, 5.5), rng.uniform(2.5, 3.0))
        camera = sample_camera(rng, size)
        planner = _Planner(rng, size, camera)
        try:
            SCENE_BUILDERS[scene_type](planner)
        except _Retry:
            continue
        if planner.chance(occluder_prob):
            planner.occlude()
        walls, floors, wall_tex = PALETTES[scene_type]
        floor_color, floor_tex = _pick(rng, floors)
        room = Room(size, scene_type, planner.things, _jit(rng, _pick(rng, walls), 8), wall_tex,
                    _jit(rng, floor_color, 10), floor_tex)
        return room, camera
    raise RuntimeError(f'could not lay out a {scene_type}')


# ----------------------------------------------------------------------------------------------
# rendering


@lru_cache(maxsize=8)
def _rays(height: int, width: int) -> np.ndarray:
    """Camera-frame ray directions (H, W, 3) with z = 1 (so ray parameter = z-depth)."""
    fx, fy, cx, cy = kinect_intrinsics(height, width)
    u = ((np.arange(width) - cx) / fx).astype(np.float32)
    v = ((np.arange(height) - cy) / fy).astype(np.float32)
    rays = np.ones((height, width, 3), np.float32)
    rays[..., 0] = u[None, :]
    rays[..., 1] = v[:, None]
    return rays


def _label_id(name: str) -> int:
    return NAME_INDEX[name]


def render(room: Room, camera: Camera, height: int = IMAGE_HW[0], width: int = IMAGE_HW[1],
           rng: Optional[np.random.Generator] = None) -> Dict[str, np.ndarray]:
    """Ray-cast a room.

    Returns ``rgb`` (H, W, 3) uint8, ``depth`` (H, W) float32 z-depth in metres, ``normals``
    (H, W, 3) float32 unit normals in the camera frame (x right, y down, z forward; facing the
    camera), ``labels`` (H, W) uint16 (NAME_INDEX values), ``instances`` (H, W) uint8 and
    ``part`` (H, W) int32 (0-5: floor, ceiling, west, east, north, south wall; 6+: cuboids).
    ``rng`` draws the image noise (default: no noise).
    """
    intr = kinect_intrinsics(height, width)
    rot = camera.rotation().astype(np.float32)
    origin = np.asarray(camera.position, np.float64)
    dirs = _rays(height, width) @ rot.T  # world directions, camera z component = 1
    rw, rd, rh = room.size
    # room interior: nearest exit through the 6 faces
    with np.errstate(divide='ignore', invalid='ignore'):
        ts = []
        for axis, hi in enumerate((rw, rd, rh)):
            dax = dirs[..., axis]
            t = np.where(dax > 0, (hi - origin[axis]) / dax, (0. - origin[axis]) / dax)
            ts.append(np.where(t > 0, t, np.inf))
    ts = np.stack(ts, axis=-1)
    axis = ts.argmin(-1)
    depth = np.take_along_axis(ts, axis[..., None], -1)[..., 0].astype(np.float32)
    dsel = np.take_along_axis(dirs, axis[..., None], -1)[..., 0]
    positive = dsel > 0
    part = np.select([axis == 2, axis == 0, axis == 1],
                     [np.where(positive, 1, 0), np.where(positive, 3, 2),
                      np.where(positive, 4, 5)]).astype(np.int32)
    normals = np.zeros((height, width, 3), np.float32)
    np.put_along_axis(normals, axis[..., None], np.where(positive, -1., 1.)[..., None]
                      .astype(np.float32), -1)

    colors = [room.floor_color, room.ceiling_color] + [room.wall_color] * 4
    textures = [room.floor_texture, 'plain'] + [room.wall_texture] * 4
    labels = [_label_id('floor'), _label_id('ceiling')] + [_label_id('wall')] * 4
    insts = [1, 1, 1, 2, 3, 4]
    book = 0
    for thing in room.things:
        for center, half, yaw, p in thing.world_boxes():
            pid = len(colors)
            colors.append(p.color)
            textures.append(p.texture)
            if p.label is None:
                labels.append(_label_id(thing.cls))
                insts.append(thing.instance)
            else:
                book += 1
                labels.append(_label_id(p.label))
                insts.append(min(book, 255))
            _cast_box(center, half, yaw, origin, rot, intr, dirs, depth, normals, part, pid)

    lut_label = np.asarray(labels, np.uint16)
    lut_inst = np.asarray(insts, np.uint8)
    normals_cam = normals @ rot  # world -> camera: n_c = R^T n_w
    rgb = _shade(room, origin, dirs, depth, normals, part, np.asarray(colors, np.float32),
                 np.asarray([_TEX[t] for t in textures]), rng)
    return {'rgb': rgb, 'depth': depth, 'normals': normals_cam.astype(np.float32),
            'labels': lut_label[part], 'instances': lut_inst[part], 'part': part}


def _cast_box(center, half, yaw, origin, rot, intr, dirs, depth, normals, part, pid) -> None:
    """Z-buffer one yaw-rotated cuboid into the maps, within its screen rectangle."""
    height, width = depth.shape
    c, s = math.cos(yaw), math.sin(yaw)
    corners = np.array([[sx * half[0], sy * half[1], sz * half[2]] for sx in (-1, 1)
                        for sy in (-1, 1) for sz in (-1, 1)])
    corners = np.stack([c * corners[:, 0] - s * corners[:, 1],
                        s * corners[:, 0] + c * corners[:, 1], corners[:, 2]], 1) + center
    pc = (corners - origin) @ rot.astype(np.float64)
    if np.all(pc[:, 2] <= 0.05):
        return
    if np.any(pc[:, 2] <= 0.05):
        v0, v1, u0, u1 = 0, height, 0, width
    else:
        fx, fy, cx, cy = intr
        u = fx * pc[:, 0] / pc[:, 2] + cx
        v = fy * pc[:, 1] / pc[:, 2] + cy
        u0, u1 = max(int(math.floor(u.min())) - 1, 0), min(int(math.ceil(u.max())) + 2, width)
        v0, v1 = max(int(math.floor(v.min())) - 1, 0), min(int(math.ceil(v.max())) + 2, height)
        if u0 >= u1 or v0 >= v1:
            return
    d = dirs[v0:v1, u0:u1]
    o = origin - center
    ol = (c * o[0] + s * o[1], -s * o[0] + c * o[1], o[2])
    dl = (c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1], d[..., 2])
    tn, tf = [], []
    with np.errstate(divide='ignore', invalid='ignore'):
        for k in range(3):
            t1 = (-half[k] - ol[k]) / dl[k]
            t2 = (half[k] - ol[k]) / dl[k]
            tn.append(np.minimum(t1, t2))
            tf.append(np.maximum(t1, t2))
    tnear = np.maximum(np.maximum(tn[0], tn[1]), tn[2])
    tfar = np.minimum(np.minimum(tf[0], tf[1]), tf[2])
    zsub = depth[v0:v1, u0:u1]
    hit = (tnear <= tfar) & (tnear > 1e-3) & (tnear < zsub)
    if not hit.any():
        return
    ax = np.where(tn[0] >= tn[1], np.where(tn[0] >= tn[2], 0, 2), np.where(tn[1] >= tn[2], 1, 2))
    ax, th = ax[hit], tnear[hit]
    sign = -np.sign(np.where(ax == 0, dl[0][hit], np.where(ax == 1, dl[1][hit], dl[2][hit])))
    nl = np.zeros((ax.size, 3), np.float32)
    nl[np.arange(ax.size), ax] = sign
    nw = np.stack([c * nl[:, 0] - s * nl[:, 1], s * nl[:, 0] + c * nl[:, 1], nl[:, 2]], 1)
    zsub[hit] = th
    normals[v0:v1, u0:u1][hit] = nw
    part[v0:v1, u0:u1][hit] = pid


def _shade(room, origin, dirs, depth, normals, part, colors, tex, rng) -> np.ndarray:
    rw, rd, rh = room.size
    light = np.asarray(room.light if room.light is not None else (rw / 2, rd / 2, rh - 0.15),
                       np.float32)
    pts = origin.astype(np.float32) + dirs * depth[..., None]
    to_light = light - pts
    dist2 = np.einsum('hwc,hwc->hw', to_light, to_light)
    ndl = np.einsum('hwc,hwc->hw', normals, to_light) / np.sqrt(np.maximum(dist2, 1e-6))
    view = dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)
    fill = np.clip(-np.einsum('hwc,hwc->hw', normals, view), 0, 1)
    shade = 0.32 + 0.75 * np.clip(ndl, 0, 1) / (1 + 0.03 * dist2) + 0.22 * fill
    t = tex[part]
    base = colors[part]
    factor = np.ones(depth.shape, np.float32)
    x, y, z = pts[..., 0], pts[..., 1], pts[..., 2]
    m = t == _TEX['wood']
    if m.any():
        factor[m] = 1 + 0.07 * np.sin(45 * (x[m] + y[m]) + 2 * np.sin(4 * z[m] + 2 * x[m]))
    m = t == _TEX['tiles']
    if m.any():
        uu = np.where(np.abs(normals[..., 2][m]) > 0.5, x[m], x[m] + y[m])
        vv = np.where(np.abs(normals[..., 2][m]) > 0.5, y[m], z[m])
        line = (np.mod(uu / 0.3, 1) < 0.05) | (np.mod(vv / 0.3, 1) < 0.05)
        factor[m] = np.where(line, 0.8, 1.)
    m = t == _TEX['screen']
    if m.any():
        s = x[m] + y[m]
        base = base.copy()
        base[m] = 128 + 100 * np.stack([np.sin(7 * s + 1), np.sin(9 * z[m] + 2),
                                        np.sin(5 * (s + z[m]))], -1)
        shade[m] = 1.
    m = t == _TEX['emissive']
    shade[m] = 1.
    rgb = base * (factor * shade)[..., None]
    if rng is not None:
        sigma = _NOISE[t]
        rgb += rng.standard_normal(rgb.shape, np.float32) * sigma[..., None]
        rgb *= rng.uniform(0.9, 1.1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def raw_depth(depth: np.ndarray, part: np.ndarray, rng: np.random.Generator,
              screen_parts: Sequence[int] = ()) -> np.ndarray:
    """Kinect-like raw depth: 0 at depth discontinuities (1-2 px shadows), in a few random
    blobs and, sometimes, on screens."""
    raw = depth.copy()
    h, w = depth.shape
    jump = np.zeros((h, w), bool)
    jump[:, 1:] |= np.abs(np.diff(depth, axis=1)) > 0.04 * depth[:, 1:]
    jump[1:, :] |= np.abs(np.diff(depth, axis=0)) > 0.04 * depth[1:, :]
    jump[:, 1:] |= jump[:, :-1].copy()
    raw[jump] = 0
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(int(rng.integers(0, 3))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.02, 0.08) * h, rng.uniform(0.02, 0.08) * w
        raw[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1] = 0
    if len(screen_parts) and rng.random() < 0.5:
        raw[np.isin(part, screen_parts)] = 0
    return raw


def render_image(room: Room, camera: Camera, height: int, width: int,
                 rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """:func:`render` plus ``raw_depth`` and ``normal_mask`` (= raw depth valid)."""
    out = render(room, camera, height, width, rng)
    screens, pid = [], 6
    for thing in room.things:
        for p in thing.parts:
            if p.texture == 'screen' or (thing.cls == 'monitor' and p is thing.parts[-1]):
                screens.append(pid)
            pid += 1
    out['raw_depth'] = raw_depth(out['depth'], out['part'], rng, screens)
    out['normal_mask'] = out['raw_depth'] > 0
    return out


# ----------------------------------------------------------------------------------------------
# writing in the official layout


def _matlab_header() -> bytes:
    text = ('MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 '
            'HDF5 schema 1.00 .').ljust(116).encode('ascii')
    return text + b' ' * 8 + b'\x00\x02' + b'IM'


class NYUv2MatWriter:
    """Writes a ``nyu_depth_v2_labeled.mat`` image by image (the real file's v7.3 layout).

    ``write(i, ...)`` takes (H, W) / (H, W, 3) arrays and stores them transposed as MATLAB does;
    the string cell arrays and the MATLAB userblock header are written by ``close()``.
    """

    def __init__(self, path, num: int, height: int, width: int,
                 names: Optional[Sequence[str]] = None, compression: Optional[int] = 1) -> None:
        import h5py
        self.path, self.num = os.fspath(path), num
        self.names = list(default_names() if names is None else names)
        self.scene_types: List[Optional[str]] = [None] * num
        self.scenes: List[Optional[str]] = [None] * num
        self._f = h5py.File(self.path, 'w', userblock_size=512)
        kw = dict(compression='gzip', compression_opts=compression) if compression else {}
        self._ds = {}
        for name, shape, dtype, mclass in (
                ('images', (num, 3, width, height), np.uint8, 'uint8'),
                ('depths', (num, width, height), np.float32, 'single'),
                ('rawDepths', (num, width, height), np.float32, 'single'),
                ('labels', (num, width, height), np.uint16, 'uint16'),
                ('instances', (num, width, height), np.uint8, 'uint8')):
            chunks = (1,) + shape[1:] if num else None
            ds = self._f.create_dataset(name, shape, dtype, chunks=chunks,
                                        shuffle=bool(kw) and dtype != np.uint8, **kw)
            ds.attrs['MATLAB_class'] = np.bytes_(mclass)
            self._ds[name] = ds
        self._refs = self._f.create_group('#refs#')
        self._nref = 0

    def write(self, index: int, rgb, depth, raw_depth, labels, instances, scene_type: str,
              scene: str) -> None:
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
    """``splits.mat`` (MATLAB v5) from 0-based indices: 1-based double column vectors."""
    import scipy.io
    scipy.io.savemat(os.fspath(path), {
        'trainNdxs': (np.asarray(train, np.float64) + 1).reshape(-1, 1),
        'testNdxs': (np.asarray(test, np.float64) + 1).reshape(-1, 1)})


def write_normals_png(root, index: int, normals: np.ndarray, mask: np.ndarray) -> None:
    """``root/normals/NNNN.png`` and ``root/masks/NNNN.png`` (normals_gt's layout)."""
    for sub in ('normals', 'masks'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    name = f'{index:04d}.png'
    save_png(osp.join(root, 'normals', name), encode_normals(normals, mask))
    save_png(osp.join(root, 'masks', name), np.where(mask, 255, 0).astype(np.uint8))


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


def make_synthetic_nyuv2(out_dir, num: int, seed: int = 0, height: int = IMAGE_HW[0],
                         width: int = IMAGE_HW[1],
                         forced_layouts: Optional[Dict[int, Tuple[Room, Camera]]] = None,
                         train_fraction: float = 0.55, val_fraction: float = 0.15,
                         progress: bool = True) -> dict:
    """Write a synthetic NYUv2 (official layout) of ``num`` images into ``out_dir``.

    Args:
        forced_layouts: {image index: (Room, Camera)} rendered instead of random rooms (each as a
            scene of its own); the other rooms do not change.
        train_fraction: share of images in trainNdxs (whole scenes; the rest in testNdxs).
        val_fraction: share of train scenes listed in ``val_scenes.txt``.

    Returns:
        dict with the written paths (``mat``, ``splits``, ``normals``, ``val_split``) and
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
    return {'mat': mat_path, 'splits': splits_path, 'normals': normals_root,
            'val_split': val_path, 'scene_types': scene_types, 'scenes': scenes,
            'train': train, 'test': test, 'val_scenes': val_scenes}
