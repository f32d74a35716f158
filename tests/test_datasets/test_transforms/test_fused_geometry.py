"""FusedGeometry equals the chain of step-by-step transforms it fuses: the same random draws,
boxes, meta keys, image and depth bit for bit, the normals too unless zoomed from codes (then
within NORMALS_ATOL: one renormalisation instead of one per zoom), over many seeds, zooms and
flips (the depth / zoom and normals rules included)."""
import numpy as np
import pytest
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from test_transforms import W, check_consistent, make_results

from mmrock.datasets.transforms import (FusedGeometry, LoadMultiTaskAnnotations,
                                        PackMultiTaskInputs, check_multitask_pipeline,
                                        fused_pipeline)
from mmrock.datasets.transforms.dense_geometry import nearest_index, zoom_normals_
from mmrock.datasets.transforms.fused_geometry import NORMALS_ATOL
from mmrock.datasets.transforms.loading import decode_depth, decode_normals

H, W_ = 60, 80
MEAN = [123.675, 116.28, 103.53]
EXPAND = dict(type='MultiTaskExpand', mean=MEAN, to_rgb=True, ratio_range=(1, 4), prob=0.5)
CROP = dict(
    type='FixedRatioMinIoURandomCrop',
    min_ious=(0.1, 0.3, 0.5, 0.7, 0.9),
    min_crop_size=0.3,
    max_crop_size=1.0)
RESIZE = dict(type='MultiTaskResize', scale=(64, 50), keep_ratio=False)
FLIP = dict(type='MultiTaskRandomFlip', prob=0.5)
CHAINS = {
    'paper': [EXPAND, CROP, RESIZE, FLIP],
    'always_expand_vertical_flip':
    [dict(EXPAND, prob=1.), CROP, RESIZE,
     dict(FLIP, direction=['vertical', 'diagonal'], prob=0.8)],
    'mmdet_crop_keep_ratio': [
        dict(EXPAND, to_rgb=False),
        dict(type='MultiTaskMinIoURandomCrop', min_crop_size=0.3),
        dict(RESIZE, scale=(100, 40), keep_ratio=True), FLIP
    ],
    'flip_then_crop_then_resize_twice':
    [FLIP, dict(EXPAND, prob=0.8), RESIZE, CROP,
     dict(RESIZE, scale=(90, 70))],
}


