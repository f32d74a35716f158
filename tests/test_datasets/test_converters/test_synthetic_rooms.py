"""The synthetic NYUv2 generator: official file layout, geometry, determinism, content."""
import importlib.util
import json
import math
import os.path as osp
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image
from scipy import ndimage

from mmrock_data.converters.nyuv2_mat import (backproject, convert_nyuv2, kinect_intrinsics,
                                              normals_from_depth)
from mmrock_data.converters.synthetic_rooms import (SCENE_TYPES, TEMPLATES, Camera, Room,
                                                    make_synthetic_nyuv2, make_thing, render,
                                                    sample_room)
from mmrock_data.nyuv2_meta import DETECTION_CLASSES, NAME_INDEX, NUM_NAMES, SCENE_CLASSES
from conftest import run_terminated

REPO = Path(__file__).resolve().parents[3]
N, H, W = 8, 48, 64


def _strings(f, name):
    """Decode a MATLAB v7.3 cell array of strings with plain h5py."""
    out = []
    for ref in f[name][()].ravel():
        codes = f[ref][()]
        assert codes.dtype == np.uint16 and codes.ndim == 2 and codes.shape[1] == 1
        out.append(''.join(chr(c) for c in codes[:, 0]))
    return out


def _assert_instances_count_from_one(labels, instances):
    """Per image (H, W) and label > 0: the instance numbers present are exactly 1..k."""
    for lab, ins in zip(labels, instances):
        assert np.all(ins[lab == 0] == 0)
        for value in np.unique(lab[lab > 0]):
            present = np.unique(ins[lab == value])
            assert present.tolist() == list(range(1, len(present) + 1)), (value, present)


def _angle_deg(a, b):
    cos = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp('synthetic')
    info = make_synthetic_nyuv2(out, N, seed=0, height=H, width=W, progress=False)
    return out, info


@pytest.mark.slow
def test_mat_layout_matches_the_official_file(generated):
    out, info = generated
    path = osp.join(out, 'nyu_depth_v2_labeled.mat')
    assert info['mat'] == path
    with open(path, 'rb') as fh:
        header = fh.read(512)
    assert header.startswith(b'MATLAB 7.3 MAT-file')
    assert header[126:128] == b'IM'
    assert h5py.is_hdf5(path)
    with h5py.File(path, 'r') as f:
        assert f.userblock_size == 512
        expect = {
            'images': ((N, 3, W, H), np.uint8),
            'depths': ((N, W, H), np.float32),
            'rawDepths': ((N, W, H), np.float32),
            'labels': ((N, W, H), np.uint16),
            'instances': ((N, W, H), np.uint8)
        }
        for name, (shape, dtype) in expect.items():
            assert f[name].shape == shape and f[name].dtype == dtype, name
        for name, size in (('names', NUM_NAMES), ('sceneTypes', N), ('scenes', N)):
            assert f[name].shape == (1, size)
            assert h5py.check_dtype(ref=f[name].dtype) is h5py.Reference
        names = _strings(f, 'names')
        for cls, index in NAME_INDEX.items():
            assert names[index - 1] == cls
        fillers = [n for i, n in enumerate(names) if i + 1 not in NAME_INDEX.values()]
        assert all(re.fullmatch(r'name_\d{3}', n) for n in fillers)
        assert names[1] == 'name_002'
        scene_types, scenes = _strings(f, 'sceneTypes'), _strings(f, 'scenes')
        assert scene_types == info['scene_types'] and scenes == info['scenes']
        for st, sc in zip(scene_types, scenes):
            assert st in SCENE_TYPES and st in SCENE_CLASSES
            assert re.fullmatch(re.escape(st) + r'_\d{4}', sc)
        depths, raw = f['depths'][()], f['rawDepths'][()]
        labels, instances = f['labels'][()], f['instances'][()]
        images = f['images'][()]
    assert np.all(np.isfinite(depths)) and depths.min() > 0.3 and depths.max() < 10
    assert np.all((raw == 0) | (raw == depths)) and (raw == 0).any()
    assert set(np.unique(labels)) <= {0} | set(NAME_INDEX.values())
    _assert_instances_count_from_one(labels, instances)
    assert images.std() > 20  # not blank
    # splits.mat: MATLAB v5, 1-based columns, split by scene, about 55/45
    splits = scipy.io.loadmat(info['splits'])
    train, test = splits['trainNdxs'], splits['testNdxs']
    assert train.ndim == 2 and train.shape[1] == 1 and test.shape[1] == 1
    assert train.dtype.kind == 'u' and test.dtype.kind == 'u'  # usable as indices as loaded
    train, test = train.ravel() - 1, test.ravel() - 1
    assert sorted(np.r_[train, test].tolist()) == list(range(N))
    assert train.tolist() == info['train'] and test.tolist() == info['test']
    assert not {scenes[i] for i in train} & {scenes[i] for i in test}
    assert 0.3 <= len(train) / N <= 0.8
    # normals_gt: 0-based names, RGB normals and masks = valid raw depth
    for i in range(N):
        normals = np.asarray(Image.open(osp.join(out, 'normals_gt', 'normals', f'{i:04d}.png')))
        mask = np.asarray(Image.open(osp.join(out, 'normals_gt', 'masks', f'{i:04d}.png')))
        assert normals.shape == (H, W, 3) and normals.dtype == np.uint8
        assert mask.shape == (H, W)
        np.testing.assert_array_equal(mask > 0, raw[i].T > 0)
        n = normals.astype(float) * 2 / 255 - 1
        assert np.allclose(np.linalg.norm(n[mask > 0], axis=-1), 1, atol=0.02)
    with open(info['val_split']) as fh:
        val = fh.read().split()
    assert set(val) <= {scenes[i] for i in train}


