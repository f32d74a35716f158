"""Anchors: the default square SSD anchors laid on the non-square input, and the per-side scheme
of the public re-implementation (docs/design.md, "Anchors")."""
import math

import pytest
import torch
from mmdet.registry import TASK_UTILS
from mmengine.config import Config

import mmrock  # noqa: F401  (registers the modules)

PER_SIDE_SCALES = [0.07, 0.15, 0.30, 0.45, 0.60, 0.75, 0.90, 1.05]


def per_side_sizes_by_hand(scales, ratios, width, height):
    """Per level the sorted (w, h) of the anchors as the re-implementation writes them: sizes
    (s_k, s_k), (s', s') with s' = sqrt(s_k s_k+1), then (s_k sqrt(a), s_k / sqrt(a)) and its
    transpose per ratio a, times (W, H), clamped to the image."""
    levels = []
    for k, level_ratios in enumerate(ratios):
        s1, s2 = scales[k], math.sqrt(scales[k] * scales[k + 1])
        sizes = [(s1, s1), (s2, s2)]
        for a in level_ratios:
            sizes += [(s1 * math.sqrt(a), s1 / math.sqrt(a)),
                      (s1 / math.sqrt(a), s1 * math.sqrt(a))]
        levels.append(sorted((min(w, 1.) * width, min(h, 1.) * height) for w, h in sizes))
    return levels


def sizes_of(base_anchors):
    return [
        sorted(zip((a[:, 2] - a[:, 0]).tolist(), (a[:, 3] - a[:, 1]).tolist()))
        for a in base_anchors
    ]


@pytest.mark.parametrize('config, input_size', [
    ('configs/rock/ssd_r50_rock-per-side-anchors_1xb8-40k_nyuv2.py', (640, 480)),
    ('configs/rock/ssd_r18_rock-per-side-anchors_1xb8-400it_demo.py', (320, 240)),
])
def test_per_side_anchors_match_the_reimplementation_formula(config, input_size):
    cfg = Config.fromfile(config).model.bbox_head.anchor_generator
    assert cfg.input_size == input_size and cfg.scales == PER_SIDE_SCALES
    generator = TASK_UTILS.build(cfg)
    expected = per_side_sizes_by_hand(PER_SIDE_SCALES, cfg.ratios, *input_size)
    for got, want in zip(sizes_of(generator.base_anchors), expected):
        assert sum(got, ()) == pytest.approx(sum(want, ()), rel=1e-5)
    # Centred on each cell like the default generator, and as many anchors per cell: the same
    # head weights serve both schemes.
    default = TASK_UTILS.build(
        Config.fromfile(
            config.replace('-per-side-anchors',
                           '').replace('_1xb8-40k_nyuv2',
                                       '_nyuv2').replace('_1xb8-400it_demo',
                                                         '_demo')).model.bbox_head.anchor_generator)
    assert generator.num_base_priors == default.num_base_priors
    for a, b in zip(generator.base_anchors, default.base_anchors):
        torch.testing.assert_close((a[:, :2] + a[:, 2:]) / 2, (b[:, :2] + b[:, 2:]) / 2)


def test_default_anchors_are_square_in_pixels():
    cfg = Config.fromfile('configs/rock/ssd_r50_rock_nyuv2.py').model.bbox_head.anchor_generator
    generator = TASK_UTILS.build(cfg)
    for sizes, min_size, max_size in zip(
            sizes_of(generator.base_anchors), cfg.min_sizes, cfg.max_sizes):
        squares = [w for w, h in sizes if w == pytest.approx(h)]
        assert squares == pytest.approx([min_size, math.sqrt(min_size * max_size)])


def test_per_side_scales_are_checked():
    with pytest.raises(ValueError, match='num_levels \\+ 1'):
        TASK_UTILS.build(
            dict(
                type='PerSideSSDAnchorGenerator',
                strides=[16, 32],
                ratios=[[2], [2]],
                scales=[0.1, 0.2],
                input_size=(64, 48)))
    with pytest.raises(ValueError, match='increasing'):
        TASK_UTILS.build(
            dict(
                type='PerSideSSDAnchorGenerator',
                strides=[16, 32],
                ratios=[[2], [2]],
                scales=[0.1, 0.3, 0.2],
                input_size=(64, 48)))
