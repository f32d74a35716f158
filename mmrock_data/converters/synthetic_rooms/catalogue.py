"""The furniture catalogue: cuboid templates of the 19 NYUv2 detection classes and of clutter.

Each template draws class-typical sizes and colours (front = local -y, base at z = 0). Clutter is
labelled ``cabinet`` or ``book`` (real NYUv2 names that are no detection classes) or left
unlabeled (label 0, as NYUv2's unlabeled pixels): appliances, wall panels (boards, pictures,
windows, mirrors), plants, exercise equipment and rugs.
"""
import math

import numpy as np

from ...nyuv2_meta import NAME_INDEX
from .scene import Part, Thing

TEXTURES = ('plain', 'wood', 'fabric', 'tiles', 'screen', 'emissive')
UNLABELED = frozenset({'appliance', 'equipment', 'panel', 'plant', 'rug'})


def label_id(name: str) -> int:
    """The ``labels`` value of a class name.

    Args:
        name (str): A detection class or clutter name.

    Returns:
        int: Its NAME_INDEX position, 0 for unlabeled clutter.
    """
    return 0 if name in UNLABELED else NAME_INDEX[name]


def _box(cx, cy, z0, w, d, h, color, texture='plain', yaw=0., label=None) -> Part:
    return Part((cx, cy, z0 + h / 2), (w / 2, d / 2, h / 2), tuple(color), texture, yaw, label)


def jitter(rng, color, amount=12.):
    """A colour with uniform noise added to each channel, clipped to 0..255.

    Args:
        rng (np.random.Generator): Random generator.
        color (Sequence[float]): (R, G, B).
        amount (float): Largest change of a channel. Defaults to 12.

    Returns:
        tuple[float, float, float]: The new colour.
    """
    return tuple(np.clip(np.asarray(color, float) + rng.uniform(-amount, amount, 3), 0, 255))


def pick(rng, options):
    """One of the options, uniformly.

    Args:
        rng (np.random.Generator): Random generator.
        options (Sequence): The options.

    Returns:
        Any: The chosen option.
    """
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
    col = jitter(rng, WHITE, 6)
    parts = [
        _box(0, 0, 0, w, d, 0.12, col),
        _box(0, -d / 2 + t / 2, 0, w, t, h, col),
        _box(0, d / 2 - t / 2, 0, w, t, h, col),
        _box(-w / 2 + t / 2, 0, 0, t, d, h, col),
        _box(w / 2 - t / 2, 0, 0, t, d, h, col)
    ]
    return Thing('bathtub', parts, w / 2, d / 2, h)


def _bed(rng, **kw):
    w = pick(rng, [0.95, 1.4, 1.6, 1.8]) + rng.uniform(-0.03, 0.03)
    length, fh, mh = rng.uniform(1.95, 2.1), rng.uniform(0.22, 0.3), rng.uniform(0.18, 0.25)
    hb = rng.uniform(0.9, 1.2)
    wood = jitter(rng, pick(rng, WOODS))
    parts = [
        _box(0, 0, 0, w, length, fh, wood, 'wood'),
        _box(0, -0.02, fh, w - 0.04, length - 0.08, mh, jitter(rng, pick(rng, BEDDING)), 'fabric'),
        _box(0, length / 2 - 0.03, 0, w + 0.04, 0.06, hb, wood, 'wood')
    ]
    return Thing(
        'bed',
        parts,
        w / 2 + 0.02,
        length / 2,
        hb,
        top=(fh + mh, 0, -0.02, w / 2 - 0.04, length / 2 - 0.08))


