"""A geometric transform written in a test, by implementing ``GeometricTransform`` alone (no list
edited anywhere), carries depth, normals, masks and the seg map: step by step and fused, accepted
by the pipeline check, fused by ``fused_pipeline``; an undeclared pixel-moving transform is
refused in one line."""
from typing import Optional, Tuple

import numpy as np
import pytest
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.mask import BitmapMasks
from test_fused_geometry import CHAINS, assert_same, decoded, make_sample
from test_stock_transforms import CX, CY, F, H, W, make_results, zoomed_normals

from mmrock.datasets.transforms import (Crop, FusedGeometry, GeometricTransform, PixelMove,
                                        check_multitask_pipeline, fused_pipeline)
from mmrock_data.converters import normals_from_depth


@TRANSFORMS.register_module(force=True)
class CentreZoomForTest(GeometricTransform, BaseTransform):
    """Crop the centre ``1 / ratio`` of the image, with probability ``prob``."""

    def __init__(self, ratio: float = 2., prob: float = 1.) -> None:
        self.ratio, self.prob = ratio, prob

    def plan(self, results: dict, shape: Tuple[int, int]) -> Optional[PixelMove]:
        if np.random.random() >= self.prob:
            return None
        h, w = shape
        ch, cw = int(h / self.ratio), int(w / self.ratio)
        x1, y1 = (w - cw) // 2, (h - ch) // 2
        results['img_shape'] = (ch, cw)
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].translate_([-x1, -y1])
            results['gt_bboxes'].clip_((ch, cw))
        return Crop((x1, y1, x1 + cw, y1 + ch), w)


class EveryOtherPixel(PixelMove):
    """A move kind written in a test: every other row and column (no zoom: the field of view is
    kept)."""

    def __init__(self, shape: Tuple[int, int]) -> None:
        super().__init__(((shape[0] + 1) // 2, (shape[1] + 1) // 2))

    def index(self, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
        return np.arange(0, h, 2), np.arange(0, w, 2)

    def move_masks(self, masks):
        return BitmapMasks(masks.masks[:, ::2, ::2], *self.shape)

    def move_dense(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x[::2, ::2])


@TRANSFORMS.register_module(force=True)
class DecimateForTest(GeometricTransform, BaseTransform):
    """Keep every other pixel (boxes halved)."""

    def plan(self, results: dict, shape: Tuple[int, int]) -> Optional[PixelMove]:
        move = EveryOtherPixel(shape)
        results['img_shape'] = move.shape
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].rescale_((0.5, 0.5))
        return move


@TRANSFORMS.register_module(force=True)
class ShiftForTest(BaseTransform):
    """Moves pixels without declaring how."""

    def transform(self, results: dict) -> dict:
        results['img'] = np.roll(results['img'], 3, 1)
        return results


def test_new_transform_carries_a_plane():
    """Depth and normals of a plane after the test's zoom (s = W / crop width): each pixel holds
    its source pixel's labels zoomed, and back-projected with the virtual camera (f / s,
    principal point moved with the crop) the depth has the moved normals; the seg map and the
    masks moved with the image."""
    out = TRANSFORMS.build(dict(type='CentreZoomForTest', ratio=2.))(make_results())
    img = out['img']
    oh, ow = img.shape[:2]
    assert (oh, ow) == (H // 2, W // 2) == tuple(out['img_shape'])
    zoom = W / ow
    src = make_results()
    xs, ys = img[..., 0].astype(int), img[..., 1].astype(int)
    np.testing.assert_allclose(
        out['gt_depth'], src['gt_depth'][ys, xs] / np.float32(zoom), rtol=1e-6)
    np.testing.assert_allclose(
        out['gt_normals'], zoomed_normals(src['gt_normals'][ys, xs], zoom, None), atol=1e-6)
    np.testing.assert_array_equal(out['gt_seg_map'], src['gt_seg_map'][ys, xs])
    np.testing.assert_array_equal(out['gt_masks'].masks[0], src['gt_masks'].masks[0][ys, xs])
    cx, cy = CX - int(img[0, 0, 0]), CY - int(img[0, 0, 1])
    computed, valid = normals_from_depth(out['gt_depth'], (F / zoom, F / zoom, cx, cy))
    check = valid & (np.linalg.norm(out['gt_normals'], axis=-1) > 0)
    assert check.sum() > 100
    np.testing.assert_allclose(computed[check], out['gt_normals'][check], atol=2e-3)


@pytest.mark.parametrize('new', ['CentreZoomForTest', 'DecimateForTest'])
@pytest.mark.parametrize('codes', [False, True])
def test_new_transform_fused_equals_steps(new, codes):
    """Within the paper's chain, fused (one resampling per map, the test's move composed with
    the others) equals step by step, the random draws too."""
    chain = list(CHAINS['paper'])
    chain.insert(2, dict(type=new, prob=0.7) if new == 'CentreZoomForTest' else dict(type=new))
    steps = [TRANSFORMS.build(t) for t in chain]
    fused = FusedGeometry(chain)
    for seed in range(20):
        np.random.seed(seed)
        expected = decoded(make_sample(seed))
        for step in steps:
            expected = step(expected)
        after_chain = np.random.random()
        np.random.seed(seed)
        sample = make_sample(seed)
        got = fused(sample if codes else decoded(sample))
        assert np.random.random() == after_chain
        assert_same(expected, got, 4e-7 if codes else 0.)


def test_new_transform_declared_to_the_pipeline_helpers():
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations'),
        dict(type='MultiTaskExpand', mean=(0, 0, 0)),
        dict(type='CentreZoomForTest'),
        dict(type='MultiTaskRandomFlip', prob=0.5),
        dict(type='PackMultiTaskInputs')
    ]
    check_multitask_pipeline(pipeline)
    fused = fused_pipeline(pipeline)
    assert [t['type'] for t in fused] == [
        'LoadImageFromFile', 'LoadMultiTaskAnnotations', 'FusedGeometry', 'PackMultiTaskInputs'
    ]
    check_multitask_pipeline(fused)


def test_undeclared_pixel_moving_transform_refused_in_one_line():
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations'),
        dict(type='ShiftForTest'),
        dict(type='PackMultiTaskInputs')
    ]
    with pytest.raises(ValueError) as err:
        check_multitask_pipeline(pipeline, 'train_pipeline')
    message = str(err.value)
    assert '\n' not in message and message.startswith(
        "train_pipeline[2] 'ShiftForTest' may move pixels and ROCK's dense labels")
    with pytest.raises(TypeError, match='cannot fuse ShiftForTest'):
        FusedGeometry([dict(type='ShiftForTest'), dict(type='CentreZoomForTest')])
