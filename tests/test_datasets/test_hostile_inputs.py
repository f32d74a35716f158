"""Hostile inputs, property-based (hypothesis): the NYUv2 converter, the dataset loader and the
losses. Every bad input either ends in one line ``<file>: <problem>`` (NYUv2FormatError) with
no output left behind, or is absorbed by masking (invalid depth / normal pixels, degenerate
boxes dropped) — never a traceback of another kind, a half-written dataset or a NaN loss."""
import json
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mmdet.registry import DATASETS
from mmengine.config import Config
from PIL import Image

from mmrock.datasets.transforms import LoadMultiTaskAnnotations
from mmrock_data.converters.nyuv2_mat import (MAT_DATASETS, NormalsDir, NYUv2FormatError,
                                              convert_nyuv2, encode_depth_mm, read_splits)
from mmrock_data.converters.synthetic_rooms import make_synthetic_nyuv2
from sample_factory import build_model, make_sample, preprocess

REPO = Path(__file__).resolve().parents[2]
H, W, N = 24, 32, 5  # the generated files: 5 images of 24 x 32
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@pytest.fixture(scope='module')
def raw(tmp_path_factory):
    """A valid synthetic NYUv2 in the official layout, and its conversion."""
    root = tmp_path_factory.mktemp('hostile')
    info = make_synthetic_nyuv2(root / 'raw', N, seed=3, height=H, width=W, progress=False)
    convert_nyuv2(
        info['mat'], info['splits'], root / 'data', normals_dir=info['normals'], progress=False)
    return dict(
        mat=Path(info['mat']),
        splits=Path(info['splits']),
        normals=Path(info['normals']),
        data=root / 'data',
        train=info['train'])


@contextmanager
def scratch():
    with tempfile.TemporaryDirectory(prefix='hostile-') as d:
        yield Path(d)


def assert_format_error(exc_info, bad_file, *words):
    """A one-line ``<bad_file>: <problem>`` naming the problem with ``words``."""
    message = str(exc_info.value)
    assert '\n' not in message
    assert message.startswith(f'{bad_file}: '), message
    for word in words:
        assert word in message, (word, message)


def convert(raw, out, mat=None, splits=None, normals=None):
    return convert_nyuv2(
        mat or raw['mat'],
        splits or raw['splits'],
        out,
        normals_dir=normals or raw['normals'],
        progress=False)


def assert_no_output(out: Path):
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(out.name + '.')]


# ------------------------------------------------------------------------------------------------
# the .mat


@pytest.mark.slow
@settings(max_examples=12, **SETTINGS)
@given(keep=st.floats(0., 0.999))
def test_truncated_mat(raw, keep):
    with scratch() as d:
        data = raw['mat'].read_bytes()
        (d / 'cut.mat').write_bytes(data[:int(len(data) * keep)])
        with pytest.raises(NYUv2FormatError) as err:
            convert(raw, d / 'out', mat=d / 'cut.mat')
        assert_format_error(err, d / 'cut.mat')
        assert_no_output(d / 'out')


@pytest.mark.slow
@settings(max_examples=25, **SETTINGS)
@given(flips=st.lists(st.tuples(st.integers(0, 5999), st.integers(0, 255)), min_size=1, max_size=8))
def test_corrupted_mat_converts_fully_or_fails_in_one_line(raw, flips):
    """Bytes overwritten in the HDF5 metadata (superblock, object headers, heaps, B-trees):
    h5py raises many kinds of errors; the converter reports each as the file's problem."""
    with scratch() as d:
        data = bytearray(raw['mat'].read_bytes())
        for pos, value in flips:
            data[pos] = value
        (d / 'bad.mat').write_bytes(bytes(data))
        try:
            counts = convert(raw, d / 'out', mat=d / 'bad.mat')
        except NYUv2FormatError as exc:
            assert '\n' not in str(exc) and exc.path == str(d / 'bad.mat')
            assert_no_output(d / 'out')
        else:
            assert counts['train'] + counts['test'] == N
            assert {p.name
                    for p in (d / 'out' / 'annotations').iterdir()
                    } == {'nyuv2_train.json', 'nyuv2_test.json'}


