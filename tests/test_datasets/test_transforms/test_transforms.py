"""Geometric / photometric augmentations keep image, boxes, depth and normals consistent.

The synthetic scene encodes each pixel's source position in the image (channel 0 = x,
channel 1 = y, channel 2 = 255 background / 128 object / 0 expand canvas), so after any
chain of copies (expand, crop, flip, nearest resize) the expected depth and normals at an
output pixel are the source pixel's, depth divided by the zoom s, normals with z multiplied by s
and renormalised, x negated when flipped.
"""
import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes

from mmrock.datasets.transforms import (FixedRatioMinIoURandomCrop, MultiTaskExpand,
                                        MultiTaskRandomFlip, MultiTaskResize, PCALighting)

H, W = 60, 80
BOX = (20, 15, 45, 40)  # object pixels: x in [20, 45), y in [15, 40)
OBJECT_DEPTH = 1.5  # fronto-parallel square in front of the wall
DEPTH_HOLE = (slice(None), slice(60, 65))  # missing depth: columns 60..64
NORMAL_HOLE = (slice(50, 55), slice(None))  # masked normals: rows 50..54


def make_scene():
    """Image, depth (m) and normals (camera frame) of a slanted curved wall plus a box."""
    ys, xs = np.mgrid[0:H, 0:W]
    x0, y0, x1, y1 = BOX
    obj = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    img = np.stack([xs, ys, np.where(obj, 128, 255)], -1).astype(np.uint8)
    # a plane's inverse depth is affine in pixel coordinates
    depth = 1. / (0.2 + 0.002 * xs + 0.003 * ys)
    theta = (xs - W / 2) / W  # wall turning with x: normals vary along x
    normals = np.stack([np.sin(theta), np.full_like(theta, -0.3), -np.cos(theta)], -1)
    depth[obj] = OBJECT_DEPTH
    normals[obj] = (0, 0, -1)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    depth[DEPTH_HOLE] = 0
    normals[NORMAL_HOLE] = 0
    return img, depth.astype(np.float32), normals.astype(np.float32)


def make_results():
    img, depth, normals = make_scene()
    return dict(
        img=img,
        img_shape=(H, W),
        ori_shape=(H, W),
        gt_depth=depth,
        gt_normals=normals,
        gt_bboxes=HorizontalBoxes(np.array([BOX], np.float32)),
        gt_bboxes_labels=np.array([3]),
        gt_ignore_flags=np.array([False]))


def check_consistent(results, depth_factor, flip_sign=1., box_tol=0., with_box=True):
    """Dense maps equal the source pixels' (zoomed, flipped); boxes enclose the object."""
    img = results['img']
    assert img.shape[:2] == results['gt_depth'].shape == results['gt_normals'].shape[:2]
    assert tuple(results['img_shape']) == img.shape[:2]
    _, depth0, normals0 = make_scene()
    content = img[..., 2] > 0
    xs, ys = img[..., 0].astype(int), img[..., 1].astype(int)
    exp_depth = np.where(content, depth0[ys, xs] * depth_factor, 0)
    exp_normals = np.where(content[..., None], normals0[ys, xs], 0)
    exp_normals[..., 0] *= flip_sign
    exp_normals[..., 2] /= depth_factor  # z * zoom, zoom = 1 / depth_factor
    norm = np.linalg.norm(exp_normals, axis=-1, keepdims=True)
    exp_normals = np.where(norm > 0, exp_normals / np.maximum(norm, 1e-12), 0)
    np.testing.assert_allclose(results['gt_depth'], exp_depth, rtol=1e-5)
    np.testing.assert_allclose(results['gt_normals'], exp_normals, atol=1e-6)
    rows, cols = np.nonzero(img[..., 2] == 128)
    boxes = results['gt_bboxes'].numpy()
    if with_box and len(rows):
        assert len(boxes) == 1
        x1, y1, x2, y2 = boxes[0]
        assert x1 <= cols.min() + box_tol and x2 >= cols.max() + 1 - box_tol
        assert y1 <= rows.min() + box_tol and y2 >= rows.max() + 1 - box_tol
    return content


