"""NYUv2 converter: boxes, scenes and splits exactly as built, dense maps, bad inputs, memory,
workers."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image
from scipy import ndimage

from mmrock_data.converters.nyuv2_mat import (NYUv2ConversionError, NYUv2FormatError, convert_nyuv2,
                                              decode_rgb_normals, kinect_intrinsics,
                                              normals_from_depth)
from mmrock_data.converters.synthetic_rooms import (Camera, NYUv2MatWriter, Room, default_names,
                                                    make_synthetic_nyuv2, make_thing,
                                                    write_normals_png, write_splits_mat)
from mmrock_data.nyuv2_meta import DETECTION_CLASSES, NAME_INDEX, SCENE_CLASSES
from conftest import run_terminated

REPO = Path(__file__).resolve().parents[3]
CLI = REPO / 'tools' / 'dataset_converters' / 'nyuv2.py'
CAT = {name: k + 1 for k, name in enumerate(DETECTION_CLASSES)}


def _load_json(out, split):
    with open(Path(out) / 'annotations' / f'nyuv2_{split}.json') as fh:
        return json.load(fh)


def _boxes(coco):
    """{image_id: [(category_id, bbox, nyu_instance)]} in file order."""
    out = {img['id']: [] for img in coco['images']}
    for a in coco['annotations']:
        out[a['image_id']].append((a['category_id'], a['bbox'], a['nyu_instance']))
    return out


def _assert_no_output(out):
    out = Path(out)
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(out.name + '.')]


# ----------------------------------------------------------------------------------------------
# a hand-built file with known content (12 x 16 images)

H, W = 12, 16
SCENE_TYPES = [
    'bedroom', 'bedroom', 'office', 'bedroom', 'living_room', 'dining_room', 'living_room'
]
SCENES = [
    'bedroom_0001', 'bedroom_0001', 'office_0001', 'bedroom_0002', 'living_room_0001',
    'dining_room_0001', 'living_room_0002'
]
TRAIN, TEST = [0, 1, 3, 5, 6], [2, 4]  # 0-based
VAL_SCENES = ['living_room_0002', 'bedroom_0001']


def _paint(lab, inst, name, value, rows, cols):
    lab[rows, cols] = NAME_INDEX[name] if isinstance(name, str) else name
    inst[rows, cols] = value


def _hand_built_maps():
    n = len(SCENES)
    labels = np.zeros((n, H, W), np.uint16)
    inst = np.zeros((n, H, W), np.uint8)
    _paint(labels[1], inst[1], 'wall', 1, slice(0, 6), slice(None))
    _paint(labels[1], inst[1], 'floor', 1, slice(6, 12), slice(None))
    # image 2: chair 1 in two fragments, chair 2, and 'book' (label 1 = bathtub's category id)
    _paint(labels[2], inst[2], 'chair', 1, slice(2, 5), slice(1, 4))
    _paint(labels[2], inst[2], 'chair', 1, slice(8, 10), slice(10, 13))
    _paint(labels[2], inst[2], 'chair', 2, slice(6, 7), slice(5, 8))
    _paint(labels[2], inst[2], 'book', 1, slice(0, 2), slice(None))
    # image 3: bed, two pillows on it, a table with instance value 0
    _paint(labels[3], inst[3], 'bed', 1, slice(5, 12), slice(0, 10))
    _paint(labels[3], inst[3], 'pillow', 1, slice(5, 7), slice(1, 4))
    _paint(labels[3], inst[3], 'pillow', 2, slice(5, 7), slice(6, 9))
    _paint(labels[3], inst[3], 'table', 0, slice(0, 2), slice(12, 16))
    # image 4: television and counter (label 7 = desk's category id)
    _paint(labels[4], inst[4], 'television', 1, slice(3, 5), slice(4, 12))
    _paint(labels[4], inst[4], 'counter', 1, slice(9, 12), slice(None))
    # image 5 holds class id 5 (chair: label 5, category 5) and a one-pixel bathtub
    _paint(labels[5], inst[5], 'chair', 3, slice(None), slice(5, 6))
    _paint(labels[5], inst[5], 'bathtub', 5, slice(11, 12), slice(15, 16))
    # image 6: sofa across the whole width, a second sofa in a corner
    _paint(labels[6], inst[6], 'sofa', 1, slice(4, 8), slice(None))
    _paint(labels[6], inst[6], 'sofa', 2, slice(10, 12), slice(0, 2))
    return labels, inst


# expected boxes per split: {image id (= index + 1): [(category, [x, y, w, h], instance)]}
EXPECTED = {
    'train': {
        4: [(CAT['bed'], [0, 5, 10, 7], 1), (CAT['pillow'], [1, 5, 3, 2], 1),
            (CAT['pillow'], [6, 5, 3, 2], 2), (CAT['table'], [12, 0, 4, 2], 0)],
        6: [(CAT['bathtub'], [15, 11, 1, 1], 5), (CAT['chair'], [5, 0, 1, 12], 3)]
    },
    'val': {
        1: [],
        2: [],
        7: [(CAT['sofa'], [0, 4, 16, 4], 1), (CAT['sofa'], [0, 10, 2, 2], 2)]
    },
    'test': {
        3: [(CAT['chair'], [1, 2, 12, 8], 1), (CAT['chair'], [5, 6, 3, 1], 2)],
        5: [(CAT['counter'], [0, 9, 16, 3], 1), (CAT['television'], [4, 3, 8, 2], 1)]
    },
}


def _hand_depths():
    n = len(SCENES)
    yy, xx = np.mgrid[0:H, 0:W]
    depths = np.stack([1 + 0.37 * i + 0.0123 * xx + 0.0071 * yy for i in range(n)])
    depths = depths.astype(np.float32)
    depths[0, 0, :6] = [np.nan, -1., np.inf, 0., 70., 0.0004]
    return depths


def write_tiny(root,
               names=None,
               scene_types=SCENE_TYPES,
               labels=None,
               splits=(TRAIN, TEST),
               normals=True):
    """The hand-built dataset: mat, splits, normals_gt, val split file; returns their paths."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lab, inst = _hand_built_maps()
    if labels is not None:
        lab = labels
    depths = _hand_depths()
    rng = np.random.default_rng(0)
    with NYUv2MatWriter(root / 'tiny.mat', len(SCENES), H, W, names=names, compression=None) as wr:
        for i in range(len(SCENES)):
            rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            wr.write(i, rgb, depths[i], depths[i], lab[i], inst[i], scene_types[i], SCENES[i])
    write_splits_mat(root / 'splits.mat', *splits)
    if normals:
        for i in range(len(SCENES)):
            n = rng.normal(size=(H, W, 3))
            n /= np.linalg.norm(n, axis=-1, keepdims=True)
            write_normals_png(root / 'normals_gt', i, n, rng.random((H, W)) > 0.3)
    (root / 'val.txt').write_text('# val scenes\n' + '\n'.join(VAL_SCENES) + '\n\n')
    return {
        'mat_path': root / 'tiny.mat',
        'splits_path': root / 'splits.mat',
        'normals_dir': root / 'normals_gt' if normals else None,
        'compute_normals': not normals,
        'val_split': root / 'val.txt'
    }


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny')
    paths = write_tiny(root)
    counts = convert_nyuv2(**paths, out_dir=root / 'out', progress=False)
    return root, paths, counts