@pytest.mark.slow
def test_deterministic_given_seed(generated, tmp_path):
    out, info = generated
    again = make_synthetic_nyuv2(tmp_path / 'again', N, seed=0, height=H, width=W, progress=False)
    other = make_synthetic_nyuv2(tmp_path / 'other', 3, seed=1, height=H, width=W, progress=False)
    with h5py.File(info['mat'], 'r') as a, h5py.File(again['mat'], 'r') as b, \
            h5py.File(other['mat'], 'r') as c:
        for name in ('images', 'depths', 'rawDepths', 'labels', 'instances'):
            np.testing.assert_array_equal(a[name][()], b[name][()])
        assert not np.array_equal(a['images'][:3], c['images'][()])
    assert (info['scenes'], info['train'], info['val_scenes']) == \
        (again['scenes'], again['train'], again['val_scenes'])
    for i in range(N):
        name = f'normals_gt/normals/{i:04d}.png'
        assert (Path(out) / name).read_bytes() == (tmp_path / 'again' / name).read_bytes()


def _floor_room():
    room = Room((4.0, 5.0, 2.8), 'bedroom', [])
    camera = Camera((2.0, 0.6, 1.4), yaw=0.15, pitch=-0.55, roll=0.03)
    return room, camera


def test_plane_depth_and_normals_are_consistent():
    room, camera = _floor_room()
    h, w = 120, 160
    out = render(room, camera, h, w)
    rot = camera.rotation()
    floor = out['labels'] == NAME_INDEX['floor']
    assert floor.mean() > 0.3
    up_cam = rot.T @ np.array([0., 0., 1.])  # world up in the camera frame
    assert up_cam[1] < 0  # y points down in the camera frame
    np.testing.assert_allclose(
        out['normals'][floor], np.broadcast_to(up_cam, (floor.sum(), 3)), atol=1e-5)
    # back-projected floor pixels lie on the plane z = 0
    pts = backproject(out['depth'], kinect_intrinsics(h, w))
    world = pts @ rot.T + np.asarray(camera.position)
    assert np.abs(world[..., 2][floor]).max() < 1e-3
    # normals computed from the depth agree with the rendered ones (< 2 degrees) on every plane
    normals, mask = normals_from_depth(out['depth'])
    interior = mask & (
        ndimage.minimum_filter(out['part'], 3) == ndimage.maximum_filter(out['part'], 3))
    assert interior.sum() > 0.8 * (h - 2) * (w - 2) * 0.9
    assert _angle_deg(normals[interior], out['normals'][interior]).max() < 2.
    # and every rendered normal faces the camera
    rays = pts / np.linalg.norm(pts, axis=-1, keepdims=True)
    assert np.all(np.sum(out['normals'] * rays, axis=-1) < 0)


def test_forced_layout_through_the_written_files(tmp_path):
    room, camera = _floor_room()
    info = make_synthetic_nyuv2(
        tmp_path,
        3,
        seed=4,
        height=60,
        width=80,
        forced_layouts={1: (room, camera)},
        progress=False)
    ref = render(room, camera, 60, 80)
    with h5py.File(info['mat'], 'r') as f:
        np.testing.assert_array_equal(f['depths'][1].T, ref['depth'])
        np.testing.assert_array_equal(f['labels'][1].T, ref['labels'])
    assert info['scene_types'][1] == 'bedroom'
    png = np.asarray(Image.open(tmp_path / 'normals_gt' / 'normals' / '0001.png'))
    mask = np.asarray(Image.open(tmp_path / 'normals_gt' / 'masks' / '0001.png')) > 0
    floor = (ref['labels'] == NAME_INDEX['floor']) & mask
    decoded = png.astype(float) * 2 / 255 - 1
    up_cam = camera.rotation().T @ np.array([0., 0., 1.])
    assert _angle_deg(decoded[floor], up_cam[None]).max() < 1.