@pytest.mark.parametrize('seed', range(5))
def test_expand(seed):
    np.random.seed(seed)
    results = MultiTaskExpand(mean=(0, 0, 0), ratio_range=(1.5, 3), prob=1.)(make_results())
    new_h, new_w = results['img'].shape[:2]
    assert 1.5 * W - 1 < new_w <= 3 * W
    # depth x r: the content appears r times smaller once resized back
    content = check_consistent(results, depth_factor=new_w / W)
    assert content.sum() == H * W  # the whole image is there once
    assert not results['gt_depth'][~content].any() and not results['gt_normals'][~content].any()
    top, left = np.argwhere(content)[0]
    np.testing.assert_array_equal(results['gt_bboxes'].numpy()[0],
                                  np.add(BOX, [left, top, left, top]))


def test_expand_skipped_keeps_everything():
    results = make_results()
    out = MultiTaskExpand(prob=0.)(make_results())
    for key in ('img', 'gt_depth', 'gt_normals'):
        np.testing.assert_array_equal(out[key], results[key])


@pytest.mark.parametrize('seed', range(10))
def test_fixed_ratio_crop(seed):
    np.random.seed(seed)
    crop = FixedRatioMinIoURandomCrop(min_crop_size=0.3)
    results = crop(make_results())
    ch, cw = results['img'].shape[:2]
    assert ch == round(cw * H / W)  # aspect ratio kept (to the rounding pixel)
    assert abs(ch / cw - H / W) <= 1 / cw
    check_consistent(results, depth_factor=cw / W)  # depth / zoom, zoom = W / cw
    x0, y0 = results['img'][0, 0, :2].astype(int)
    if len(results['gt_bboxes']):
        np.testing.assert_allclose(results['gt_bboxes'].numpy()[0],
                                   np.clip(np.subtract(BOX, [x0, y0, x0, y0]), 0, [cw, ch, cw, ch]))