@pytest.mark.slow
def test_hand_built_boxes_scenes_and_splits(tiny):
    root, paths, counts = tiny
    out = root / 'out'
    assert sorted(
        os.listdir(out)) == ['annotations', 'depth', 'images', 'normal_masks', 'normals', 'seg']
    assert counts == {
        'train': 2,
        'train_boxes': 6,
        'val': 3,
        'val_boxes': 2,
        'test': 2,
        'test_boxes': 4
    }
    ann_ids = []
    for split, expected in EXPECTED.items():
        coco = _load_json(out, split)
        assert coco['categories'] == [{
            'id': k + 1,
            'name': c,
            'supercategory': 'object'
        } for k, c in enumerate(DETECTION_CLASSES)]
        assert _boxes(coco) == {k: [(c, b, i) for c, b, i in v] for k, v in expected.items()}
        for img in coco['images']:
            i = img['nyu_index']
            name = f'{i:04d}.png'
            assert img == {
                'id': i + 1,
                'file_name': name,
                'height': H,
                'width': W,
                'nyu_index': i,
                'scene': SCENE_TYPES[i],
                'scene_id': SCENE_CLASSES.index(SCENE_TYPES[i]),
                'scene_name': SCENES[i],
                'depth_file': name,
                'normal_file': name,
                'normal_mask_file': name,
                'seg_map_file': name
            }
            for sub in ('images', 'depth', 'normals', 'normal_masks', 'seg'):
                assert (out / sub / name).is_file()
        for a in coco['annotations']:
            assert a['area'] == a['bbox'][2] * a['bbox'][3] and a['iscrowd'] == 0
            ann_ids.append(a['id'])
    assert len(set(ann_ids)) == len(ann_ids)
    assert sorted(os.listdir(out / 'images')) == [f'{i:04d}.png' for i in range(7)]