def _bookshelf(rng, **kw):
    w, d, h, t = rng.uniform(0.8, 1.2), rng.uniform(0.3, 0.38), rng.uniform(1.6, 2.0), 0.025
    wood = jitter(rng, pick(rng, WOODS))
    parts = [
        _box(-w / 2 + t / 2, 0, 0, t, d, h, wood, 'wood'),
        _box(w / 2 - t / 2, 0, 0, t, d, h, wood, 'wood'),
        _box(0, 0, h - t, w, d, t, wood, 'wood'),
        _box(0, 0, 0, w, d, 0.08, wood, 'wood'),
        _box(0, d / 2 - 0.01, 0, w, 0.02, h, jitter(rng, wood, 20), 'wood')
    ]
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
                parts.append(
                    _box(
                        x + bw / 2,
                        d / 2 - 0.02 - bd / 2,
                        z0,
                        bw,
                        bd,
                        gap * rng.uniform(0.55, 0.9),
                        jitter(rng, pick(rng, BOOKS), 20),
                        label='book'))
            x += bw
    return Thing('bookshelf', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2 - 0.02, d / 2 - 0.02))


def _cardboard_box(rng, **kw):
    w, d, h = rng.uniform(0.28, 0.6), rng.uniform(0.25, 0.5), rng.uniform(0.2, 0.45)
    parts = [_box(0, 0, 0, w, d, h, jitter(rng, (185, 145, 95), 15))]
    return Thing('box', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2, d / 2))


def _chair(rng, **kw):
    s, sh, bh, leg = rng.uniform(0.42, 0.5), rng.uniform(0.43, 0.48), rng.uniform(0.38, 0.5), 0.035
    col = jitter(
        rng, pick(rng, [(170, 40, 40), (60, 60, 70), (140, 95, 55), (40, 90, 150),
                        (200, 200, 195)]))
    legc = pick(rng, [METAL, tuple(0.7 * np.asarray(col))])
    parts = [
        _box(sx * (s / 2 - leg / 2), sy * (s / 2 - leg / 2), 0, leg, leg, sh - 0.04, legc)
        for sx in (-1, 1) for sy in (-1, 1)
    ]
    parts += [_box(0, 0, sh - 0.04, s, s, 0.04, col), _box(0, s / 2 - 0.015, sh, s, 0.03, bh, col)]
    return Thing('chair', parts, s / 2, s / 2, sh + bh)


def _counter(rng, **kw):
    w, d, h = rng.uniform(1.2, 2.4), rng.uniform(0.58, 0.65), rng.uniform(0.88, 0.92)
    cab = jitter(rng, pick(rng, [(225, 225, 215), (120, 85, 50), (90, 100, 110), (170, 190, 170)]))
    top = jitter(rng, pick(rng, [(70, 70, 75), (180, 175, 165), (40, 40, 45)]), 8)
    parts = [
        _box(0, 0.05, 0, w - 0.06, d - 0.1, 0.1, (40, 40, 40)),
        _box(0, 0.01, 0.1, w - 0.02, d - 0.02, h - 0.14, cab),
        _box(0, 0, h - 0.04, w, d, 0.04, top, 'fabric')
    ]
    ndoors = max(1, int(w / 0.5))
    dw = (w - 0.04) / ndoors
    front = tuple(np.clip(np.asarray(cab) * 1.08, 0, 255))
    for k in range(ndoors):
        parts.append(
            _box(-w / 2 + 0.02 + (k + 0.5) * dw, -d / 2 + 0.015, 0.13, dw - 0.015, 0.01, h - 0.2,
                 front))
    return Thing('counter', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2 - 0.03, d / 2 - 0.03))


def _desk(rng, variant='office', **kw):
    if variant == 'school':
        w, d, h = rng.uniform(0.6, 0.75), rng.uniform(0.45, 0.55), rng.uniform(0.68, 0.74)
    else:
        w, d, h = rng.uniform(1.1, 1.6), rng.uniform(0.6, 0.75), rng.uniform(0.72, 0.76)
    col = jitter(rng, pick(rng, [(190, 150, 100), (235, 235, 230), (60, 60, 65), (160, 110, 65)]))
    parts = [_box(0, 0, h - 0.03, w, d, 0.03, col, 'wood')]
    if rng.random() < 0.5:
        parts += [
            _box(sx * (w / 2 - 0.05), sy * (d / 2 - 0.05), 0, 0.05, 0.05, h - 0.03, METAL)
            for sx in (-1, 1) for sy in (-1, 1)
        ]
    else:
        parts += [_box(sx * (w / 2 - 0.015), 0, 0, 0.03, d - 0.04, h - 0.03, col) for sx in (-1, 1)]
    if variant == 'office' and rng.random() < 0.5:
        side = pick(rng, [-1, 1])
        parts.append(
            _box(side * (w / 2 - 0.23), 0, 0.08, 0.4, d - 0.06, h - 0.12, jitter(rng, col, 15)))
    return Thing('desk', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2 - 0.03, d / 2 - 0.03))