@pytest.mark.parametrize('min_iou', [0.1, 0.3, 0.5])
def test_crop_min_iou_and_centre_rule(min_iou, monkeypatch):
    np.random.seed(0)
    crop = FixedRatioMinIoURandomCrop(min_ious=(min_iou, ), min_crop_size=0.1)
    monkeypatch.setattr(crop, 'random_min_iou', lambda: min_iou)
    results = crop(make_results())
    ch, cw = results['img'].shape[:2]
    x0, y0 = results['img'][0, 0, :2].astype(float)
    patch = HorizontalBoxes(np.array([[x0, y0, x0 + cw, y0 + ch]], np.float32))
    iou = HorizontalBoxes.overlaps(patch, HorizontalBoxes(np.array([BOX], np.float32)))
    assert float(iou) >= min_iou
    cx, cy = (BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2
    assert x0 < cx < x0 + cw and y0 < cy < y0 + ch
    assert len(results['gt_bboxes']) == 1 and results['gt_bboxes_labels'].tolist() == [3]


@pytest.mark.parametrize('max_trials', [1, 2, 50])
def test_fixed_ratio_trials_at_once_equal_the_loop(max_trials):
    """The trials drawn and scored at once give the base class' one-by-one loop's crop, keep mask
    and generator state after (accepted first, later, or never; with and without boxes)."""
    from mmrock.datasets.transforms.geometry import MultiTaskMinIoURandomCrop
    crop = FixedRatioMinIoURandomCrop(min_crop_size=0.3, max_trials=max_trials)
    rng = np.random.default_rng(0)
    outcomes = set()
    for seed in range(300):
        n = int(rng.integers(0, 4))
        xy = rng.uniform(0, [560, 400], (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(5, 300, (n, 2))], 1).astype(np.float32)
        centers = (boxes[:, :2] + boxes[:, 2:]) / 2
        min_iou = float(rng.choice([0.1, 0.3, 0.5, 0.7, 0.9]))
        results = []
        for first_accepted in (crop._first_accepted,
                               lambda *a: MultiTaskMinIoURandomCrop._first_accepted(crop, *a)):
            np.random.seed(seed)
            results.append((first_accepted(480, 640, min_iou, boxes, centers), np.random.random()))
        (got, after), (expected, expected_after) = results
        assert after == expected_after
        assert (got is None) == (expected is None)
        if got is not None:
            np.testing.assert_array_equal(got[0], expected[0])
            np.testing.assert_array_equal(got[1], expected[1])
        outcomes.add('none' if got is None else 'boxless' if not n else 'accepted')
    assert outcomes == {'none', 'boxless', 'accepted'}


def test_crop_drops_boxes_whose_centre_is_outside(monkeypatch):
    results = make_results()
    results['gt_bboxes'] = HorizontalBoxes(np.array([BOX, [0, 0, 8, 6]], np.float32))
    results['gt_bboxes_labels'] = np.array([3, 5])
    results['gt_ignore_flags'] = np.array([False, True])
    crop = FixedRatioMinIoURandomCrop(min_ious=(0., ))
    monkeypatch.setattr(crop, '_random_mode', lambda: 0.)
    monkeypatch.setattr(crop, '_random_patches',
                        lambda h, w, n: np.tile(np.array([10, 8, 58, 44]), (n, 1)))
    out = crop(results)
    assert out['gt_bboxes_labels'].tolist() == [3] and out['gt_ignore_flags'].tolist() == [False]
    np.testing.assert_allclose(out['gt_bboxes'].numpy(), [[10, 7, 35, 32]])
    check_consistent(out, depth_factor=48 / W)


def test_crop_without_boxes():
    np.random.seed(1)
    results = make_results()
    results['gt_bboxes'] = HorizontalBoxes(np.zeros((0, 4), np.float32))
    results['gt_bboxes_labels'] = np.zeros(0, np.int64)
    results['gt_ignore_flags'] = np.zeros(0, bool)
    for _ in range(5):
        out = FixedRatioMinIoURandomCrop()(dict(results))
        check_consistent(out, depth_factor=out['img'].shape[1] / W, with_box=False)


@pytest.mark.parametrize('direction,signs', [('horizontal', (-1, 1, 1)), ('vertical', (1, -1, 1))])
def test_flip(direction, signs):
    results = MultiTaskRandomFlip(prob=1., direction=direction)(make_results())
    _, depth, normals = make_scene()
    axis = 1 if direction == 'horizontal' else 0
    np.testing.assert_array_equal(results['gt_depth'], np.flip(depth, axis))
    np.testing.assert_array_equal(results['gt_normals'], np.flip(normals, axis) * signs)
    assert results['gt_depth'].flags.c_contiguous
    x1, y1, x2, y2 = BOX
    expected = [W - x2, y1, W - x1, y2] if axis == 1 else [x1, H - y2, x2, H - y1]
    np.testing.assert_allclose(results['gt_bboxes'].numpy()[0], expected)
    if direction == 'horizontal':
        check_consistent(results, depth_factor=1., flip_sign=-1.)


@pytest.mark.parametrize('scale', [(130, 97), (40, 30)])
def test_resize_nearest_no_blending(scale):
    results = MultiTaskResize(scale=scale, keep_ratio=False)(make_results())
    new_w, new_h = scale
    assert results['gt_depth'].shape == (new_h, new_w) == results['img'].shape[:2]
    _, depth, normals = make_scene()
    # every output value is one of the (up to) 4 source pixels around its position
    cy = np.clip((np.arange(new_h) + 0.5) * H / new_h - 0.5, 0, H - 1)
    cx = np.clip((np.arange(new_w) + 0.5) * W / new_w - 0.5, 0, W - 1)
    out = results['gt_depth']
    match = np.zeros(out.shape, bool)
    for ys in (np.floor(cy), np.ceil(cy)):
        for xs in (np.floor(cx), np.ceil(cx)):
            src = depth[np.ix_(ys.astype(int), xs.astype(int))]
            match |= out == src  # depth values are not rescaled by the final resize
    assert match.all()
    norm = np.linalg.norm(results['gt_normals'], axis=-1)
    assert np.allclose(norm[norm > 0], 1, atol=1e-6)
    assert set(np.unique(np.round(norm, 4))) <= {0., 1.}
    sx, sy = new_w / W, new_h / H
    np.testing.assert_allclose(
        results['gt_bboxes'].numpy()[0], np.multiply(BOX, [sx, sy, sx, sy]), rtol=1e-5)
    assert results['scale_factor'] == pytest.approx((sx, sy))


def run_chain(seed):
    np.random.seed(seed)
    results = make_results()
    factor, flip_sign = 1., 1.
    for t in (MultiTaskExpand(mean=(0, 0, 0), ratio_range=(1, 4),
                              prob=0.5), FixedRatioMinIoURandomCrop(min_crop_size=0.3),
              MultiTaskResize(scale=(160, 120), keep_ratio=False,
                              interpolation='nearest'), MultiTaskRandomFlip(prob=0.5)):
        w_in = results['img'].shape[1]
        results = t(results)
        if not isinstance(t, MultiTaskResize):
            factor *= results['img'].shape[1] / w_in
    if results['flip']:
        flip_sign = -1.
    return results, factor, flip_sign


@pytest.mark.parametrize('seed', range(8))
def test_full_chain(seed):
    results, factor, flip_sign = run_chain(seed)
    assert results['img'].shape[:2] == (120, 160)
    content = check_consistent(results, factor, flip_sign, box_tol=1.)
    # the zoom measured on the image itself: source columns per output column
    cols = np.nonzero(content)[1]
    slope = np.polyfit(cols, results['img'][..., 0][content].astype(float), 1)[0]
    assert abs(abs(slope) * 160 / W / factor - 1) < 0.05
    again, _, _ = run_chain(seed)
    for key in ('img', 'gt_depth', 'gt_normals'):
        np.testing.assert_array_equal(again[key], results[key])


def test_pca_lighting_colour_only():
    results = make_results()
    img = results['img'].copy()
    np.random.seed(7)
    out = PCALighting(std=0.1)(results)
    shift = out['img'] - img
    assert out['img'].dtype == np.float32
    assert np.allclose(shift, shift[0, 0]) and np.abs(shift[0, 0]).max() > 0.01
    _, depth, normals = make_scene()
    np.testing.assert_array_equal(out['gt_depth'], depth)
    np.testing.assert_array_equal(out['gt_normals'], normals)
    np.testing.assert_array_equal(out['gt_bboxes'].numpy(), [BOX])

    def shift_with(seed, **kwargs):
        np.random.seed(seed)
        return PCALighting(**kwargs)(dict(img=img.copy()))['img'][0, 0] - img[0, 0]

    np.testing.assert_array_equal(shift_with(7), shift[0, 0])  # deterministic given the seed
    assert not np.allclose(shift_with(8), shift[0, 0])
    np.testing.assert_allclose(shift_with(7, channel_order='rgb'), shift[0, 0][::-1], atol=1e-4)


def test_pca_lighting_layouts_give_the_same_sums():
    """Float32 images in any layout (contiguous, FusedGeometry's flipped views, a strided crop)
    and uint8 images: img + shift in float32, written as (3, H, W) memory."""
    rng = np.random.default_rng(0)
    base = rng.uniform(-20, 280, (30, 41, 3)).astype(np.float32)
    views = [
        base, base[::-1], base[:, ::-1], base[::-1, ::-1], base[3:20, 5:30], base[::2, 1::3],
        rng.integers(0, 256, (30, 41, 3)).astype(np.uint8)
    ]
    for img in views:
        np.random.seed(3)
        out = PCALighting()(dict(img=img))['img']
        np.random.seed(3)
        shift = (255. * PCALighting.EIGVEC @ (np.random.normal(0, 0.1, 3) * PCALighting.EIGVAL))
        np.testing.assert_array_equal(out, img + shift[::-1].astype(np.float32))
        assert out.dtype == np.float32 and out.transpose(2, 0, 1).flags.c_contiguous
