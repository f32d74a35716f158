"""The scene description: cuboid parts, furniture, rooms and cameras.

Frames: world x east, y north (into the room), z up, a room spans [0, W] x [0, D] x [0, H]; camera
frame x right, y down, z forward (optical axis), as in :mod:`..nyuv2_mat`.
"""
import math
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np


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
    """A piece of furniture or clutter: parts in its own frame (front = local -y), footprint half
    sizes ``hx, hy``, height, optional top surface ``(z, cx, cy, hx, hy)`` that can hold other
    things, and its pose (x, y of the base centre, base height z, yaw)."""
    cls: str
    parts: List[Part]
    hx: float
    hy: float
    height: float
    top: Optional[Tuple[float, float, float, float, float]] = None
    clearance: float = 0.  # free floor kept in front (doors)
    x: float = 0.
    y: float = 0.
    z: float = 0.
    yaw: float = 0.
    instance: int = 1
    children: List['Thing'] = field(default_factory=list)

    def to_world(self, lx, ly, lz=0.):
        """A point of the thing's frame in the world frame.

        Args:
            lx (float): Local x, metres.
            ly (float): Local y, metres.
            lz (float): Local z above the base, metres. Defaults to 0.

        Returns:
            tuple[float, float, float]: World (x, y, z).
        """
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
        """The camera's rotation.

        Returns:
            np.ndarray: R (3, 3) whose columns are the camera's x (right), y (down), z (forward)
            axes in the world frame: p_world = position + R @ p_camera.
        """
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        f = np.array([sy * cp, cy * cp, sp])
        r = np.array([cy, -sy, 0.])
        d = np.cross(f, r)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        return np.stack([cr * r + sr * d, -sr * r + cr * d, f], axis=1)