def test_seg_maps_by_hand(tiny):
    # detection classes -> 0..18, wall / floor / ceiling -> 20 (background), other names -> 19
    # (other), unlabelled -> 255 (ignored)
    root, _, _ = tiny
    labels, _ = _hand_built_maps()
    seg = {i: np.asarray(Image.open(root / 'out' / 'seg' / f'{i:04d}.png')) for i in range(7)}
    assert seg[0].dtype == np.uint8 and (seg[0] == 255).all()  # nothing labelled
    assert (seg[1] == 20).all()  # wall above, floor below
    expected = np.full((H, W), 255)
    expected[labels[2] == NAME_INDEX['chair']] = DETECTION_CLASSES.index('chair')
    expected[labels[2] == NAME_INDEX['book']] = 19
    np.testing.assert_array_equal(seg[2], expected)
    expected = np.full((H, W), 255)
    for name in ('bed', 'pillow', 'table'):
        expected[labels[3] == NAME_INDEX[name]] = DETECTION_CLASSES.index(name)
    np.testing.assert_array_equal(seg[3], expected)
    assert seg[3][5, 1] == 13 and seg[3][6, 0] == 1  # a pillow on the bed


def test_images_depth_and_normals_round_trip(tiny):
    root, paths, _ = tiny
    out = root / 'out'
    depths = _hand_depths()
    with h5py.File(paths['mat_path'], 'r') as f:
        for i in range(len(SCENES)):
            rgb = np.asarray(Image.open(out / 'images' / f'{i:04d}.png'))
            np.testing.assert_array_equal(rgb, f['images'][i].transpose(2, 1, 0))
    for i in range(len(SCENES)):
        png = np.asarray(Image.open(out / 'depth' / f'{i:04d}.png'))
        assert png.dtype == np.uint16 and png.shape == (H, W)
        if i == 0:  # NaN, negative, inf, 0, > 65.535 m, < 0.5 mm -> 0
            assert png[0, :6].tolist() == [0] * 6
            png, ref = png[:, 6:], depths[0][:, 6:]
        else:
            ref = depths[i]
        assert np.abs(png / 1000. - ref).max() <= 0.0005 + 1e-6
        normals = np.asarray(Image.open(out / 'normals' / f'{i:04d}.png'))
        mask = np.asarray(Image.open(out / 'normal_masks' / f'{i:04d}.png'))
        src = np.asarray(Image.open(paths['normals_dir'] / 'normals' / f'{i:04d}.png'))
        src_mask = np.asarray(Image.open(paths['normals_dir'] / 'masks' / f'{i:04d}.png'))
        np.testing.assert_array_equal(normals, src)
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
        np.testing.assert_array_equal(mask == 255, src_mask > 0)
    assert _load_json(out, 'train')['info']['normals'] == 'normals_gt'


@pytest.mark.slow
def test_classes_are_found_by_exact_name(tmp_path):
    """Labels are indices into the file's own `names`, not into a fixed list."""
    names = default_names()
    names[NAME_INDEX['chair'] - 1] = 'chairs'
    names[39] = 'chair'  # label 40
    labels = np.zeros((len(SCENES), H, W), np.uint16)
    labels[0, 1:3, 2:5] = 40
    labels[0, 5:7, 5:9] = NAME_INDEX['chair']  # now 'chairs': no box
    labels[2, 3, 3] = NAME_INDEX['bed']
    paths = write_tiny(tmp_path, names=names, labels=labels, normals=False)
    convert_nyuv2(**paths, out_dir=tmp_path / 'out', progress=False)
    boxes = _boxes(_load_json(tmp_path / 'out', 'val'))
    assert boxes[1] == [(CAT['chair'], [2, 1, 3, 2], 0)]
    assert _boxes(_load_json(tmp_path / 'out', 'test'))[3] == [(CAT['bed'], [3, 3, 1, 1], 1)]