def make_sample(seed: int) -> dict:
    """A 60x80 sample: float image, 0-4 boxes, depth and normals codes (with invalid pixels)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 5))
    xy = rng.uniform(0, [W_ - 10, H - 10], (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(4, 40, (n, 2))], 1).clip(0, [W_, H, W_, H])
    depth = rng.integers(0, 10000, (H, W_)).astype(np.uint16)
    depth[rng.random((H, W_)) < 0.1] = 0
    normals = rng.integers(0, 256, (H, W_, 4)).astype(np.uint8)
    normals[..., 3] = np.where(rng.random((H, W_)) < 0.1, 0, 255)
    return dict(
        img=rng.uniform(-20, 280, (H, W_, 3)).astype(np.float32),
        img_shape=(H, W_),
        ori_shape=(H, W_),
        gt_bboxes=HorizontalBoxes(boxes.astype(np.float32)),
        gt_bboxes_labels=rng.integers(0, 19, n),
        gt_ignore_flags=np.zeros(n, bool),
        dense_codes=dict(depth=depth, normals=normals, depth_scale=1000.))


def decoded(sample: dict) -> dict:
    """The sample as LoadMultiTaskAnnotations(decode_dense=True) gives it."""
    codes = sample.pop('dense_codes')
    sample['gt_depth'] = decode_depth(codes['depth'], codes['depth_scale'])
    sample['gt_normals'] = decode_normals(codes['normals']).transpose(1, 2, 0)
    return sample


def assert_same(a: dict, b: dict, normals_atol: float = 0.) -> None:
    """The same keys and values; bit for bit, except ``gt_normals`` within ``normals_atol``."""
    assert set(a) == set(b)
    for key in a:
        if key == 'gt_bboxes':
            np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())
        elif isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
            if key == 'gt_normals' and normals_atol:
                np.testing.assert_allclose(a[key], b[key], rtol=0, atol=normals_atol)
            else:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize('chain', list(CHAINS))
@pytest.mark.parametrize('codes', [False, True])
def test_fused_equals_the_chain(chain, codes):
    steps = [TRANSFORMS.build(t) for t in CHAINS[chain]]
    fused = FusedGeometry(CHAINS[chain])
    flips, zooms, inexact = set(), set(), 0
    for seed in range(60):
        np.random.seed(seed)
        expected = decoded(make_sample(seed))
        for step in steps:
            expected = step(expected)
        after_chain = np.random.random()
        np.random.seed(seed)
        sample = make_sample(seed)
        got = fused(sample if codes else decoded(sample))
        assert np.random.random() == after_chain  # the same number of draws
        assert_same(expected, got, NORMALS_ATOL if codes else 0.)
        inexact += not np.array_equal(expected['gt_normals'], got['gt_normals'])
        flips.add(got.get('flip_direction'))
        zooms.add(got['img_shape'] != (H, W_))
    assert None in flips and len(flips) >= 2 and True in zooms  # flipped and not, zoomed
    assert inexact > 0 if codes else inexact == 0  # the tolerance is used, and only from codes


def test_fused_applies_the_zoom_and_flip_rules():
    """Expand + crop + horizontal flip on the encoded scene of test_transforms (the image holds
    each pixel's source x, y): depth / s and normals (-x, y, z * s) renormalised, s = W / crop
    width, computed from the source pixels, not from the chain."""
    fused = FusedGeometry([
        dict(type='MultiTaskExpand', mean=(0, 0, 0), ratio_range=(1.2, 2), prob=1.),
        dict(CROP, min_crop_size=0.5),
        dict(type='MultiTaskRandomFlip', prob=1.)
    ])
    for seed in range(10):
        np.random.seed(seed)
        out = fused(make_results())
        assert out['flip_direction'] == 'horizontal'
        check_consistent(out, depth_factor=out['img'].shape[1] / W, flip_sign=-1.)


def test_decode_normals_formula_signs_and_zoom():
    """Bit for bit the float32 formula v / max(|v|, 1e-6) (mask 0: the zero vector), flips'
    signs included; with a z scale, within NORMALS_ATOL of the chain's zooms one at a time."""
    rng = np.random.default_rng(0)
    code = rng.integers(0, 256, (300, 400, 4)).astype(np.uint8)
    code[:2, :256, :3] = np.arange(256, dtype=np.uint8)[:, None]  # every value, 127 / 128 too
    code[..., 3] = np.where(rng.random((300, 400)) < 0.2, 0, 255)
    v = code[..., :3].astype(np.float32) * np.float32(2. / 255.) - np.float32(1)
    norm = np.sqrt((v * v).sum(-1, dtype=np.float32))
    expected = (v / np.maximum(norm, np.float32(1e-6))[..., None]).transpose(2, 0, 1)
    expected[:, code[..., 3] == 0] = 0
    for signs in [(1, 1, 1), (-1, 1, 1), (1, -1, 1), (-1, -1, 1)]:
        got = decode_normals(code, signs)
        np.testing.assert_array_equal(got, expected * np.float32(signs)[:, None, None])
    for zooms in [(0.25, ), (1 / 0.3, ), (0.26, 3.3), (3.99, 0.3, 1.7)]:
        chain = decode_normals(code)
        for zoom in zooms:
            zoom_normals_(chain, zoom)
        got = decode_normals(code, z_scale=float(np.prod(zooms)))
        np.testing.assert_allclose(got, chain, rtol=0, atol=NORMALS_ATOL)
        assert not np.array_equal(got, chain)


def test_decoding_only_the_source_block():
    """Codes decoded only where the output comes from the source: the same maps as decoding the
    whole gathered output (fill -> zeros), for a block within fill, an output that is all fill
    (a crop of the canvas alone) and an index whose valid entries are not consecutive."""
    sample = make_sample(0)
    codes = sample['dense_codes']
    indices = [(np.r_[-1, -1, 5:40, -1], np.r_[-1, 70:20:-1, -1, -1, -1]),
               (np.full(7, -1), np.arange(9)), (np.r_[3, -1, 4, 5], np.r_[-1, 2, 3])]
    for rows, cols in indices:
        out = {}
        FusedGeometry._decode_dense(out, codes, rows, cols, [('flip', (-1, 1, 1))], [2.])
        rows0, cols0 = np.maximum(rows, 0), np.maximum(cols, 0)
        valid = (rows >= 0)[:, None] & (cols >= 0)
        depth = decode_depth(codes['depth'][rows0][:, cols0], 1000.) / np.float32(2.)
        normals = decode_normals(codes['normals'][rows0][:, cols0], (-1, 1, 1), 2.)
        np.testing.assert_array_equal(out['gt_depth'], np.where(valid, depth, 0))
        np.testing.assert_array_equal(out['gt_normals'],
                                      np.where(valid[..., None], normals.transpose(1, 2, 0), 0))
        assert out['gt_depth'].shape == valid.shape and out['gt_normals'].shape[:2] == valid.shape


def test_nearest_index_is_cv2_rule():
    import cv2
    rng = np.random.default_rng(0)
    for _ in range(200):
        old, new = (int(v) for v in rng.integers(1, 500, 2))
        src = np.arange(old, dtype=np.float32)[None].repeat(2, 0)
        np.testing.assert_array_equal(
            cv2.resize(src, (new, 2), interpolation=cv2.INTER_NEAREST)[0], nearest_index(new, old))


def test_fused_pipeline_conversion_and_checks():
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations', with_bbox=True),
        dict(type='PhotoMetricDistortion'), EXPAND, CROP, RESIZE, FLIP,
        dict(type='PCALighting'),
        dict(type='PackMultiTaskInputs')
    ]
    fused = fused_pipeline(pipeline)
    assert [t['type'] for t in fused] == [
        'LoadImageFromFile', 'LoadMultiTaskAnnotations', 'PhotoMetricDistortion', 'FusedGeometry',
        'PCALighting', 'PackMultiTaskInputs'
    ]
    assert fused[1]['decode_dense'] is False and fused[3]['transforms'] == [
        EXPAND, CROP, RESIZE, FLIP
    ]
    check_multitask_pipeline(fused)
    packed = fused_pipeline(pipeline, packed=True)
    assert [t['type'] for t in packed[:2]] == ['LoadPackedImage', 'LoadPackedMultiTaskAnnotations']
    assert 'decode_dense' not in pipeline[1]  # the input is left as it was
    # undecoded labels must reach a FusedGeometry
    with pytest.raises(ValueError, match='no FusedGeometry follows'):
        check_multitask_pipeline([dict(fused[1]), dict(type='PackMultiTaskInputs')])
    with pytest.raises(ValueError, match="'MultiTaskResize' comes before a FusedGeometry"):
        check_multitask_pipeline([dict(fused[1]), RESIZE, fused[3]])
    with pytest.raises(TypeError, match='cannot fuse MultiTaskPad'):
        FusedGeometry([EXPAND, dict(type='MultiTaskPad', size=(64, 64))])
    with pytest.raises(ValueError, match='never decoded'):
        PackMultiTaskInputs()(make_sample(0))
    assert not LoadMultiTaskAnnotations(decode_dense=False).decode_dense