def test_fragmented_instance_and_instance_numbers():
    rng = np.random.default_rng(0)
    room = Room((4.0, 5.0, 2.8), 'living_room')
    sofa = make_thing('sofa', rng, x=2.0, y=4.5, instance=1)
    sofa.y = 5.0 - sofa.hy - 0.01
    lamp = make_thing('lamp', rng, x=2.0, y=3.2, instance=1, variant='floor')
    # chair 2 stands behind the camera: the image numbers the chairs it shows 1, 2
    chairs = [
        make_thing('chair', rng, x=x, y=y, yaw=math.pi, instance=k + 1)
        for k, (x, y) in enumerate(((0.8, 2.6), (2.0, 0.2), (3.2, 2.6)))
    ]
    room.things = [sofa, lamp] + chairs
    camera = Camera((2.0, 0.4, 1.4), yaw=0., pitch=-0.3)
    out = render(room, camera, 120, 160)
    sofa_px = out['labels'] == NAME_INDEX['sofa']
    assert ndimage.label(sofa_px)[1] == 2  # the lamp's pole cuts the sofa in two
    assert set(np.unique(out['instances'][sofa_px])) == {1}
    chair_px = out['labels'] == NAME_INDEX['chair']
    assert set(np.unique(out['instances'][chair_px])) == {1, 2}
    assert set(np.unique(out['instances'][chair_px & (np.arange(160) > 80)])) == {2}
    _assert_instances_count_from_one(out['labels'][None], out['instances'][None])


# required things of each scene type (detection classes and clutter)
SIGNATURES = {
    'basement': {'box'},
    'bathroom': {'toilet', 'sink'},
    'bedroom': {'bed'},
    'bookstore': {'bookshelf'},
    'cafe': {'table', 'chair'},
    'classroom': {'desk'},
    'computer_lab': {'desk'},
    'conference_room': {'table', 'chair'},
    'dinette': {'table', 'chair'},
    'dining_room': {'table', 'chair'},
    'exercise_room': {'equipment', 'box', 'garbage bin'},
    'foyer': {'door'},
    'furniture_store': {'sofa'},
    'home_office': {'desk', 'monitor'},
    'home_storage': {'bookshelf', 'box'},
    'indoor_balcony': {'table', 'chair'},
    'kitchen': {'counter', 'sink'},
    'laundry_room': {'appliance', 'counter', 'garbage bin'},
    'living_room': {'sofa', 'television'},
    'office': {'desk', 'monitor'},
    'office_kitchen': {'counter', 'sink', 'appliance', 'garbage bin'},
    'playroom': {'box'},
    'printer_room': {'appliance', 'counter', 'box'},
    'reception_room': {'counter', 'chair'},
    'student_lounge': {'sofa'},
    'study': {'desk', 'bookshelf'},
    'study_room': {'table', 'chair'}
}


@pytest.mark.slow
def test_scene_types_follow_the_furniture():
    assert SCENE_TYPES == SCENE_CLASSES and set(SIGNATURES) == set(SCENE_TYPES)
    seen = set()
    for j, scene_type in enumerate(SCENE_TYPES):
        for k in range(3):
            room, camera = sample_room(np.random.default_rng((11, j, k)), scene_type)
            classes = {t.cls for t in room.things}
            assert SIGNATURES[scene_type] <= classes, (scene_type, classes)
            assert classes <= set(TEMPLATES)
            out = render(room, camera, 60, 80)
            visible = [(c, i) for c in DETECTION_CLASSES
                       for i in np.unique(out['instances'][out['labels'] == NAME_INDEX[c]])]
            assert len(visible) >= 2, (scene_type, visible)
            seen |= {c for c, _ in visible}
            counts = {}
            for t in room.things:  # instance numbers count within each class from 1
                counts.setdefault(t.cls, []).append(t.instance)
            assert all(sorted(v) == list(range(1, len(v) + 1)) for v in counts.values())
    assert seen == set(DETECTION_CLASSES)