# ----------------------------------------------------------------------------------------------
# generated rooms


def _occluded_bed_layout():
    rng = np.random.default_rng(5)
    bed = make_thing('bed', rng, x=2.0, instance=1)
    bed.y = 5.0 - bed.hy - 0.01
    lamp = make_thing('lamp', rng, x=2.0, y=2.4, instance=1, variant='floor')
    room = Room((4.0, 5.0, 2.8), 'bedroom', [bed, lamp])
    return room, Camera((2.0, 0.4, 1.45), yaw=0., pitch=-0.35)


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp('generated')
    info = make_synthetic_nyuv2(
        root / 'raw',
        14,
        seed=2,
        height=60,
        width=80,
        forced_layouts={5: _occluded_bed_layout()},
        progress=False)
    out = root / 'out'
    convert_nyuv2(
        info['mat'],
        info['splits'],
        out,
        normals_dir=info['normals'],
        val_split=info['val_split'],
        progress=False)
    return info, out


def _strings(f, name):
    return [''.join(chr(c) for c in f[ref][()].ravel()) for ref in f[name][()].ravel()]


@pytest.mark.slow
def test_generated_boxes_scenes_and_splits_match_ground_truth(generated):
    info, out = generated
    with h5py.File(info['mat'], 'r') as f:
        labels, instances = f['labels'][()], f['instances'][()]
        scene_types, scenes = _strings(f, 'sceneTypes'), _strings(f, 'scenes')
    splits = scipy.io.loadmat(info['splits'])
    train = set(splits['trainNdxs'].ravel().astype(int) - 1)
    test = set(splits['testNdxs'].ravel().astype(int) - 1)
    val_scenes = set(Path(info['val_split']).read_text().split())
    assert val_scenes
    val = {i for i in train if scenes[i] in val_scenes}
    expected_split = {'train': train - val, 'val': val, 'test': test}
    fragmented = 0
    for split, indices in expected_split.items():
        coco = _load_json(out, split)
        assert {img['nyu_index'] for img in coco['images']} == indices
        boxes = _boxes(coco)
        for img in coco['images']:
            i = img['nyu_index']
            assert (img['scene'], img['scene_name']) == (scene_types[i], scenes[i])
            assert SCENE_CLASSES[img['scene_id']] == scene_types[i]
            lab, ins = labels[i].T, instances[i].T
            truth = []
            for cat, name in enumerate(DETECTION_CLASSES, 1):
                for value in np.unique(ins[lab == NAME_INDEX[name]]):
                    ys, xs = np.nonzero((lab == NAME_INDEX[name]) & (ins == value))
                    truth.append((cat, [
                        int(xs.min()),
                        int(ys.min()),
                        int(xs.max() - xs.min() + 1),
                        int(ys.max() - ys.min() + 1)
                    ], int(value)))
                    fragmented += ndimage.label((lab == NAME_INDEX[name]) & (ins == value))[1] > 1
            assert boxes[i + 1] == truth, i
    assert fragmented > 0


def test_fragmented_instance_gives_one_box(generated):
    info, out = generated
    with h5py.File(info['mat'], 'r') as f:
        bed = f['labels'][5].T == NAME_INDEX['bed']
    assert ndimage.label(bed)[1] == 2
    ys, xs = np.nonzero(bed)
    coco = next(
        _load_json(out, s) for s in ('train', 'val', 'test')
        if 6 in {img['id']
                 for img in _load_json(out, s)['images']})
    beds = [a for a in coco['annotations'] if a['image_id'] == 6 and a['category_id'] == CAT['bed']]
    assert len(beds) == 1
    assert beds[0]['bbox'] == [
        int(xs.min()),
        int(ys.min()),
        int(xs.max() - xs.min() + 1),
        int(ys.max() - ys.min() + 1)
    ]


# ----------------------------------------------------------------------------------------------
# normals computed from depth