def _door(rng, **kw):
    w, h, t = rng.uniform(0.8, 0.92), rng.uniform(2.0, 2.1), 0.04
    wood = jitter(rng, pick(rng, WOODS + [(200, 170, 120)]))
    trim = jitter(rng, (235, 233, 225), 6)
    side = pick(rng, [-1, 1])
    parts = [
        _box(0, 0, 0, w, t, h, wood, 'wood'),
        _box(-w / 2 - 0.035, 0.005, 0, 0.07, 0.03, h + 0.07, trim),
        _box(w / 2 + 0.035, 0.005, 0, 0.07, 0.03, h + 0.07, trim),
        _box(0, 0.005, h, w + 0.14, 0.03, 0.07, trim),
        _box(side * (w / 2 - 0.08), -t / 2 - 0.03, 0.95, 0.05, 0.06, 0.05, (200, 180, 80))
    ]
    return Thing('door', parts, w / 2 + 0.07, t / 2, h + 0.07, clearance=0.6)


def _dresser(rng, **kw):
    w, d, h = rng.uniform(0.8, 1.4), rng.uniform(0.45, 0.55), rng.uniform(0.75, 1.05)
    col = jitter(rng, pick(rng, [(100, 62, 35), (150, 105, 65), (230, 225, 215), (170, 120, 75)]))
    front = tuple(np.asarray(col) * 0.85)
    parts = [
        _box(0, 0.02, 0, w - 0.04, d - 0.04, 0.06, (45, 35, 30)),
        _box(0, 0, 0.06, w, d, h - 0.06, col, 'wood')
    ]
    rows = int(rng.integers(3, 5))
    rh = (h - 0.1) / rows
    for k in range(rows):
        z = 0.08 + k * rh
        parts.append(_box(0, -d / 2 - 0.006, z + 0.01, w - 0.06, 0.012, rh - 0.02, front, 'wood'))
        parts.append(_box(0, -d / 2 - 0.02, z + rh / 2 - 0.015, 0.12, 0.02, 0.03, METAL))
    return Thing(
        'dresser', parts, w / 2, d / 2 + 0.02, h, top=(h, 0, 0, w / 2 - 0.03, d / 2 - 0.03))


def _garbage_bin(rng, **kw):
    s, h = rng.uniform(0.26, 0.38), rng.uniform(0.32, 0.6)
    col = jitter(rng, pick(rng, [(90, 90, 95), (40, 110, 60), (50, 80, 160), (200, 200, 200)]))
    rim = tuple(np.asarray(col) * 0.7)
    parts = [
        _box(0, 0, 0, s, s, h, col),
        _box(0, 0, 0, 0.9 * s, 0.9 * s, h, col, yaw=math.pi / 4),
        _box(0, 0, h - 0.03, s + 0.02, s + 0.02, 0.03, rim)
    ]
    return Thing('garbage bin', parts, 0.65 * s, 0.65 * s, h)


def _lamp(rng, variant='table', **kw):
    shade = jitter(rng, (250, 238, 200), 5)
    if variant == 'floor':
        pole, sw, sh = rng.uniform(1.3, 1.5), rng.uniform(0.35, 0.45), 0.3
        parts = [
            _box(0, 0, 0, 0.3, 0.3, 0.03, (50, 50, 50)),
            _box(0, 0, 0.03, 0.05, 0.05, pole, METAL),
            _box(0, 0, 0.03 + pole - 0.05, sw, sw, sh, shade, 'emissive')
        ]
        return Thing('lamp', parts, max(0.15, sw / 2), max(0.15, sw / 2), pole + sh - 0.02)
    stem, sw, sh = rng.uniform(0.25, 0.35), rng.uniform(0.22, 0.32), rng.uniform(0.18, 0.25)
    parts = [
        _box(0, 0, 0, 0.14, 0.14, 0.03, (50, 50, 50)),
        _box(0, 0, 0.03, 0.025, 0.025, stem, METAL),
        _box(0, 0, 0.03 + stem - 0.05, sw, sw, sh, shade, 'emissive')
    ]
    return Thing('lamp', parts, sw / 2, sw / 2, stem + sh - 0.02)