@settings(max_examples=12, **SETTINGS)
@given(data=st.data())
def test_mat_structure_errors(raw, data):
    """A dataset deleted, or rewritten with another dtype or shape."""
    name = data.draw(st.sampled_from(MAT_DATASETS), label='dataset')
    with scratch() as d:
        mat = d / 'nyu.mat'
        shutil.copy(raw['mat'], mat)
        with h5py.File(mat, 'r+') as f:
            old = f[name]
            shape, dtype = old.shape, old.dtype
            del f[name]
            how = data.draw(st.sampled_from(['delete', 'dtype', 'shape']), label='how')
            if how == 'dtype':
                dtype = data.draw(
                    st.sampled_from([
                        t for t in ('uint8', 'uint16', 'int32', 'float32', 'float64') if t != dtype
                    ]),
                    label='new dtype')
            elif how == 'shape':
                axis = data.draw(st.integers(0, len(shape) - 1), label='axis')
                shape = tuple(s + (1 if i == axis else 0) for i, s in enumerate(shape))
            if how != 'delete':
                f.create_dataset(name, data=np.zeros(shape, dtype))
        with pytest.raises(NYUv2FormatError) as err:
            convert(raw, d / 'out', mat=mat)
        assert_format_error(err, mat, f"'{name}'")
        assert_no_output(d / 'out')


# ------------------------------------------------------------------------------------------------
# splits.mat

index_arrays = st.one_of(
    hnp.arrays(np.int64, st.tuples(st.integers(0, 6), st.just(1)), elements=st.integers(-2, N + 2)),
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.just(1)),
        elements=st.sampled_from([1., 2., 2.5, np.nan, np.inf, 5.])),
    hnp.arrays(
        np.int64, st.tuples(st.integers(1, 3), st.integers(2, 3)), elements=st.integers(1, N)))


def expected_indices(arr):
    """The oracle: 0-based sorted indices, or None for an invalid array."""
    if arr.size == 0 or arr.ndim != 2 or 1 not in arr.shape:
        return None
    flat = arr.ravel()
    if not np.all(np.isfinite(flat)) or np.any(flat != np.round(flat)):
        return None
    idx = flat.astype(np.int64)
    if np.any((idx < 1) | (idx > N)) or len(set(idx.tolist())) != idx.size:
        return None
    return sorted((idx - 1).tolist())


@settings(max_examples=40, **SETTINGS)
@given(train=index_arrays, test=index_arrays, drop=st.sampled_from([None, 'trainNdxs', 'testNdxs']))
def test_split_indices(train, test, drop):
    with scratch() as d:
        path = d / 'splits.mat'
        variables = dict(trainNdxs=train, testNdxs=test)
        if drop:
            variables.pop(drop)
        scipy.io.savemat(path, variables)
        want = [expected_indices(train), expected_indices(test)]
        valid = drop is None and None not in want and not set(want[0]) & set(want[1])
        if valid:
            got = read_splits(path, N)
            assert [a.tolist() for a in got] == want
        else:
            with pytest.raises(NYUv2FormatError) as err:
                read_splits(path, N)
            assert_format_error(err, path)
            if drop:
                assert f"missing variable '{drop}'" in str(err.value)


def test_zero_based_splits_are_named_as_such(raw):
    with scratch() as d:
        scipy.io.savemat(d / 's.mat',
                         dict(trainNdxs=np.array([[0], [1]]), testNdxs=np.array([[2]])))
        with pytest.raises(NYUv2FormatError) as err:
            read_splits(d / 's.mat', N)
        assert_format_error(err, d / 's.mat', 'index 0', '1-based')


# ------------------------------------------------------------------------------------------------
# normals_gt/


@pytest.mark.slow
@settings(max_examples=15, **SETTINGS)
@given(data=st.data())
def test_normal_pngs(raw, data):
    index = data.draw(st.integers(0, N - 1), label='image')
    kind = data.draw(st.sampled_from(['normals', 'masks']), label='folder')
    how = data.draw(st.sampled_from(['missing', 'size', 'not_png', 'grey_normals']), label='how')
    with scratch() as d:
        normals = d / 'normals_gt'
        shutil.copytree(raw['normals'], normals)
        bad = normals / kind / f'{index:04d}.png'
        if how == 'missing':
            bad.unlink()
        elif how == 'size':
            w, h = data.draw(
                st.tuples(st.integers(1, 40), st.integers(1, 40)).filter(lambda s: s != (W, H)),
                label='size')
            Image.new('RGB' if kind == 'normals' else 'L', (w, h)).save(bad)
        elif how == 'not_png':
            bad.write_bytes(b'not a png')
        else:
            Image.new('L', (W, H)).save(normals / 'normals' / f'{index:04d}.png')
            bad = normals / 'normals' / f'{index:04d}.png'
        with pytest.raises(NYUv2FormatError) as err:
            NormalsDir(normals, H, W).check(range(N))
        assert_format_error(err, bad)
        with pytest.raises(NYUv2FormatError):
            convert(raw, d / 'out', normals=normals)
        assert_no_output(d / 'out')