def _plane_depth(normal, offset, h, w):
    """z-depth of the plane n . P = offset (camera frame) for every pixel."""
    fx, fy, cx, cy = kinect_intrinsics(h, w)
    rays = np.stack(
        np.broadcast_arrays(((np.arange(w) - cx) / fx)[None, :],
                            ((np.arange(h) - cy) / fy)[:, None], 1.), -1)
    return offset / (rays @ normal)


def test_normals_from_depth_of_a_plane():
    h, w = 48, 64
    normal = np.array([0.2, -0.3, -0.93])
    normal /= np.linalg.norm(normal)
    depth = _plane_depth(normal, -2.0, h, w)
    assert depth.min() > 0
    normals, mask = normals_from_depth(depth)
    assert mask[1:-1, 1:-1].all() and not mask[0].any() and not mask[:, -1].any()
    cos = normals[mask] @ normal
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.5
    # invalid depth and a depth discontinuity are masked out
    depth[10, 10] = 0
    depth[:, 40:] += 1.0
    normals, mask = normals_from_depth(depth)
    assert not mask[10, 9:12].any() and not mask[9:12, 10].any() and mask[9, 9]
    assert not mask[:, 39:41].any()
    assert mask[1:-1, 38].all() and mask[1:-1, 41:-1].all() and mask[30, 20]


def test_normals_from_depth_when_asked(tmp_path):
    h, w = 48, 64
    normal = np.array([-0.2, -0.6, -0.77])
    normal /= np.linalg.norm(normal)
    depth = _plane_depth(normal, -1.5, h, w).astype(np.float32)
    with NYUv2MatWriter(tmp_path / 'plane.mat', 2, h, w) as wr:
        for i in range(2):
            wr.write(i, np.zeros((h, w, 3), np.uint8), depth, depth, np.zeros((h, w), np.uint16),
                     np.zeros((h, w), np.uint8), 'kitchen', 'kitchen_0001')
    write_splits_mat(tmp_path / 'splits.mat', [0], [1])
    convert_nyuv2(
        tmp_path / 'plane.mat',
        tmp_path / 'splits.mat',
        tmp_path / 'out',
        compute_normals=True,
        progress=False)
    png = np.asarray(Image.open(tmp_path / 'out' / 'normals' / '0001.png'))
    mask = np.asarray(Image.open(tmp_path / 'out' / 'normal_masks' / '0001.png')) == 255
    assert mask.sum() == (h - 2) * (w - 2)
    angle = np.degrees(np.arccos(np.clip(decode_rgb_normals(png)[mask] @ normal, -1, 1)))
    assert angle.max() < 2.
    assert _load_json(tmp_path / 'out', 'test')['info']['normals'] == 'computed from depths'
    coco = _load_json(tmp_path / 'out', 'train')
    assert [img['id'] for img in coco['images']] == [1] and coco['annotations'] == []


# ----------------------------------------------------------------------------------------------
# bad inputs


def _replace_dataset(path, name, data):
    with h5py.File(path, 'r+') as f:
        del f[name]
        f.create_dataset(name, data=data)