def _screen(rng, cls, w, hgt, t, lift, foot, screen_color, texture):
    frame = (22, 22, 25)
    parts = [
        _box(0, 0, 0, foot[0], foot[1], 0.02, (45, 45, 48)),
        _box(0, 0.01, 0.02, 0.06, 0.04, lift - 0.02, (45, 45, 48)),
        _box(0, 0, lift, w, t, hgt, frame),
        _box(0, -t / 2 - 0.002, lift + 0.02, w - 0.04, 0.004, hgt - 0.04, screen_color, texture)
    ]
    return Thing(cls, parts, w / 2, max(foot[1] / 2, t / 2 + 0.004), lift + hgt)


def _monitor(rng, **kw):
    w = rng.uniform(0.45, 0.62)
    return _screen(rng, 'monitor', w, w * rng.uniform(0.58, 0.68), 0.035, 0.1, (0.22, 0.18),
                   jitter(rng, pick(rng, [(45, 70, 110), (60, 110, 170), (200, 205, 215)]), 10),
                   'plain')


def _television(rng, **kw):
    w = rng.uniform(0.8, 1.3)
    return _screen(rng, 'television', w, w * 0.58, 0.06, 0.09, (0.4, 0.22),
                   jitter(rng, (140, 140, 140), 30), 'screen')


def _night_stand(rng, **kw):
    w, d, h = rng.uniform(0.4, 0.55), rng.uniform(0.35, 0.45), rng.uniform(0.5, 0.65)
    col = jitter(rng, pick(rng, WOODS + [(225, 220, 210)]))
    parts = [
        _box(0, 0, 0, w, d, h, col, 'wood'),
        _box(0, -d / 2 - 0.005, h * 0.55, w - 0.05, 0.01, h * 0.35, tuple(np.asarray(col) * 0.85),
             'wood'),
        _box(0, -d / 2 - 0.02, h * 0.72 - 0.015, 0.08, 0.02, 0.03, METAL)
    ]
    return Thing(
        'night stand', parts, w / 2, d / 2 + 0.01, h, top=(h, 0, 0, w / 2 - 0.02, d / 2 - 0.02))


def _pillow(rng, **kw):
    w, d, h = rng.uniform(0.45, 0.65), rng.uniform(0.3, 0.42), rng.uniform(0.1, 0.16)
    return Thing('pillow', [_box(0, 0, 0, w, d, h, jitter(rng, pick(rng, PILLOWS), 8), 'fabric')],
                 w / 2, d / 2, h)


def _sink(rng, variant='pedestal', **kw):
    if variant == 'counter':
        bw, bd = rng.uniform(0.5, 0.75), rng.uniform(0.38, 0.45)
        steel = jitter(rng, (175, 180, 185), 8)
        parts = [
            _box(0, 0, 0, bw, bd, 0.025, steel),
            _box(0, -0.02, 0.025, bw - 0.08, bd - 0.12, 0.003, tuple(np.asarray(steel) * .6)),
            _box(0, bd / 2 - 0.03, 0.025, 0.03, 0.03, 0.25, METAL),
            _box(0, bd / 2 - 0.1, 0.23, 0.03, 0.14, 0.03, METAL)
        ]
        return Thing('sink', parts, bw / 2, bd / 2, 0.27)
    bw, bd, top, bh, t = (rng.uniform(0.5, 0.6), rng.uniform(0.4,
                                                             0.48), rng.uniform(0.8,
                                                                                0.88), 0.16, 0.04)
    col = jitter(rng, WHITE, 5)
    parts = [
        _box(0, 0.05, 0, 0.17, 0.17, top - bh, col),
        _box(0, 0, top - bh, bw, bd, 0.05, col),
        _box(0, -bd / 2 + t / 2, top - bh, bw, t, bh, col),
        _box(0, bd / 2 - t / 2, top - bh, bw, t, bh, col),
        _box(-bw / 2 + t / 2, 0, top - bh, t, bd, bh, col),
        _box(bw / 2 - t / 2, 0, top - bh, t, bd, bh, col),
        _box(0, bd / 2 - 0.03, top, 0.03, 0.03, 0.12, METAL),
        _box(0, bd / 2 - 0.08, top + 0.09, 0.03, 0.1, 0.03, METAL)
    ]
    return Thing('sink', parts, bw / 2, bd / 2, top + 0.12)


