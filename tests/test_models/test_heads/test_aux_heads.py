"""Auxiliary heads: target preparation, losses, and masking of missing labels."""
import math

import pytest
import torch
from mmdet.registry import MODELS

import mmrock  # noqa: F401
from mmrock.models import heads
from mmrock.models.utils import masked_downsample
from sample_factory import make_sample

HEADS = dict(
    scene=(dict(type='SceneHead', num_classes=27), 27, 'loss_scene'),
    depth=(dict(type='DepthHead'), 128, 'loss_depth'),
    normals=(dict(type='NormalHead'), 384, 'loss_normals'))


def test_masked_downsample_ignores_invalid_pixels():
    target = torch.tensor([[[[1., 3., 0., 0.], [5., 0., 0., 0.]]]])  # (1, 1, 2, 4)
    valid = target > 0
    out, cell_valid = masked_downsample(target, valid, (1, 2))
    torch.testing.assert_close(out, torch.tensor([[[[3., 0.]]]]))  # mean of 1, 3, 5
    assert cell_valid.tolist() == [[[[True, False]]]]


@pytest.mark.parametrize('task', list(HEADS))
def test_missing_label_contributes_no_loss(task):
    cfg, num_maps, key = HEADS[task]
    head = MODELS.build(cfg)
    maps = torch.randn(3, num_maps, 4, 5, requires_grad=True)
    labelled = dict(depth=task == 'depth', normals=task == 'normals', scene=task == 'scene')
    unlabelled = {k: False for k in labelled}
    samples = [
        make_sample((64, 80), seed=0, **labelled),
        make_sample((64, 80), seed=1, **unlabelled),
        make_sample((64, 80), seed=2, **labelled)
    ]
    mixed = head.loss(maps, samples)[key]
    only_labelled = head.loss(maps[[0, 2]], [samples[0], samples[2]])[key]
    torch.testing.assert_close(mixed, only_labelled)
    mixed.backward()
    assert maps.grad[1].abs().sum() == 0 and maps.grad[0].abs().sum() > 0
    # a batch without any label: zero loss that keeps the graph (DDP)
    none = head.loss(maps, [samples[1]] * 3)[key]
    assert none.item() == 0 and none.requires_grad


def test_depth_loss_is_berhu_on_valid_cells():
    head = MODELS.build(dict(type='DepthHead', maps_per_out_channel=2))
    sample = make_sample((4, 4), depth=True)
    depth = torch.tensor([[1., 1., 0., 0.], [1., 1., 0., 0.], [2., 2., 4., 4.], [2., 2., 4., 4.]])
    sample.gt_depth.data = depth[None]
    pred = torch.tensor([[1.5, 7.], [2., 1.]])  # prediction on a 2x2 grid
    maps = pred[None, None].repeat(1, 2, 1, 1)  # both maps equal -> mean = pred
    loss = head.loss(maps, [sample])['loss_depth']
    err = torch.tensor([0.5, 0., 3.])  # cell (0, 1) has no valid pixel
    c = 0.2 * 3.
    berhu = torch.where(err <= c, err, (err**2 + c**2) / (2 * c))
    torch.testing.assert_close(loss, 3.0 * berhu.mean())


def test_normal_loss_is_one_minus_cosine():
    loss = MODELS.build(dict(type='NormalCosineLoss', loss_weight=1.0))
    t = torch.tensor([0., 0., 1.]).view(1, 3, 1, 1).repeat(1, 1, 1, 2)
    p = torch.tensor([[0., 0., 5.], [0., 0., -1.]]).T.reshape(1, 3, 1, 2)
    w = torch.ones(1, 1, 1, 2)
    torch.testing.assert_close(loss(p, t, w, w.sum()), torch.tensor(1.0))  # (0 + 2) / 2


@pytest.mark.parametrize('loss_type', ['BerHuLoss', 'NormalCosineLoss'])
def test_losses_take_mmdets_arguments(loss_type):
    """weight, avg_factor and reduction_override optional, as in mmdet's losses."""
    loss = MODELS.build(dict(type=loss_type, loss_weight=2.0))
    pred = torch.tensor([[0., 0., 2.], [0., 1., 1.]]).T.reshape(1, 3, 1, 2)
    target = torch.tensor([0., 0., 1.]).view(1, 3, 1, 1).repeat(1, 1, 1, 2)
    if loss_type == 'BerHuLoss':  # |errors| (channel, pixel) 0 or 1: c = 0.2, 1 -> 1.04 / 0.4
        per_pixel = torch.tensor([[[0., 0.]], [[0., 1.]], [[1., 0.]]]).unsqueeze(0) * 2.6
    else:  # cos 1 | 1 / sqrt(2)
        per_pixel = torch.tensor([0., 1 - 2**-0.5]).view(1, 1, 1, 2)
    torch.testing.assert_close(loss(pred, target), 2.0 * per_pixel.mean())
    torch.testing.assert_close(loss(pred, target, reduction_override='sum'), 2.0 * per_pixel.sum())
    torch.testing.assert_close(loss(pred, target, reduction_override='none'), 2.0 * per_pixel)
    weight = torch.tensor([1., 0.]).view(1, 1, 1, 2)
    masked = (per_pixel * weight).sum() / 1.
    torch.testing.assert_close(
        loss(pred, target, weight=weight, avg_factor=1.), 2.0 * masked, rtol=1e-6, atol=1e-6)