# ------------------------------------------------------------------------------------------------
# depth values: NaN, inf, zero, negative, too far

depth_maps = hnp.arrays(
    np.float32, (4, 5),
    elements=st.one_of(
        st.floats(2.**-12, 80., width=32), st.sampled_from([0., -0., -1.5, np.nan, np.inf,
                                                            -np.inf])))


@settings(max_examples=40, **SETTINGS)
@given(depth=depth_maps)
def test_invalid_depth_is_masked_from_mat_to_loader(depth):
    """.mat metres -> PNG millimetres -> loaded metres: invalid values become 0 (= masked),
    valid ones come back within half a millimetre."""
    mm = encode_depth_mm(depth)
    with np.errstate(invalid='ignore'):
        valid = np.isfinite(depth) & (np.rint(depth.astype(np.float64) * 1000) > 0) & (
            np.rint(depth.astype(np.float64) * 1000) <= 65535)
    assert mm.dtype == np.uint16 and ((mm > 0) == valid).all()
    with scratch() as d:
        Image.fromarray(mm).save(d / 'd.png')
        out = LoadMultiTaskAnnotations(with_bbox=False)(
            dict(depth_path=str(d / 'd.png'), ori_shape=depth.shape))
    got = out['gt_depth']
    assert np.isfinite(got).all() and (got >= 0).all() and ((got > 0) == valid).all()
    np.testing.assert_allclose(got[valid], depth[valid], atol=5e-4 + 1e-6)


# ------------------------------------------------------------------------------------------------
# the dataset loader: annotation file and label files

TRAIN_PIPELINE = Config.fromfile(
    str(REPO / 'configs' / '_base_' / 'datasets' / 'nyuv2_multitask.py')).train_pipeline


def build_dataset(root: Path, pipeline=None):
    return DATASETS.build(
        dict(
            type='NYUv2MultiTaskDataset',
            data_root=f'{root}/',
            ann_file='annotations/nyuv2_train.json',
            pipeline=pipeline or TRAIN_PIPELINE))


def edit_json(root: Path, edit):
    path = root / 'annotations' / 'nyuv2_train.json'
    coco = json.loads(path.read_text())
    edit(coco)
    path.write_text(json.dumps(coco))
    return path


boxes = st.lists(
    st.tuples(
        st.integers(-5, W + 5), st.integers(-5, H + 5), st.integers(-3, W), st.integers(-3, H)),
    max_size=6)


@pytest.mark.slow
@settings(max_examples=10, **SETTINGS)
@given(per_image=st.lists(boxes, min_size=3, max_size=3), seed=st.integers(0, 2**16))
def test_degenerate_boxes_and_images_without_box(raw, per_image, seed):
    """Boxes of zero or negative size, partly or wholly outside the image, images without any
    box: the full SSD augmentation chain yields finite boxes of positive size in the image."""
    with scratch() as d:
        shutil.copytree(raw['data'], d / 'data')

        def edit(coco):
            anns = []
            for img, img_boxes in zip(coco['images'], per_image):
                for x, y, w, h in img_boxes:
                    anns.append(
                        dict(
                            id=len(anns) + 1,
                            image_id=img['id'],
                            category_id=5,
                            bbox=[x, y, w, h],
                            area=max(w * h, 0),
                            iscrowd=0))
            coco['annotations'] = anns

        edit_json(d / 'data', edit)
        dataset = build_dataset(d / 'data')
        assert len(dataset) == len(raw['train'])  # no image dropped
        np.random.seed(seed)
        for i in range(len(dataset)):
            sample = dataset[i]['data_samples']
            b = sample.gt_instances.bboxes.tensor if hasattr(
                sample.gt_instances.bboxes, 'tensor') else sample.gt_instances.bboxes
            assert torch.isfinite(b).all()
            assert ((b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])).all()
            assert (b[:, :2] >= 0).all() and (b[:, 2] <= 640).all() and (b[:, 3] <= 480).all()
            kept = [bb for bb in per_image[i] if bb[2] >= 1 and bb[3] >= 1]
            assert len(b) <= len(kept)


ANN_EDITS = {
    'not_json': (lambda p: p.write_text('{"images": ['), 'not a valid'),
    'no_images': (lambda p: p.write_text('{"annotations": []}'), 'not a valid'),
    'no_file_name': (lambda c: c['images'][0].pop('file_name'), "'file_name'"),
    'scene_id_out_of_range': (lambda c: c['images'][0].update(scene_id=27), 'scene_id 27'),
    'scene_id_negative': (lambda c: c['images'][1].update(scene_id=-1), 'scene_id -1'),
    'bbox_nan': (lambda c: c['annotations'][0].update(bbox=[float('nan'), 1, 2, 3]), 'bbox'),
    'bbox_short': (lambda c: c['annotations'][0].update(bbox=[1, 2, 3]), 'bbox'),
    'bbox_text': (lambda c: c['annotations'][0].update(bbox='1 2 3 4'), 'bbox'),
}