def _sofa(rng, variant='sofa', **kw):
    w = rng.uniform(1.7, 2.3) if variant == 'sofa' else rng.uniform(0.8, 1.0)
    d, sh, bh = rng.uniform(0.82, 0.95), rng.uniform(0.4, 0.46), rng.uniform(0.75, 0.9)
    aw, ah = rng.uniform(0.15, 0.22), rng.uniform(0.55, 0.65)
    col = jitter(rng, pick(rng, FABRICS))
    inner = w - 2 * aw
    parts = [
        _box(0, -0.1, 0, inner, d - 0.2, sh, jitter(rng, col, 6), 'fabric'),
        _box(0, d / 2 - 0.1, 0, inner, 0.2, bh, col, 'fabric'),
        _box(-w / 2 + aw / 2, 0, 0, aw, d, ah, col, 'fabric'),
        _box(w / 2 - aw / 2, 0, 0, aw, d, ah, col, 'fabric')
    ]
    return Thing('sofa', parts, w / 2, d / 2, bh, top=(sh, 0, -0.1, inner / 2 - 0.02, d / 2 - 0.12))


def _table(rng, variant='dining', **kw):
    if variant == 'coffee':
        w, d, h = rng.uniform(0.8, 1.2), rng.uniform(0.45, 0.65), rng.uniform(0.38, 0.48)
    elif variant == 'small':
        w = d = rng.uniform(0.6, 0.8)
        h = rng.uniform(0.72, 0.76)
    elif variant == 'conference':
        w, d, h = rng.uniform(2.2, 3.2), rng.uniform(1.0, 1.3), rng.uniform(0.72, 0.76)
    else:
        w, d, h = rng.uniform(1.1, 1.8), rng.uniform(0.75, 1.0), rng.uniform(0.72, 0.77)
    leg = rng.uniform(0.05, 0.07)
    col = jitter(rng, pick(rng, WOODS + [(230, 230, 225)]))
    parts = [_box(0, 0, h - 0.04, w, d, 0.04, col, 'wood')]
    parts += [
        _box(sx * (w / 2 - 0.04 - leg / 2), sy * (d / 2 - 0.04 - leg / 2), 0, leg, leg, h - 0.04,
             col, 'wood') for sx in (-1, 1) for sy in (-1, 1)
    ]
    return Thing('table', parts, w / 2, d / 2, h, top=(h, 0, 0, w / 2 - 0.03, d / 2 - 0.03))


def _toilet(rng, **kw):
    w, d, bh = rng.uniform(0.36, 0.42), rng.uniform(0.5, 0.6), rng.uniform(0.38, 0.42)
    tw, td, th = w + 0.04, 0.18, rng.uniform(0.35, 0.42)
    depth = d + td
    col = jitter(rng, (250, 250, 248), 4)
    yb, yt = -depth / 2 + d / 2, depth / 2 - td / 2
    parts = [
        _box(0, yb + 0.05, 0, w * 0.6, d * 0.7, bh - 0.1, col),
        _box(0, yb, bh - 0.12, w, d, 0.12, col),
        _box(0, yb, bh, w + 0.02, d + 0.01, 0.03, jitter(rng, col, 8)),
        _box(0, yt, 0.95 * bh, tw, td, th, col)
    ]
    return Thing('toilet', parts, tw / 2, depth / 2, 0.95 * bh + th)


# clutter


