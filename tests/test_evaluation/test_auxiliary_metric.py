"""AuxiliaryTaskMetric on hand-computed inputs, through mmengine's Evaluator (dict samples)."""
import math
import pickle

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData

from mmrock.evaluation import AuxiliaryTaskMetric
from mmrock.evaluation.metrics.auxiliary_metric import eigen_crop


def rotated_z(deg, scale=2.):
    """A non-unit vector at ``deg`` degrees from +z."""
    a = math.radians(deg)
    return [0., scale * math.sin(a), scale * math.cos(a)]


def sample(scene=None, scores=None, depth=None, pred_depth=None, normals=None, pred_normals=None):
    """DetDataSample with the given labels / predictions; None = absent field.
    Maps are given as (H, W) or (H, W, 3) lists."""
    s = DetDataSample()
    if scene is not None:
        s.gt_scene_label = torch.tensor(scene)
    if scores is not None:
        s.pred_scene_scores = torch.tensor(scores, dtype=torch.float32)
    for name, value in (('gt_depth', depth), ('pred_depth', pred_depth)):
        if value is not None:
            setattr(s, name, PixelData(data=torch.tensor(value, dtype=torch.float32)[None]))
    for name, value in (('gt_normals', normals), ('pred_normals', pred_normals)):
        if value is not None:
            t = torch.tensor(value, dtype=torch.float32).permute(2, 0, 1)
            setattr(s, name, PixelData(data=t))
    return s


def evaluate(samples, **kwargs):
    evaluator = Evaluator(AuxiliaryTaskMetric(**kwargs))
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def scores(label):
    s = np.full(27, 0.01)
    s[label] = 0.5
    return s.tolist()


def test_known_values():
    samples = [
        # scene right; depth pixels (g, p): (1, 1.5), (2, 2), invalid, (4, 2);
        # normals: z vs 10, 20, 40 degrees, one masked pixel (zero vector)
        sample(
            scene=3,
            scores=scores(3),
            depth=[[1, 2], [0, 4]],
            pred_depth=[[1.5, 2], [7, 2]],
            normals=[[[0, 0, 1], [0, 0, 1]], [[0, 0, 0], [0, 0, 1]]],
            pred_normals=[[rotated_z(10), rotated_z(20)], [rotated_z(0),
                                                           rotated_z(40)]]),
        # scene wrong; depth (2, 2.2); no normal prediction
        sample(scene=5, scores=scores(0), depth=[[2]], pred_depth=[[2.2]], normals=[[[1, 0, 0]]]),
        # no scene label, no depth prediction; normals 45 and 5 degrees
        sample(
            scores=scores(1),
            depth=[[3]],
            normals=[[[1, 0, 0], [0, 0, 1]]],
            pred_normals=[[[1, 1, 0], rotated_z(5, 1.)]]),
    ]
    m = evaluate(samples)
    assert m['aux/scene_acc'] == pytest.approx(50.)
    # pooled over the 4 valid depth pixels of the set
    assert m['aux/depth_abs_rel'] == pytest.approx((0.5 + 0 + 0.5 + 0.1) / 4)
    assert m['aux/depth_rmse'] == pytest.approx(math.sqrt((0.25 + 0 + 4 + 0.04) / 4))
    assert m['aux/depth_delta1'] == pytest.approx(50.)
    # angles 10, 20, 40, 45, 5
    assert m['aux/normal_mean'] == pytest.approx(24., abs=1e-4)
    assert m['aux/normal_median'] == pytest.approx(20., abs=0.011)  # 0.01-degree histogram
    assert m['aux/normal_11.25'] == pytest.approx(40.)
    assert m['aux/normal_22.5'] == pytest.approx(60.)
    assert m['aux/normal_30'] == pytest.approx(60.)


def test_missing_everything_reports_nothing():
    # e.g. the SSD baseline: no auxiliary prediction at all
    assert evaluate([sample(scene=1, depth=[[1.]], normals=[[[0, 0, 1]]])]) == {}


def test_only_available_tasks_and_invalid_maps():
    m = evaluate([
        sample(scene=2, scores=scores(2)),
        sample(depth=[[0, 0]], pred_depth=[[1, 1]]),  # no valid pixel: skipped
    ])
    assert m == {'aux/scene_acc': 100.}


def test_prediction_resized_to_label_and_clamped():
    m = evaluate([
        sample(depth=[[2, 2], [2, 2]], pred_depth=np.full((4, 4), 3.).tolist()),
        sample(depth=[[1.]], pred_depth=[[-1.]]),  # clamped to 1 mm: not a delta1 hit
    ])
    assert m['aux/depth_abs_rel'] == pytest.approx((4 * 0.5 + 0.999) / 5)
    assert m['aux/depth_delta1'] == pytest.approx(0.)


def test_median_interpolates_in_fine_histogram():
    rng = np.random.default_rng(0)
    angles = rng.uniform(0, 60, 2000)
    a = np.radians(angles)
    pred = np.stack([np.zeros_like(a), np.sin(a), np.cos(a)], -1)[None]
    gt = np.tile([0., 0., 1.], (1, 2000, 1))
    m = evaluate([sample(normals=gt.tolist(), pred_normals=pred.tolist())])
    assert m['aux/normal_median'] == pytest.approx(np.median(angles), abs=0.01)
    assert m['aux/normal_mean'] == pytest.approx(angles.mean(), abs=1e-3)


