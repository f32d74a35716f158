"""Procedural NYUv2-like indoor rooms, written in the layout of the official NYUv2 files.

:func:`make_synthetic_nyuv2` writes, under ``out_dir``:

- ``nyu_depth_v2_labeled.mat``: MATLAB v7.3 = HDF5 with a 512-byte userblock holding a MATLAB text
  header, and h5py-visible datasets as in the real file: ``images`` (N, 3, W, H) uint8, ``depths``
  and ``rawDepths`` (N, W, H) float32 metres (raw: with Kinect-like holes = 0), ``labels``
  (N, W, H) uint16 (1-based index into ``names``, 0 = unlabeled), ``instances`` (N, W, H) uint8
  (1..k within each label of an image), and the cell arrays of strings ``names`` (1, 894),
  ``sceneTypes`` (1, N), ``scenes`` (1, N) as object references to uint16 (len, 1) character
  arrays under ``#refs#``. ``names`` holds the classes of nyuv2_meta.NAME_INDEX at their real
  positions and ``name_XXX`` fillers elsewhere.
- ``splits.mat`` (MATLAB v5): ``trainNdxs`` / ``testNdxs``, 1-based integer column vectors, about
  55/45, split by scene (all views of a room on the same side) like the real split.
- ``normals_gt/normals/NNNN.png`` (v = round((n + 1) / 2 * 255), camera frame) and
  ``normals_gt/masks/NNNN.png`` (255 where the raw depth is valid), 0-based NNNN.
- ``val_scenes.txt``: about 15% of the train scenes, for the converter's ``--val-split``.

Each room is a box (floor, 4 walls, ceiling) of one of the 27 NYUv2 scene types, seen by a
Kinect-like pinhole camera (nyuv2_meta's intrinsics, scaled to the frame) 1.2-1.6 m above the
floor, pitched 10-25 degrees down, with a small yaw / roll, from 1-3 viewpoints (images sharing the
``scenes`` name). Modules, one concern each:

- :mod:`.scene`: the scene description (Part, Thing, Room, Camera).
- :mod:`.catalogue`: cuboid templates of the 19 detection classes and of clutter.
- :mod:`.planner`: placement without intersections, in view of the camera.
- :mod:`.scenes`: the 27 scene recipes, room finishes and sizes, cameras and viewpoints.
- :mod:`.render`: ray casting and shading.
- :mod:`.mat_writer`: the official files.
- :mod:`.generate`: :func:`make_synthetic_nyuv2`.

Everything is deterministic given ``seed``: room k is drawn from
``np.random.default_rng((seed, k))``.
"""
from .catalogue import TEMPLATES, make_thing
from .generate import ROOMS_VERSION, make_synthetic_nyuv2
from .mat_writer import NYUv2MatWriter, default_names, write_normals_png, write_splits_mat
from .render import raw_depth, render, render_image
from .scene import Camera, Part, Room, Thing
from .scenes import SCENE_TYPES, sample_camera, sample_room, sample_view

__all__ = [
    'TEMPLATES', 'make_thing', 'make_synthetic_nyuv2', 'ROOMS_VERSION', 'NYUv2MatWriter',
    'default_names', 'write_normals_png', 'write_splits_mat', 'raw_depth', 'render', 'render_image',
    'Camera', 'Part', 'Room', 'Thing', 'SCENE_TYPES', 'sample_camera', 'sample_room', 'sample_view'
]