def _appliance(rng, variant='fridge', **kw):
    """Unlabeled: fridge, washer, stove, printer (floor) or microwave (on a counter / table)."""
    w, d, h = {
        'fridge': (0.7, 0.7, 1.8),
        'washer': (0.6, 0.6, 0.86),
        'stove': (0.6, 0.62, 0.9),
        'printer': (0.62, 0.58, 1.05),
        'microwave': (0.5, 0.38, 0.3)
    }[variant]
    w, d, h = w * rng.uniform(0.92, 1.08), d * rng.uniform(0.95, 1.05), h * rng.uniform(0.93, 1.07)
    body = jitter(rng, pick(rng, [WHITE, (190, 192, 195), (120, 122, 128)]), 6)
    dark = (35, 35, 38)
    parts = [_box(0, 0, 0, w, d, h, body)]
    if variant == 'fridge':
        parts += [
            _box(0, -d / 2 - 0.005, h * 0.62, w - 0.04, 0.01, 0.01, dark),
            _box(w / 2 - 0.08, -d / 2 - 0.025, h * 0.3, 0.03, 0.03, h * 0.25, METAL)
        ]
    elif variant == 'washer':
        parts.append(_box(0, -d / 2 - 0.01, h * 0.25, w * 0.6, 0.02, h * 0.5, (60, 70, 80)))
    elif variant == 'stove':
        parts.append(_box(0, 0, h, w, d, 0.01, dark))
        parts.append(_box(0, -d / 2 - 0.005, 0.15, w - 0.08, 0.01, h * 0.5, dark))
    elif variant == 'printer':
        parts += [
            _box(0, 0, h, w * 0.9, d * 0.8, 0.06, jitter(rng, (215, 215, 210), 5)),
            _box(-w / 4, -d / 2 - 0.005, h * 0.55, w * 0.45, 0.01, h * 0.3, dark)
        ]
    else:
        parts.append(_box(-w * 0.12, -d / 2 - 0.005, 0.04, w * 0.62, 0.01, h - 0.08, dark))
    top = (h, 0, 0, w / 2 - 0.02, d / 2 - 0.02) if variant in ('washer', 'printer') else None
    return Thing('appliance', parts, w / 2, d / 2, h, top=top)


def _book(rng, **kw):
    """A pile of 1-5 books lying flat (one ``book`` instance per book)."""
    w, d = rng.uniform(0.16, 0.24), rng.uniform(0.22, 0.3)
    parts, z = [], 0.
    for _ in range(int(rng.integers(1, 6))):
        t = rng.uniform(0.02, 0.05)
        parts.append(
            _box(
                rng.uniform(-0.015, 0.015),
                rng.uniform(-0.015, 0.015),
                z,
                w,
                d,
                t,
                jitter(rng, pick(rng, BOOKS), 20),
                yaw=rng.uniform(-0.2, 0.2),
                label='book'))
        z += t
    return Thing('book', parts, w / 2 + 0.03, d / 2 + 0.03, z)


def _cabinet(rng, variant='tall', **kw):
    """``cabinet``: tall cupboard, filing cabinet or wall cabinet (hung by the planner)."""
    w, d, h = {
        'tall': (rng.uniform(0.8, 1.2), rng.uniform(0.4, 0.6), rng.uniform(1.6, 2.0)),
        'filing': (rng.uniform(0.4, 0.5), rng.uniform(0.55, 0.65), rng.uniform(0.7, 1.35)),
        'wall': (rng.uniform(0.6, 1.4), rng.uniform(0.3, 0.36), rng.uniform(0.6, 0.8))
    }[variant]
    col = jitter(rng, pick(rng, [(225, 225, 215), (120, 85, 50), (150, 155, 160), (190, 170, 140)]))
    front = tuple(np.clip(np.asarray(col) * 0.9, 0, 255))
    parts = [_box(0, 0, 0, w, d, h, col)]
    if variant == 'filing':
        rows = max(2, int(h / 0.33))
        for k in range(rows):
            z = 0.03 + k * (h - 0.06) / rows
            parts.append(
                _box(0, -d / 2 - 0.005, z + 0.01, w - 0.04, 0.01, (h - 0.06) / rows - 0.02, front))
            parts.append(
                _box(0, -d / 2 - 0.02, z + (h - 0.06) / rows * 0.7, 0.1, 0.02, 0.025, METAL))
    else:
        n = max(1, int(round(w / 0.5)))
        for k in range(n):
            x = -w / 2 + (k + 0.5) * w / n
            parts.append(_box(x, -d / 2 - 0.005, 0.03, w / n - 0.02, 0.01, h - 0.06, front))
    return Thing(
        'cabinet', parts, w / 2, d / 2 + 0.01, h, top=(h, 0, 0, w / 2 - 0.02, d / 2 - 0.02))


