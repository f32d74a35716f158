"""Furniture placement in a room: no intersections, every thing seen by the first camera."""
import math
from typing import Dict, List, Optional

import numpy as np

from ...nyuv2_meta import IMAGE_HW
from ..nyuv2_mat import kinect_intrinsics
from .catalogue import make_thing, pick
from .scene import Camera, Thing


class Retry(Exception):
    """A required thing found no place: lay the room out again."""


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


class Planner:
    """Places things in a room so that they do not intersect and are seen by camera 0.

    Things on the floor avoid each other and the camera; things hung on a wall (``z`` > 0) or
    flat on the floor (rugs) only avoid each other; things on a top surface avoid their siblings.

    Args:
        rng (np.random.Generator): Random generator.
        size (tuple[float, float, float]): (W, D, H) of the room, metres.
        camera (Camera): Camera 0.
    """

    WALL_YAW = {'far': 0., 'left': math.pi / 2, 'right': -math.pi / 2}

    def __init__(self, rng, size, camera):
        self.rng, self.size, self.camera = rng, size, camera
        self.things: List[Thing] = []
        self.floor: List[Thing] = []
        self.off_floor: List[Thing] = []
        self.counts: Dict[str, int] = {}
        self.intr = kinect_intrinsics(*IMAGE_HW)

    def chance(self, p: float) -> bool:
        """A random draw.

        Args:
            p (float): Probability of True.

        Returns:
            bool: The draw.
        """
        return bool(self.rng.random() < p)

    def _add(self, thing: Thing, level: Optional[List[Thing]]) -> Thing:
        self.counts[thing.cls] = self.counts.get(thing.cls, 0) + 1
        thing.instance = self.counts[thing.cls]
        self.things.append(thing)
        if level is not None:
            level.append(thing)
        return thing

    def _fits(self, thing: Thing, ignore: Optional[Thing] = None, floor: bool = True) -> bool:
        w, d, _ = self.size
        fp = thing.footprint()
        c, s = math.cos(fp[4]), math.sin(fp[4])
        for sx in (-1, 1):
            for sy in (-1, 1):
                px = fp[0] + c * sx * fp[2] - s * sy * fp[3]
                py = fp[1] + s * sx * fp[2] + c * sy * fp[3]
                if not (0.0 <= px <= w and 0.0 <= py <= d):
                    return False
        if not floor:
            return not any(_obb_overlap(fp, o.footprint()) for o in self.off_floor)
        cam = self.camera.position
        if math.hypot(fp[0] - cam[0], fp[1] - cam[1]) < 0.9 + max(fp[2], fp[3]) or \
                fp[1] - max(fp[2], fp[3]) < cam[1] + 0.5:
            return False
        return not any(_obb_overlap(fp, o.footprint()) for o in self.floor if o is not ignore)

    def _visible(self, thing: Thing) -> bool:
        u, v, z = _project(self.camera, [thing.to_world(0, 0, thing.height / 2)], self.intr)[0]
        h, w = IMAGE_HW
        return z > 0.7 and 0.04 * w < u < 0.96 * w and 0.04 * h < v < 0.96 * h

    def _try(self,
             cls,
             poses,
             tries=40,
             ignore=None,
             floor=True,
             z=0.,
             **variant) -> Optional[Thing]:
        thing = make_thing(cls, self.rng, z=z, **variant)
        for _ in range(tries):
            pose = poses(thing)
            if pose is None:
                continue
            thing.x, thing.y, thing.yaw = pose
            if self._fits(thing, ignore, floor) and self._visible(thing):
                return self._add(thing, self.floor if floor else self.off_floor)
        return None

    def wall(self, cls, walls=('far', 'far', 'left', 'right'), required=False, z=0., **variant):
        """A thing against a wall, facing into the room.

        Args:
            cls (str): Its class.
            walls (Sequence[str]): Walls drawn from ('far', 'left', 'right'; repeats weigh).
            required (bool): Raise :class:`Retry` when it finds no place. Defaults to False.
            z (float): Hung at this height when > 0, metres. Defaults to 0.
            **variant: The template's variant (:func:`make_thing`).

        Returns:
            Thing | None: The placed thing, or None.
        """
        w, d, _ = self.size

        def poses(t):
            side = pick(self.rng, walls)
            length = w if side == 'far' else d
            if length < 2 * t.hx + 0.1:
                return None
            s = self.rng.uniform(t.hx + 0.05, length - t.hx - 0.05)
            off = t.hy + 0.005
            if side == 'far':
                return s, d - off, 0.
            return (off, s, math.pi / 2) if side == 'left' else (w - off, s, -math.pi / 2)

        thing = self._try(cls, poses, floor=z <= 0, z=z, **variant)
        if thing is None and required:
            raise Retry(cls)
        return thing

    def free(self, cls, required=False, face_camera=True, floor=True, **variant):
        """A thing in the open, facing the camera or axis-aligned.

        Args:
            cls (str): Its class.
            required (bool): Raise :class:`Retry` when it finds no place. Defaults to False.
            face_camera (bool): Face the camera, else axis-aligned. Defaults to True.
            floor (bool): Avoid the floor things; False: flat (rug). Defaults to True.
            **variant: The template's variant (:func:`make_thing`).

        Returns:
            Thing | None: The placed thing, or None.
        """
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

        thing = self._try(cls, poses, floor=floor, **variant)
        if thing is None and required:
            raise Retry(cls)
        return thing

    def grid(self, cls, rows: int, cols: int, **variant) -> List[Thing]:
        """Things in regular rows facing the camera's wall (classroom, computer lab); cells where
        a thing does not fit stay empty.

        Args:
            cls (str): Their class.
            rows (int): Rows of the grid.
            cols (int): Columns of the grid.
            **variant: The template's variant (:func:`make_thing`).

        Returns:
            list[Thing]: Up to ``rows`` x ``cols`` placed things.
        """
        w, d, _ = self.size
        y0, y1 = self.camera.position[1] + 1.4, d - 0.9
        out = []
        for r in range(rows):
            for c in range(cols):
                x = (c + 0.5) * w / cols + self.rng.uniform(-0.05, 0.05)
                y = y0 + (r + 0.5) * (y1 - y0) / rows + self.rng.uniform(-0.05, 0.05)
                thing = self._try(
                    cls, lambda t: (x, y, self.rng.uniform(-0.05, 0.05)), tries=1, **variant)
                if thing is not None:
                    out.append(thing)
        return out

    def beside(self, cls, parent: Thing, side: int, **variant):
        """A thing beside ``parent``, back-aligned with it and facing the same way.

        Args:
            cls (str): Its class.
            parent (Thing): The thing it stands beside.
            side (int): -1 (parent's local -x) or 1 (local +x).
            **variant: The template's variant (:func:`make_thing`).

        Returns:
            Thing | None: The placed thing, or None.
        """

        def poses(t):
            lx = side * (parent.hx + t.hx + self.rng.uniform(0.03, 0.15))
            x, y, _ = parent.to_world(lx, parent.hy - t.hy)
            return x, y, parent.yaw

        return self._try(cls, poses, tries=3, **variant)

    def around(self, cls, parent: Thing, sides=('front', 'back', 'left', 'right'), **variant):
        """A thing (chair) next to one of a parent's sides, facing its centre.

        Args:
            cls (str): Its class.
            parent (Thing): The thing it stands around.
            sides (Sequence[str]): Sides drawn from ('front', 'back', 'left', 'right').
            **variant: The template's variant (:func:`make_thing`).

        Returns:
            Thing | None: The placed thing, or None.
        """

        def poses(t):
            side = pick(self.rng, sides)
            gap = t.hy + self.rng.uniform(-0.1, 0.05)
            lx = {
                'left': -parent.hx - gap,
                'right': parent.hx + gap
            }.get(side, self.rng.uniform(-parent.hx + t.hx, parent.hx - t.hx))
            ly = {
                'front': -parent.hy - gap,
                'back': parent.hy + gap
            }.get(side, self.rng.uniform(-parent.hy / 2, parent.hy / 2))
            x, y, _ = parent.to_world(lx, ly)
            yaw = math.atan2(-(parent.x - x), (parent.y - y)) + math.pi
            return x, y, yaw + self.rng.uniform(-0.3, 0.3)

        return self._try(cls, poses, tries=12, ignore=parent, **variant)

    def on(self, cls, parent: Optional[Thing], region='any', max_yaw=0.35, **variant):
        """A thing standing on a parent's top surface.

        Args:
            cls (str): Its class.
            parent (Thing, optional): The thing it stands on (None, or no top: nothing).
            region (str): 'any' or 'back' of the top. Defaults to 'any'.
            max_yaw (float): Largest turn from the parent's orientation, radians. Defaults to
                0.35.
            **variant: The template's variant (:func:`make_thing`).

        Returns:
            Thing | None: The placed thing, or None.
        """
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
                return self._add(thing, None)
        return None

    def occlude(self, candidates=('sofa', 'bed', 'dresser', 'counter', 'table', 'desk')):
        """A floor lamp between the camera and a wide thing: that thing shows in two fragments.

        Args:
            candidates (Sequence[str]): Classes of the things it may occlude.

        Returns:
            Thing | None: The placed lamp, or None.
        """
        cam = self.camera.position
        targets = [t for t in self.floor if t.cls in candidates and t.hx > 0.45]
        if not targets:
            return None
        target = pick(self.rng, targets)
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
                return self._add(lamp, self.floor)
        return None