def test_per_sample_result_is_small():
    metric = AuxiliaryTaskMetric()
    rng = torch.Generator().manual_seed(0)
    s = sample(scene=1, scores=scores(1))
    s.gt_depth = PixelData(data=torch.rand(1, 480, 640, generator=rng) + 0.5)
    s.pred_depth = PixelData(data=torch.rand(1, 480, 640, generator=rng) + 0.5)
    s.gt_normals = PixelData(data=torch.nn.functional.normalize(torch.randn(3, 480, 640), dim=0))
    s.pred_normals = PixelData(data=torch.randn(3, 480, 640, generator=rng))
    metric.process({}, [s.to_dict()])
    assert len(pickle.dumps(metric.results[0])) < 150_000  # vs 3.7 MB of float32 maps


def depth_map(pixels, fill):
    """(gt, pred) 48x64 lists: gt 0 (invalid) but at ``pixels`` {(row, col): (g, p)}, pred
    ``fill`` elsewhere. The Eigen crop of 48x64 is rows 5:47, cols 4:60."""
    gt, pred = np.zeros((48, 64)), np.full((48, 64), fill)
    for (row, col), (g, p) in pixels.items():
        gt[row, col], pred[row, col] = g, p
    return dict(depth=gt.tolist(), pred_depth=pred.tolist())


def test_eigen_crop_bounds():
    assert eigen_crop(480, 640) == (45, 471, 41, 601)
    assert eigen_crop(240, 320) == (23, 236, 21, 301)  # 22.5 -> 23, 235.5 -> 236, ...
    assert eigen_crop(48, 64) == (5, 47, 4, 60)


def test_eigen_depth_averages_images_where_pooled_pools_pixels():
    """Image A: 1 pixel (g 1, p 2); image B: 3 pixels (g 4, p 4.5), all inside the crop."""
    samples = [
        sample(**depth_map({(10, 10): (1., 2.)}, 2.)),
        sample(**depth_map({(10, c): (4., 4.5)
                            for c in (10, 11, 12)}, 4.5))
    ]
    pooled = evaluate(samples)
    assert not any('eigen' in key for key in pooled)
    m = evaluate(samples, eigen_depth=True)
    assert {k: v for k, v in m.items() if 'eigen' not in k} == pooled
    # pooled over 4 pixels: AbsRel (1 + 3 x 0.125) / 4, RMSE sqrt((1 + 3 x 0.25) / 4), 3 / 4 hits
    assert pooled['aux/depth_abs_rel'] == pytest.approx(0.34375)
    assert pooled['aux/depth_rmse'] == pytest.approx(math.sqrt(0.4375))  # 0.6614
    assert pooled['aux/depth_delta1'] == pytest.approx(75.)
    # per image (A: AbsRel 1, RMSE 1, ratio 2; B: 0.125, 0.5, ratio 1.125), then averaged
    assert m['aux/depth_eigen_abs_rel'] == pytest.approx(0.5625)
    assert m['aux/depth_eigen_rmse'] == pytest.approx(0.75)
    assert m['aux/depth_eigen_log10'] == pytest.approx(
        (math.log10(2) + math.log10(1.125)) / 2)  # 0.1761
    for k in (1, 2, 3):  # 2 > 1.25^3 = 1.95
        assert m[f'aux/depth_eigen_delta{k}'] == pytest.approx(50.)


def test_eigen_depth_crop_cap_and_clip():
    pixels = {
        (10, 10): (2., 30.),  # inside; prediction clipped to 10 m: AbsRel 4, squared error 64
        (5, 4): (1., 1.),  # inside (the crop's first row and column)
        (10, 59): (5., 5.),  # inside (its last column)
        (4, 10): (1., 3.),  # above the crop
        (47, 10): (1., 2.),  # below it (row end excluded)
        (10, 60): (1., 2.),  # right of it
        (20, 20): (12., 12.)  # ground truth beyond 10 m
    }
    m = evaluate([sample(**depth_map(pixels, 1.))], eigen_depth=True)
    assert m['aux/depth_eigen_abs_rel'] == pytest.approx(4 / 3)
    assert m['aux/depth_eigen_rmse'] == pytest.approx(math.sqrt(64 / 3))
    assert m['aux/depth_eigen_delta1'] == pytest.approx(200 / 3)
    # pooled: every pixel with gt > 0, predictions not clipped above
    assert m['aux/depth_abs_rel'] == pytest.approx((14 + 0 + 0 + 2 + 1 + 1 + 0) / 7)


def test_log_line_states_the_depth_protocol(monkeypatch):
    from mmengine.logging import MMLogger
    lines = []
    monkeypatch.setattr(MMLogger.get_current_instance(), 'info', lines.append)
    samples = [sample(**depth_map({(10, 10): (1., 2.)}, 2.))]
    evaluate(samples)
    assert 'depth_*: pooled over all pixels' in lines[-1] and 'eigen' not in lines[-1]
    evaluate(samples, eigen_depth=True)
    assert 'depth_eigen_*: per image, then averaged over images, Eigen crop' in lines[-1]