def _equipment(rng, variant='treadmill', **kw):
    """Unlabeled exercise equipment: treadmill, weight bench or exercise bike."""
    dark, grey = jitter(rng, (40, 40, 45), 6), jitter(rng, (120, 120, 125), 10)
    if variant == 'bench':
        w, d, h = rng.uniform(0.3, 0.4), rng.uniform(1.1, 1.3), rng.uniform(0.42, 0.48)
        parts = [
            _box(0, 0, 0, w * 0.3, d * 0.8, h - 0.06, grey),
            _box(0, 0, h - 0.06, w, d, 0.06, jitter(rng, pick(rng, FABRICS)))
        ]
        return Thing('equipment', parts, w / 2, d / 2, h)
    if variant == 'bike':
        w, d, h = 0.5, rng.uniform(0.95, 1.1), rng.uniform(1.1, 1.3)
        parts = [
            _box(0, 0, 0, w, d, 0.06, dark),
            _box(0, 0.1, 0.06, 0.1, 0.5, 0.5, grey),
            _box(0, 0.25, 0.56, 0.25, 0.3, 0.08, dark),
            _box(0, -d / 2 + 0.1, 0.06, 0.08, 0.08, h - 0.06, grey),
            _box(0, -d / 2 + 0.1, h - 0.05, w, 0.06, 0.05, dark)
        ]
        return Thing('equipment', parts, w / 2, d / 2, h)
    w, d, h = rng.uniform(0.75, 0.9), rng.uniform(1.7, 2.0), rng.uniform(1.3, 1.5)
    parts = [
        _box(0, 0.1, 0, w, d - 0.2, 0.22, dark),
        _box(0, 0.1, 0.22, w - 0.2, d - 0.3, 0.01, (25, 25, 25)),
        _box(-w / 2 + 0.04, -d / 2 + 0.1, 0, 0.06, 0.08, h, grey),
        _box(w / 2 - 0.04, -d / 2 + 0.1, 0, 0.06, 0.08, h, grey),
        _box(0, -d / 2 + 0.12, h - 0.1, w, 0.25, 0.1, jitter(rng, (60, 60, 70), 8), 'screen')
    ]
    return Thing('equipment', parts, w / 2, d / 2, h)


def _panel(rng, variant='picture', **kw):
    """Unlabeled flat thing on a wall (its base height set by the planner): whiteboard, picture,
    window or mirror."""
    if variant == 'board':
        w, h, col, tex = (rng.uniform(1.2, 2.2), rng.uniform(0.9, 1.2), jitter(rng, WHITE,
                                                                               4), 'plain')
    elif variant == 'window':
        w, h, col, tex = (rng.uniform(0.8, 1.6), rng.uniform(1.1,
                                                             1.5), jitter(rng, (205, 225, 245),
                                                                          10), 'emissive')
    elif variant == 'mirror':
        w, h, col, tex = (rng.uniform(1.0, 2.4), rng.uniform(1.6,
                                                             1.9), jitter(rng, (150, 165, 180),
                                                                          10), 'plain')
    else:
        w, h, col, tex = (rng.uniform(0.35, 0.9), rng.uniform(0.3, 0.7),
                          jitter(rng, pick(rng, BOOKS + FABRICS), 30), 'screen')
    frame = jitter(rng, pick(rng, [(40, 40, 40), (235, 235, 230), (120, 85, 50)]), 6)
    parts = [
        _box(0, 0, 0, w + 0.06, 0.03, h + 0.06, frame),
        _box(0, -0.017, 0.03, w, 0.004, h, col, tex)
    ]
    return Thing('panel', parts, w / 2 + 0.03, 0.02, h + 0.06)