def _bad_mat(kind, paths, root):
    mat = paths['mat_path']
    if kind == 'missing':
        paths['mat_path'] = root / 'nyu_missing.mat'
    elif kind == 'not_hdf5':
        paths['mat_path'] = root / 'notes.mat'
        paths['mat_path'].write_text('hello\n')
    elif kind == 'matlab_v5':
        paths['mat_path'] = root / 'old_v5.mat'
        scipy.io.savemat(paths['mat_path'], {'images': np.zeros((2, 2))})
    elif kind == 'truncated':
        data = mat.read_bytes()
        mat.write_bytes(data[:len(data) // 2])
    elif kind == 'missing_dataset':
        with h5py.File(mat, 'r+') as f:
            del f['labels']
    elif kind == 'wrong_dtype':
        _replace_dataset(mat, 'labels', np.zeros((7, W, H), np.float32))
    elif kind == 'wrong_shape':
        _replace_dataset(mat, 'depths', np.zeros((7, W + 1, H), np.float32))
    elif kind == 'wrong_images':
        _replace_dataset(mat, 'images', np.zeros((7, W, H), np.uint8))
    elif kind == 'inconsistent_counts':
        _replace_dataset(mat, 'instances', np.zeros((6, W, H), np.uint8))
    elif kind == 'scenes_count':
        with h5py.File(mat, 'r+') as f:
            refs = f['scenes'][()][:, :6]
            del f['scenes']
            f.create_dataset('scenes', data=refs, dtype=h5py.ref_dtype)
    elif kind == 'label_beyond_names':  # only seen while streaming: the temp folder goes
        labels, inst = _hand_built_maps()
        labels[6, 0, 0] = 900
        write_tiny(root, labels=labels)
    elif kind == 'unknown_scene_type':
        write_tiny(root, scene_types=SCENE_TYPES[:4] + ['garage'] + SCENE_TYPES[5:])
    elif kind == 'missing_class':
        names = default_names()
        names[NAME_INDEX['night stand'] - 1] = 'nightstand'
        write_tiny(root, names=names)
    return 'mat_path'


def _bad_splits(kind, paths, root):
    if kind == 'missing':
        paths['splits_path'] = root / 'no_splits.mat'
    elif kind == 'not_mat':
        paths['splits_path'].write_text('trainNdxs = 1\n')
    elif kind == 'zero_based':
        scipy.io.savemat(paths['splits_path'], {
            'trainNdxs': np.array([[0], [1], [3]]),
            'testNdxs': np.array([[2], [4]])
        })
    elif kind == 'out_of_range':
        scipy.io.savemat(paths['splits_path'], {
            'trainNdxs': np.array([[1], [8]]),
            'testNdxs': np.array([[2]])
        })
    elif kind == 'overlap':
        write_splits_mat(paths['splits_path'], [0, 1, 2], [2, 3])
    elif kind == 'missing_key':
        scipy.io.savemat(paths['splits_path'], {'trainNdxs': np.array([[1], [2]])})
    elif kind == 'non_integer':
        scipy.io.savemat(paths['splits_path'], {
            'trainNdxs': np.array([[1.5]]),
            'testNdxs': np.array([[2.]])
        })
    return 'splits_path'


def _bad_normals(kind, paths, root):
    if kind == 'missing_dir':
        paths['normals_dir'] = root / 'no_normals'
        return 'normals_dir'
    if kind == 'missing_png':
        target = paths['normals_dir'] / 'normals' / '0003.png'
        target.unlink()
    elif kind == 'wrong_size':
        target = paths['normals_dir'] / 'masks' / '0002.png'
        Image.fromarray(np.zeros((10, 10), np.uint8)).save(target)
    paths['bad'] = target
    return 'bad'


def _bad_val(kind, paths, root):
    if kind == 'unknown_scene':
        paths['val_split'].write_text('bedroom_0001\nbedroom_9999\n')
    elif kind == 'test_scene':
        paths['val_split'].write_text('office_0001\n')
    elif kind == 'missing':
        paths['val_split'] = root / 'val_missing.txt'
    return 'val_split'


BAD = [(_bad_mat, k, problem) for k, problem in [
    ('missing', 'no such file'), ('not_hdf5', 'not an HDF5'), ('matlab_v5', 'not an HDF5'),
    ('truncated', 'truncated'), ('missing_dataset', "missing dataset 'labels'"),
    ('wrong_dtype', 'dtype float32'), ('wrong_shape', 'shape'), ('wrong_images', 'shape'),
    ('inconsistent_counts', 'holds 6 images'), ('scenes_count', 'holds 6 entries'),
    ('label_beyond_names', '900'), ('unknown_scene_type', "unknown scene type 'garage'"),
    ('missing_class', "'night stand' is not in 'names'")]] + \
    [(_bad_splits, k, problem) for k, problem in [
        ('missing', 'no such file'), ('not_mat', 'not a MATLAB v5'),
        ('zero_based', 'index 0'), ('out_of_range', 'out of range'), ('overlap', 'both'),
        ('missing_key', "missing variable 'testNdxs'"), ('non_integer', 'non-integer')]] + \
    [(_bad_normals, k, problem) for k, problem in [
        ('missing_dir', 'no such folder'), ('missing_png', 'missing normals PNG'),
        ('wrong_size', 'expected 16x12')]] + \
    [(_bad_val, k, problem) for k, problem in [
        ('unknown_scene', "unknown scene 'bedroom_9999'"), ('test_scene', 'no train image'),
        ('missing', 'no such file')]]


@pytest.mark.slow
@pytest.mark.parametrize(
    'breaker,kind,problem', BAD, ids=[f'{b.__name__[5:]}-{k}' for b, k, _ in BAD])
def test_bad_inputs_raise_one_line_errors(tmp_path, breaker, kind, problem):
    paths = write_tiny(tmp_path)
    key = breaker(kind, paths, tmp_path)
    bad_file = paths.pop('bad', None) or paths[key]
    out = tmp_path / 'out'
    with pytest.raises(NYUv2FormatError) as err:
        convert_nyuv2(**paths, out_dir=out, progress=False)
    message = str(err.value)
    assert '\n' not in message
    assert message.startswith(str(bad_file)) and Path(err.value.path).name == bad_file.name
    assert problem in message
    _assert_no_output(out)


def test_existing_output_needs_overwrite(tiny, tmp_path):
    root, paths, _ = tiny
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'keep.txt').write_text('x')
    with pytest.raises(NYUv2ConversionError, match='exists already'):
        convert_nyuv2(**paths, out_dir=out, progress=False)
    assert (out / 'keep.txt').exists()
    convert_nyuv2(**paths, out_dir=out, overwrite=True, progress=False)
    assert not (out / 'keep.txt').exists() and (out / 'annotations' / 'nyuv2_val.json').exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out']


def test_unwritable_output_is_a_one_line_error(tiny, tmp_path):
    root, paths, _ = tiny
    (tmp_path / 'file').write_text('x')
    with pytest.raises(NYUv2ConversionError, match='cannot create the output folder') as err:
        convert_nyuv2(**paths, out_dir=tmp_path / 'file' / 'out', progress=False)
    assert '\n' not in str(err.value)


def _load_cli():
    spec = importlib.util.spec_from_file_location('nyuv2_cli', CLI)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_cli(tmp_path, capsys):
    paths = write_tiny(tmp_path)
    cli = _load_cli()
    argv = [
        '--mat',
        str(paths['mat_path']), '--splits',
        str(paths['splits_path']), '--normals',
        str(paths['normals_dir']), '--out',
        str(tmp_path / 'data' / 'nyuv2'), '--no-progress'
    ]
    assert cli.main(argv + ['--val-split', str(paths['val_split'])]) == 0
    assert 'val: 3 images, 2 boxes' in capsys.readouterr().out
    assert cli.main(argv) == 1  # exists already
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1 and '--overwrite' in err
    assert cli.main(argv + ['--overwrite']) == 0
    assert not (tmp_path / 'data' / 'nyuv2' / 'annotations' / 'nyuv2_val.json').exists()


def test_cli_refuses_to_guess_the_normals(tmp_path, capsys):
    """No silent fallback: without --normals, normals from depth only with --normals-from-depth."""
    paths = write_tiny(tmp_path)
    out = tmp_path / 'nyuv2'
    argv = [
        '--mat',
        str(paths['mat_path']), '--splits',
        str(paths['splits_path']), '--out',
        str(out), '--no-progress'
    ]
    assert _load_cli().main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1
    assert 'no surface normals' in err and '(--normals)' in err and '--normals-from-depth' in err
    _assert_no_output(out)
    with pytest.raises(NYUv2ConversionError, match='two sources of surface normals'):
        convert_nyuv2(
            paths['mat_path'],
            paths['splits_path'],
            out,
            normals_dir=paths['normals_dir'],
            compute_normals=True)
    _assert_no_output(out)


@pytest.mark.slow
def test_cli_process_exit_code_and_stderr(tmp_path):
    paths = write_tiny(tmp_path, normals=False)
    scipy.io.savemat(paths['splits_path'], {
        'trainNdxs': np.array([[0], [1]]),
        'testNdxs': np.array([[3]])
    })
    out = tmp_path / 'nyuv2'
    proc = subprocess.run([
        sys.executable,
        str(CLI), '--mat',
        str(paths['mat_path']), '--splits',
        str(paths['splits_path']), '--normals-from-depth', '--out',
        str(out)
    ],
                          capture_output=True,
                          text=True,
                          cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('error: ') and 'splits.mat' in lines[0] and 'index 0' in lines[0]
    _assert_no_output(out)


# ----------------------------------------------------------------------------------------------
# memory

# the CLI in a fresh interpreter, reporting the peak RSS (kB) of its process (VmHWM: getrusage's
# RUSAGE_SELF would count the forked pytest process before exec) and of its workers, and whether
# it imported torch
_PEAK_RSS = """
import resource, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit as exc:
    assert not exc.code, exc.code
with open('/proc/self/status') as f:
    own = next(int(line.split()[1]) for line in f if line.startswith('VmHWM:'))
print(max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss), 'torch' in sys.modules)
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc/self/status')
def test_peak_memory_does_not_grow_with_the_number_of_images(tmp_path):
    """Peak RSS of the CLI (2 workers, normals from depth: the heavier path) converting 12 and 120
    generated rooms of 96x128."""
    h, w = 96, 128
    peaks = {}
    for num in (12, 120):
        info = make_synthetic_nyuv2(
            tmp_path / f'raw{num}', num, seed=8, height=h, width=w, progress=False)
        proc = subprocess.run(
            [
                sys.executable, '-c', _PEAK_RSS,
                str(CLI), '--mat', info['mat'], '--splits', info['splits'], '--normals-from-depth',
                '--nproc', '2', '--no-progress', '--out',
                str(tmp_path / f'out{num}'), '--no-pack'
            ],  # the conversion alone, without torch
            capture_output=True,
            text=True,
            timeout=120)
        assert proc.returncode == 0, proc.stderr
        peak, torch_imported = proc.stdout.split()[-2:]
        assert torch_imported == 'False'
        peaks[num] = int(peak) * 1024
    # The 108 more images hold 19 MB of arrays in the .mat (more decoded): kept in memory, they
    # would show here. What grows is per image, not per pixel (annotation dicts, HDF5's metadata
    # cache): ~20 kB an image.
    extra_pixel_data = 108 * h * w * (3 + 4 + 4 + 2 + 1)
    assert peaks[120] - peaks[12] < 0.25 * extra_pixel_data, peaks


# ----------------------------------------------------------------------------------------------
# workers


def test_workers_write_the_same_dataset(tiny, tmp_path):
    root, paths, _ = tiny
    convert_nyuv2(**paths, out_dir=tmp_path / 'out', nproc=2, progress=False)
    for name in ('annotations/nyuv2_train.json', 'annotations/nyuv2_val.json',
                 'annotations/nyuv2_test.json', 'images/0006.png', 'depth/0006.png',
                 'normals/0006.png', 'normal_masks/0006.png'):
        assert (tmp_path / 'out' / name).read_bytes() == (root / 'out' / name).read_bytes(), name


@pytest.mark.slow
def test_error_in_a_worker_is_the_same_one_line_error(tmp_path):
    labels, _ = _hand_built_maps()
    labels[6, 0, 0] = 900
    paths = write_tiny(tmp_path, labels=labels)
    out = tmp_path / 'out'
    with pytest.raises(NYUv2FormatError, match="'labels' of image 6 holds 900") as err:
        convert_nyuv2(**paths, out_dir=out, nproc=2, progress=False)
    assert err.value.path == str(paths['mat_path'])
    _assert_no_output(out)


# ----------------------------------------------------------------------------------------------
# stopped from outside


@pytest.mark.slow
@pytest.mark.parametrize('nproc', ['1', '2'])
def test_sigterm_leaves_no_output_behind(tiny_raw, tmp_path, nproc):
    out = tmp_path / 'nyuv2'
    # SIGTERM to the converting process after its third PNG (with workers: written by them)
    proc = run_terminated('mmrock_data.converters.nyuv2_mat', 'save_png', 3, CLI, '--mat',
                          tiny_raw / 'nyu_depth_v2_labeled.mat', '--splits',
                          tiny_raw / 'splits.mat', '--normals', tiny_raw / 'normals_gt', '--nproc',
                          nproc, '--no-progress', '--out', out)
    assert proc.returncode == 143, proc.stderr  # 128 + SIGTERM, as the shell reports it
    assert list(tmp_path.iterdir()) == [], 'the temporary folder stayed'
