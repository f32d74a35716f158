"""Ray-casting a room: exact z-depth, normals, labels and instances, and a shaded RGB image.

Rendering is vectorised ray casting (slab test per cuboid, restricted to the cuboid's screen
rectangle): exact z-depth (metres), normals, labels and instances per pixel; RGB = Lambertian
shading (a ceiling point light + a camera fill light + ambient) of per-part base colours with
procedural wood / tile / fabric / screen textures and noise. Instance numbers are renumbered per
image so that the visible instances of each label are 1..k (a hidden chair leaves no gap).
"""
import math
from functools import lru_cache
from typing import Dict, Optional, Sequence

import numpy as np

from ...nyuv2_meta import IMAGE_HW
from ..nyuv2_mat import kinect_intrinsics
from .catalogue import TEXTURES, label_id
from .scene import Camera, Room

_TEX = {name: k for k, name in enumerate(TEXTURES)}
_NOISE = np.array([3., 3., 7., 3., 2., 2.], np.float32)  # per-texture noise sigma (0-255)


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


def render(room: Room,
           camera: Camera,
           height: int = IMAGE_HW[0],
           width: int = IMAGE_HW[1],
           rng: Optional[np.random.Generator] = None) -> Dict[str, np.ndarray]:
    """Ray-cast a room.

    Args:
        room (Room): The room.
        camera (Camera): The camera.
        height (int): Image height. Defaults to 480.
        width (int): Image width. Defaults to 640.
        rng (np.random.Generator, optional): Draws the image noise. Defaults to None (no
            noise).

    Returns:
        dict[str, np.ndarray]: ``rgb`` (H, W, 3) uint8, ``depth`` (H, W) float32 z-depth in
        metres, ``normals`` (H, W, 3) float32 unit normals in the camera frame (x right, y down,
        z forward; facing the camera), ``labels`` (H, W) uint16 (NAME_INDEX values, 0:
        unlabeled clutter), ``instances`` (H, W) uint8 (1..k within each label, 0 where the
        label is 0) and ``part`` (H, W) int32 (0-5: floor, ceiling, west, east, north, south
        wall; 6+: cuboids).
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
                     [np.where(positive, 1, 0),
                      np.where(positive, 3, 2),
                      np.where(positive, 4, 5)]).astype(np.int32)
    normals = np.zeros((height, width, 3), np.float32)
    np.put_along_axis(normals, axis[..., None],
                      np.where(positive, -1., 1.)[..., None].astype(np.float32), -1)

    colors = [room.floor_color, room.ceiling_color] + [room.wall_color] * 4
    textures = [room.floor_texture, 'plain'] + [room.wall_texture] * 4
    labels = [label_id('floor'), label_id('ceiling')] + [label_id('wall')] * 4
    insts = [1, 1, 1, 2, 3, 4]
    own = {}  # label name of parts labelled on their own (books) -> parts so far
    for thing in room.things:
        for center, half, yaw, p in thing.world_boxes():
            pid = len(colors)
            colors.append(p.color)
            textures.append(p.texture)
            if p.label is None:
                labels.append(label_id(thing.cls))
                insts.append(thing.instance)
            else:
                own[p.label] = own.get(p.label, 0) + 1
                labels.append(label_id(p.label))
                insts.append(own[p.label])
            _cast_box(center, half, yaw, origin, rot, intr, dirs, depth, normals, part, pid)

    lut_label = np.asarray(labels, np.uint16)
    lut_inst = _renumber(lut_label, np.asarray(insts), part)
    normals_cam = normals @ rot  # world -> camera: n_c = R^T n_w
    rgb = _shade(room, origin, dirs, depth, normals, part, np.asarray(colors, np.float32),
                 np.asarray([_TEX[t] for t in textures]), rng)
    return {
        'rgb': rgb,
        'depth': depth,
        'normals': normals_cam.astype(np.float32),
        'labels': lut_label[part],
        'instances': lut_inst[part],
        'part': part
    }


def _renumber(labels: np.ndarray, instances: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Instance number (P,) uint8 of each part such that, among the parts seen in ``part``
    (H, W), the instances of each label are 1..k in the order of their numbers ``instances``
    (P,); 0 for label 0 (unlabeled) and for parts not seen; any beyond 255 share 255."""
    seen = np.bincount(part.ravel(), minlength=len(labels)) > 0
    out = np.zeros(len(labels), np.uint8)
    for label in np.unique(labels[seen]):
        if label:
            sel = seen & (labels == label)
            out[sel] = np.minimum(np.unique(instances[sel], return_inverse=True)[1] + 1, 255)
    return out


def _cast_box(center, half, yaw, origin, rot, intr, dirs, depth, normals, part, pid) -> None:
    """Z-buffer one yaw-rotated cuboid into the maps, within its screen rectangle."""
    height, width = depth.shape
    c, s = math.cos(yaw), math.sin(yaw)
    corners = np.array([[sx * half[0], sy * half[1], sz * half[2]] for sx in (-1, 1)
                        for sy in (-1, 1) for sz in (-1, 1)])
    corners = np.stack([
        c * corners[:, 0] - s * corners[:, 1], s * corners[:, 0] + c * corners[:, 1], corners[:, 2]
    ], 1) + center
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
    light = np.asarray(
        room.light if room.light is not None else (rw / 2, rd / 2, rh - 0.15), np.float32)
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
        base[m] = 128 + 100 * np.stack(
            [np.sin(7 * s + 1), np.sin(9 * z[m] + 2),
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


def raw_depth(depth: np.ndarray,
              part: np.ndarray,
              rng: np.random.Generator,
              screen_parts: Sequence[int] = ()) -> np.ndarray:
    """Kinect-like raw depth: 0 at depth discontinuities (1-2 px shadows), in a few random
    blobs and, sometimes, on screens.

    Args:
        depth (np.ndarray): (H, W) depth, metres.
        part (np.ndarray): (H, W) part index of each pixel (:func:`render`).
        rng (np.random.Generator): Random generator.
        screen_parts (Sequence[int]): Part indices of screens. Defaults to none.

    Returns:
        np.ndarray: (H, W) raw depth, metres, 0 where missing.
    """
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
        raw[((yy - cy) / ry)**2 + ((xx - cx) / rx)**2 < 1] = 0
    if len(screen_parts) and rng.random() < 0.5:
        raw[np.isin(part, screen_parts)] = 0
    return raw


def render_image(room: Room, camera: Camera, height: int, width: int,
                 rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """:func:`render` plus ``raw_depth`` and ``normal_mask`` (= raw depth valid).

    Args:
        room (Room): The room.
        camera (Camera): The camera.
        height (int): Image height.
        width (int): Image width.
        rng (np.random.Generator): Random generator (noise, raw depth holes).

    Returns:
        dict[str, np.ndarray]: :func:`render`'s maps, ``raw_depth`` (H, W) float32 and
        ``normal_mask`` (H, W) bool.
    """
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