def _plant(rng, **kw):
    """Unlabeled potted plant."""
    s, ph = rng.uniform(0.25, 0.4), rng.uniform(0.25, 0.4)
    h = rng.uniform(0.6, 1.4)
    green = jitter(rng, (60, 110, 55), 20)
    parts = [_box(0, 0, 0, s, s, ph, jitter(rng, (170, 95, 60), 15))]
    for k in range(3):
        fw = s * rng.uniform(1.1, 1.6)
        parts.append(
            _box(
                0,
                0,
                ph + k * (h - ph) / 3,
                fw * (1 - 0.25 * k),
                fw * (1 - 0.25 * k), (h - ph) / 3 + 0.02,
                jitter(rng, green, 10),
                'fabric',
                yaw=rng.uniform(0, math.pi / 2)))
    r = max(s, parts[1].half[0] * 1.2)
    return Thing('plant', parts, r, r, h)


def _rug(rng, **kw):
    """Unlabeled rug flat on the floor (furniture may stand on it)."""
    w, d = rng.uniform(1.4, 2.4), rng.uniform(1.0, 1.7)
    col = jitter(rng, pick(rng, FABRICS + BEDDING), 15)
    return Thing('rug', [_box(0, 0, 0, w, d, 0.012, col, 'fabric')], w / 2, d / 2, 0.012)


TEMPLATES = {
    'bathtub': _bathtub,
    'bed': _bed,
    'bookshelf': _bookshelf,
    'box': _cardboard_box,
    'chair': _chair,
    'counter': _counter,
    'desk': _desk,
    'door': _door,
    'dresser': _dresser,
    'garbage bin': _garbage_bin,
    'lamp': _lamp,
    'monitor': _monitor,
    'night stand': _night_stand,
    'pillow': _pillow,
    'sink': _sink,
    'sofa': _sofa,
    'table': _table,
    'television': _television,
    'toilet': _toilet,
    # clutter
    'appliance': _appliance,
    'book': _book,
    'cabinet': _cabinet,
    'equipment': _equipment,
    'panel': _panel,
    'plant': _plant,
    'rug': _rug
}


def make_thing(cls: str,
               rng: np.random.Generator,
               x: float = 0.,
               y: float = 0.,
               yaw: float = 0.,
               z: float = 0.,
               instance: int = 1,
               **variant) -> Thing:
    """A thing of class ``cls`` (a detection class or clutter, see TEMPLATES) with random
    class-typical dimensions and colours, its base centre at (x, y, z), rotated by ``yaw`` (front =
    local -y; yaw 0 faces south, i.e. toward a camera looking north). ``variant``:
    ``lamp``: 'table' | 'floor'; ``table``: 'dining' | 'coffee' | 'small' | 'conference';
    ``desk``: 'office' | 'school'; ``sofa``: 'sofa' | 'armchair'; ``sink``: 'pedestal' |
    'counter'; ``cabinet``: 'tall' | 'filing' | 'wall'; ``appliance``: 'fridge' | 'washer' |
    'stove' | 'printer' | 'microwave'; ``equipment``: 'treadmill' | 'bench' | 'bike';
    ``panel``: 'picture' | 'board' | 'window' | 'mirror'.

    Args:
        cls (str): The class (a key of TEMPLATES).
        rng (np.random.Generator): Random generator.
        x (float): Base centre x, metres. Defaults to 0.
        y (float): Base centre y, metres. Defaults to 0.
        yaw (float): Rotation about the vertical axis, radians. Defaults to 0.
        z (float): Base height, metres. Defaults to 0.
        instance (int): Instance number of its parts. Defaults to 1.
        **variant: The template's variant (above).

    Returns:
        Thing: The thing.
    """
    thing = TEMPLATES[cls](rng, **variant)
    thing.x, thing.y, thing.z, thing.yaw, thing.instance = x, y, z, yaw, instance
    return thing