def test_scene_types_differ_in_content_not_in_colour():
    """Leave-one-out nearest centroid over 27 x 6 rooms: the counts of things per class and the
    room's size tell the scene type apart; the wall and floor colours hardly do (chance: 1/27)."""
    classes = sorted(TEMPLATES)
    content, colour, scene = [], [], []
    for j, scene_type in enumerate(SCENE_TYPES):
        for k in range(6):
            room, _ = sample_room(np.random.default_rng((13, j, k)), scene_type)
            counts = np.bincount([classes.index(t.cls) for t in room.things],
                                 minlength=len(classes))
            content.append(np.r_[np.log1p(counts), room.size[0] * room.size[1] / 10, room.size[2]])
            colour.append(np.r_[room.wall_color, room.floor_color] / 64)
            scene.append(j)
    scene = np.array(scene)

    def accuracy(x):
        x, hits = np.asarray(x), 0
        for i in range(len(x)):
            others = np.arange(len(x)) != i
            centroids = np.stack([x[others & (scene == j)].mean(0) for j in range(27)])
            hits += np.argmin(((centroids - x[i])**2).sum(1)) == scene[i]
        return hits / len(x)

    assert accuracy(content) > 0.7
    assert accuracy(colour) < 0.25


@pytest.mark.slow
def test_every_scene_type_is_generated_and_converted(tmp_path):
    layouts = {
        j: sample_room(np.random.default_rng((17, j)), scene_type)
        for j, scene_type in enumerate(SCENE_TYPES)
    }
    info = make_synthetic_nyuv2(
        tmp_path / 'raw',
        len(SCENE_TYPES),
        seed=5,
        height=48,
        width=64,
        forced_layouts=layouts,
        progress=False)
    assert info['scene_types'] == list(SCENE_TYPES)
    with h5py.File(info['mat'], 'r') as f:
        _assert_instances_count_from_one(f['labels'][()].transpose(0, 2, 1),
                                         f['instances'][()].transpose(0, 2, 1))
    convert_nyuv2(
        info['mat'], info['splits'], tmp_path / 'out', normals_dir=info['normals'], progress=False)
    images = []
    for split in ('train', 'test'):
        with open(tmp_path / 'out' / 'annotations' / f'nyuv2_{split}.json') as fh:
            images += json.load(fh)['images']
    assert sorted(img['nyu_index'] for img in images) == list(range(len(SCENE_TYPES)))
    for img in images:
        assert img['scene'] == SCENE_TYPES[img['nyu_index']]
        assert SCENE_CLASSES[img['scene_id']] == img['scene']


def test_objects_are_clearly_visible():
    """Rooms rendered at 480x640: several boxes of decent size per image."""
    areas, per_image = [], []
    for k in range(4):
        room, camera = sample_room(np.random.default_rng((12, k)))
        out = render(room, camera, 240, 320)
        n = 0
        for c in DETECTION_CLASSES:
            m = out['labels'] == NAME_INDEX[c]
            for v in np.unique(out['instances'][m]):
                ys, xs = np.nonzero(m & (out['instances'] == v))
                areas.append((np.ptp(xs) + 1) * (np.ptp(ys) + 1) * 4)  # in 480x640 pixels
                n += 1
        per_image.append(n)
    assert min(per_image) >= 2
    assert np.median(areas) > 32**2


def test_cli(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'make_synthetic_nyuv2_cli',
        REPO / 'tools' / 'dataset_converters' / 'make_synthetic_nyuv2.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    assert cli.main([
        '--out',
        str(tmp_path / 'syn'), '--num', '2', '--seed', '3', '--height', '24', '--width', '32',
        '--no-progress'
    ]) == 0
    for name in ('nyu_depth_v2_labeled.mat', 'splits.mat', 'normals_gt/normals/0001.png',
                 'normals_gt/masks/0000.png', 'val_scenes.txt'):
        assert (tmp_path / 'syn' / name).is_file()
    with h5py.File(tmp_path / 'syn' / 'nyu_depth_v2_labeled.mat', 'r') as f:
        assert f['images'].shape == (2, 3, 32, 24)


def test_sigterm_leaves_no_partial_mat(tmp_path):
    out = tmp_path / 'raw'
    cli = REPO / 'tools' / 'dataset_converters' / 'make_synthetic_nyuv2.py'
    # SIGTERM after the second room
    proc = run_terminated('mmrock_data.converters.synthetic_rooms.generate', 'write_normals_png', 2,
                          cli, '--out', out, '--num', 4, '--height', 48, '--width', 64,
                          '--no-progress')
    assert proc.returncode == 143, proc.stderr
    assert not [p.name for p in out.iterdir() if p.suffix in ('.mat', '.part')]