def test_scene_loss_is_weighted_cross_entropy():
    head = MODELS.build(dict(type='SceneHead', num_classes=27))
    maps = torch.randn(2, 27, 3, 3)
    samples = [make_sample((32, 32), seed=i) for i in range(2)]
    labels = torch.stack([s.gt_scene_label for s in samples])
    expected = 3.0 * torch.nn.functional.cross_entropy(maps.mean((2, 3)), labels)
    torch.testing.assert_close(head.loss(maps, samples)['loss_scene'], expected)


def test_dense_predictions_are_upsampled_to_the_image():
    depth = MODELS.build(dict(type='DepthHead'))
    normals = MODELS.build(dict(type='NormalHead'))
    samples = [make_sample((60, 75), pad_hw=(64, 80)), make_sample((64, 80), pad_hw=(64, 80))]
    depth.predict(torch.randn(2, 128, 4, 5), samples)
    normals.predict(torch.randn(2, 384, 4, 5), samples)
    assert samples[0].pred_depth.data.shape == (1, 60, 75)
    assert samples[1].pred_normals.data.shape == (3, 64, 80)
    assert (samples[0].pred_depth.data >= 0).all()
    norms = samples[0].pred_normals.data.norm(dim=0)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_log_depth_option_round_trips_metres():
    head = MODELS.build(dict(type='DepthHead', maps_per_out_channel=1, log_depth=True))
    sample = make_sample((8, 8))
    head.predict(torch.full((1, 1, 2, 2), math.log(2.0)), [sample])
    torch.testing.assert_close(sample.pred_depth.data, torch.full((1, 8, 8), 2.0))


def test_label_presence_is_logged_and_checked():
    """The labelled fraction goes to the message hub; a head without any label in its first
    ``label_check_iters`` iterations stops training, one that got a late label does not, and
    ``allow_missing`` only warns."""
    from mmengine.logging import MessageHub

    from mmrock.models.heads import MissingAuxiliaryLabelError
    hub = MessageHub.get_instance('test_label_presence')  # the current instance from now on
    maps = torch.randn(2, 128, 4, 5)
    with_depth, without = make_sample((16, 20)), make_sample((16, 20), depth=False)

    late = MODELS.build(dict(type='DepthHead', label_check_iters=3))
    late.loss(maps, [without, without])
    late.loss(maps, [without, with_depth])
    assert hub.get_scalar('train/depth_labelled').current() == 0.5
    late.loss(maps, [without, without])  # iteration 3: one label seen, training goes on
    assert late.seen_labels == 1 and late.seen_samples == 6

    never = MODELS.build(dict(type='DepthHead', label_check_iters=2))
    never.loss(maps, [without, without])
    with pytest.raises(
            MissingAuxiliaryLabelError,
            match=r"^DepthHead \('depth'\) received no "
            r"'gt_depth' in the first 2 training iterations \(4 samples\)"):
        never.loss(maps, [without, without])

    allowed = MODELS.build(dict(type='DepthHead', label_check_iters=2, allow_missing=True))
    for _ in range(3):
        assert allowed.loss(maps, [without, without])['loss_depth'].item() == 0
    assert hub.get_scalar('train/depth_labelled').current() == 0.
    with pytest.raises(ValueError, match='label_check_iters must be >= 1'):
        MODELS.build(dict(type='DepthHead', label_check_iters=0))


@pytest.mark.parametrize('name, old, extra', [
    ('DepthHead', 'num_maps', {}),
    ('NormalHead', 'maps_per_component', {}),
    ('DenseAuxiliaryHead', 'maps_per_channel', dict(loss=dict(type='L1Loss'))),
])
def test_old_names_of_maps_per_out_channel_are_deprecated(name, old, extra):
    """One name for the task maps averaged into each output channel; the total is ``num_maps``."""
    head_class = getattr(heads, name)
    with pytest.warns(
            DeprecationWarning,
            match=f'"{old}" is deprecated in `{name}.__init__`, please use '
            '"maps_per_out_channel" instead'):
        head = head_class(**{old: 4}, **extra)
    new = head_class(maps_per_out_channel=4, **extra)
    assert head.maps_per_out_channel == new.maps_per_out_channel == 4
    assert head.num_maps == new.num_maps == 4 * new.out_channels
    maps = torch.randn(2, new.num_maps, 3, 5)
    assert torch.equal(head(maps), new(maps))
