"""Full detectors: SSD-R50-ROCK at 480x640, and ROCK inside RetinaNet / Faster R-CNN."""
import math
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

import mmrock  # noqa: F401
from sample_factory import make_sample

CONFIGS = Path(__file__).parents[3] / 'configs' / 'rock'


def build(config, **overrides):
    cfg = Config.fromfile(str(CONFIGS / config))
    cfg.model.backbone.init_cfg = None  # no ImageNet weights offline
    cfg.model.update(overrides)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def batch(model, hw, n=2, **labels):
    samples = [make_sample(hw, seed=i, **labels) for i in range(n)]
    inputs = [torch.randint(0, 255, (3, ) + tuple(hw), dtype=torch.uint8) for _ in range(n)]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)


@pytest.mark.slow
def test_ssd_r50_rock_full_size_loss_backward_and_predict():
    torch.manual_seed(0)
    model = build('ssd_r50_rock_nyuv2.py')
    c5 = model.detector.backbone(torch.zeros(1, 3, 480, 640))[-1]
    assert c5.shape == (1, 2048, 30, 40)  # dilated: stride 16
    data = batch(model, (480, 640))
    model.train()
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {k
            for k in losses if 'loss' in k
            } == {'loss_cls', 'loss_bbox', 'loss_scene', 'loss_depth', 'loss_normals'}
    assert {k
            for k in losses if 'loss' not in k
            } == {'w_scene', 'w_depth', 'w_normals', 'rock_input_rms', 'rock_residual_rms'}
    total = model.parse_losses(losses)[0]
    assert torch.isfinite(total)
    total.backward()
    # the auxiliary losses reach the backbone (through the residual block) and the detector head
    assert model.detector.backbone.layer4[0].downsample[0].weight.grad.abs().sum() > 0
    assert model.rock.encoder[0].conv.weight.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch(model, (480, 640), n=1), training=False)
        (out, ) = model.predict(data['inputs'], data['data_samples'])
    assert out.pred_instances.bboxes.shape[1] == 4
    assert out.pred_scene_scores.shape == (27, )
    torch.testing.assert_close(out.pred_scene_scores.sum(), torch.tensor(1.0))
    assert out.pred_depth.data.shape == (1, 480, 640)
    assert out.pred_normals.data.shape == (3, 480, 640)


@pytest.mark.parametrize('config', ['ssd_r18_rock_demo.py', 'ssd_r18_flatmtl_1xb8-400it_demo.py'])
def test_residual_rms_is_logged_beside_the_losses(config):
    """``rock_residual_rms`` / ``rock_input_rms``: the RMS of what ROCK adds to the refined
    level and of that level itself, logged (not optimised: no ``loss`` in the names)."""
    torch.manual_seed(0)
    model = build(config).train()
    data = batch(model, (96, 128))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    losses = model.loss(data['inputs'], data['data_samples'])
    model.load_state_dict(state)  # the same BN statistics for the reference below
    with torch.no_grad():
        c5 = model.detector.backbone(data['inputs'])[-1]
        refined = model.rock(model.detector.backbone(data['inputs']))[-1]
    model.load_state_dict(state)
    torch.testing.assert_close(losses['rock_input_rms'], c5.pow(2).mean().sqrt())
    torch.testing.assert_close(losses['rock_residual_rms'], (refined - c5).pow(2).mean().sqrt())
    assert (losses['rock_residual_rms'] > 0) == ('flatmtl' not in config)
    total, log_vars = model.parse_losses(losses)
    assert 'rock_residual_rms' in log_vars
    assert torch.allclose(total, sum(v for k, v in losses.items() if 'loss' in k))


def test_aux_losses_alone_reach_backbone_gradients():
    model = build('ssd_r50_rock_nyuv2.py').train()
    data = batch(model, (96, 128))
    losses = model.loss(data['inputs'], data['data_samples'])
    (losses['loss_depth'] + losses['loss_normals'] + losses['loss_scene']).backward()
    assert model.detector.backbone.layer3[0].downsample[0].weight.grad.abs().sum() > 0


@pytest.mark.slow
def test_ssd_baseline_predicts_despite_mmdet_ssdhead_bug():
    model = build('ssd_r50_nyuv2.py').eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch(model, (480, 640), n=1), training=False)
        (out, ) = model.predict(data['inputs'], data['data_samples'])
    assert 'pred_instances' in out and 'pred_depth' not in out


def test_flat_mtl_refines_nothing():
    model = build('ssd_r50_flatmtl_nyuv2.py').eval()
    assert not hasattr(model.rock, 'decoders')
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        feats, maps = model.extract_feat(x)
        plain = model.detector.neck(model.detector.backbone(x))
    torch.testing.assert_close(feats[0], plain[0])
    assert set(maps) == {'scene', 'depth', 'normals'}


@pytest.mark.slow
@pytest.mark.parametrize('config',
                         ['retinanet_r50_fpn_rock_nyuv2.py', 'faster-rcnn_r50_fpn_rock_nyuv2.py'])
def test_rock_in_other_detectors(config):
    torch.manual_seed(0)
    model = build(config).train()
    data = batch(model, (128, 160))
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_scene', 'loss_depth', 'loss_normals'} <= set(losses)
    total = sum(
        v if isinstance(v, torch.Tensor) else sum(v) for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert model.detector.backbone.layer4[0].downsample[0].weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch(model, (128, 160), n=1), training=False)
        (out, ) = model.predict(data['inputs'], data['data_samples'])
    assert 'pred_instances' in out and out.pred_depth.data.shape == (1, 128, 160)


def test_ssd_head_prior_and_mining_skip_ignored_anchors(monkeypatch):
    head = build('ssd_r50_nyuv2.py').bbox_head
    # prior: every foreground logit starts at -log(99), the background one at 0
    bias = head.cls_convs[0][-1].bias.view(-1, 20)
    torch.testing.assert_close(bias[:, :19], torch.full_like(bias[:, :19], -math.log(99)))
    assert (bias[:, 19] == 0).all()

    # 1 positive, 1 ignored anchor (huge loss, weight 0), 5 negatives: mining keeps the 3 hardest
    # negatives and never the ignored anchor
    n_anchor = sum(head.num_base_priors)  # one cell per level
    labels = torch.full((n_anchor, ), 19)
    labels[0] = 3
    weights = torch.zeros(n_anchor)
    weights[:7] = 1
    weights[1] = 0  # ignored (IoU in [0.4, 0.5))
    scores = torch.zeros(n_anchor, 20)
    scores[1, 0] = 50.  # confident mistake, ignored
    scores[2:7, 0] = torch.tensor([1., 2., 3., 4., 5.])  # negatives of rising difficulty
    monkeypatch.setattr(
        head, 'get_targets', lambda *a, **k:
        ([labels], [weights], [torch.zeros(n_anchor, 4)], [torch.zeros(n_anchor, 4)], 1))
    cls_scores, bbox_preds, start = [], [], 0
    for a in head.num_base_priors:
        cls_scores.append(scores[start:start + a].reshape(1, a * 20, 1, 1))
        bbox_preds.append(torch.zeros(1, a * 4, 1, 1))
        start += a
    metas = [dict(img_shape=(64, 64), pad_shape=(64, 64), batch_input_shape=(64, 64))]
    loss = head.loss_by_feat(cls_scores, bbox_preds, [None], metas)['loss_cls']
    ce = torch.nn.functional.cross_entropy(scores, labels, reduction='none')
    torch.testing.assert_close(loss, ce[0] + ce[4:7].sum())