@pytest.mark.parametrize('kind', list(ANN_EDITS))
def test_bad_annotation_file_is_one_line(raw, tmp_path, kind):
    shutil.copytree(raw['data'], tmp_path / 'data')
    edit, problem = ANN_EDITS[kind]
    path = tmp_path / 'data' / 'annotations' / 'nyuv2_train.json'
    if kind in ('not_json', 'no_images'):
        edit(path)
    else:
        edit_json(tmp_path / 'data', edit)
    with pytest.raises(NYUv2FormatError) as err:
        build_dataset(tmp_path / 'data')
    assert_format_error(err, path, problem)


LABEL_EDITS = {
    'depth_size': ('depth', lambda p: Image.fromarray(np.ones(
        (H + 1, W), np.uint16)).save(p), 'depth PNG is 32x25'),
    'depth_rgb': ('depth', lambda p: Image.new('RGB', (W, H)).save(p), '3 channels'),
    'depth_garbage': ('depth', lambda p: p.write_bytes(b'\x89PNG broken'), 'not a readable'),
    'normals_size': ('normals', lambda p: Image.new('RGB',
                                                    (W, H - 3)).save(p), 'normals PNG is 32x21'),
    'mask_size':
    ('normal_masks', lambda p: Image.new('L', (W - 1, H)).save(p), 'normal mask PNG is 31x24'),
}


@pytest.mark.parametrize('kind', list(LABEL_EDITS))
def test_bad_label_file_is_one_line(raw, tmp_path, kind):
    shutil.copytree(raw['data'], tmp_path / 'data')
    folder, edit, problem = LABEL_EDITS[kind]
    name = f'{raw["train"][0]:04d}.png'
    path = tmp_path / 'data' / folder / name
    edit(path)
    with pytest.raises(NYUv2FormatError) as err:
        build_dataset(tmp_path / 'data')[0]
    assert_format_error(err, path, problem)


def test_missing_label_file_names_it(raw, tmp_path):
    shutil.copytree(raw['data'], tmp_path / 'data')
    path = tmp_path / 'data' / 'normals' / f'{raw["train"][0]:04d}.png'
    path.unlink()
    with pytest.raises(FileNotFoundError, match=str(path)):
        build_dataset(tmp_path / 'data')[0]


# ------------------------------------------------------------------------------------------------
# losses stay finite on invalid labels (the full light model)


@pytest.fixture(scope='module')
def light_model():
    torch.manual_seed(0)
    return build_model('ssd_r18_rock_demo.py').train()


FILLS = st.sampled_from(['nan', 'inf', '-inf', 'zero', 'negative', 'nan_band', 'valid'])


def _fill(data: torch.Tensor, kind: str) -> None:
    value = dict(nan=float('nan'), inf=float('inf'), zero=0., negative=-2.)
    if kind == 'nan_band':
        data[..., :data.shape[-2] // 2, :] = float('nan')
    elif kind == '-inf':
        data[...] = -float('inf')
    elif kind != 'valid':
        data[...] = value[kind]


@pytest.mark.slow
@settings(max_examples=8, **SETTINGS)
@given(fills=st.lists(st.tuples(FILLS, FILLS, st.integers(0, 2)), min_size=2, max_size=2))
def test_losses_are_finite_on_invalid_depth_and_normals(light_model, fills):
    """Depth NaN / inf / zero / negative and normals all invalid (zero or NaN), with or without
    boxes: every loss and every gradient is finite."""
    samples = []
    for i, (depth_fill, normal_fill, num_boxes) in enumerate(fills):
        sample = make_sample((240, 320), num_boxes=num_boxes, seed=i)
        _fill(sample.gt_depth.data, depth_fill)
        _fill(sample.gt_normals.data, normal_fill)
        samples.append(sample)
    data = preprocess(light_model, samples)
    light_model.zero_grad()
    losses = light_model.loss(data['inputs'], data['data_samples'])
    assert set(losses) >= {'loss_cls', 'loss_bbox', 'loss_scene', 'loss_depth', 'loss_normals'}
    for name, value in losses.items():
        total = sum(value) if isinstance(value, (list, tuple)) else value
        assert torch.isfinite(total).all(), (name, total, fills)
    sum(sum(v) if isinstance(v, (list, tuple)) else v for v in losses.values()).backward()
    for name, p in light_model.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), name
