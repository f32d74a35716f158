"""Loss balancers: each one's weights on hand-made loss sequences against the published formula
(computed here with plain floats), the default's losses against today's, and the learned
parameters' gradients in the real model. Resume: tests/test_engine/test_resume.py; DDP:
tests/test_engine/test_ddp.py."""
import math
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from torch import nn

import mmrock.models.loss_balancers
from mmrock.benchmark.sync_check import SyncOpRecorder
from mmrock.models.loss_balancers import (DynamicWeightAverage, FixedWeights, GradNorm,
                                          UncertaintyWeighting)
from sample_factory import make_sample, preprocess

CONFIGS = Path(__file__).parents[3] / 'configs' / 'rock'


def build(config: str, **options):
    """The model of ``configs/rock/<config>`` (plus ``options``, dotted keys), seed 0."""
    cfg = Config.fromfile(str(CONFIGS / config))
    cfg.merge_from_dict({'model.backbone.init_cfg': None, **options})
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def tiny_batch(model):
    return preprocess(model, [make_sample((96, 128), seed=i) for i in range(2)])


def scalars(**values):
    return {k: torch.tensor(float(v), requires_grad=True) for k, v in values.items()}


# ------------------------------------------------------------------------------------------------
# the formulas, on hand-made losses


def test_fixed_weights():
    balancer = FixedWeights(['scene', 'depth'],
                            weights=dict(det=2.0, depth=30.0),
                            include_detection=True)
    det = dict(
        loss_cls=torch.tensor(1.0),
        loss_bbox=[torch.tensor(0.5), torch.tensor(0.25)],
        acc=torch.tensor(90.0))
    out = balancer(det, dict(loss_scene=torch.tensor(3.0), loss_depth=torch.tensor(0.1)), None)
    assert list(out) == [
        'loss_cls', 'loss_bbox', 'acc', 'loss_scene', 'loss_depth', 'w_det', 'w_scene', 'w_depth'
    ]
    assert out['loss_cls'] == 2.0 and [float(v) for v in out['loss_bbox']] == [1.0, 0.5]
    assert out['acc'] == 90.0  # not a loss: not weighted
    assert out['loss_scene'] == 3.0 and out['loss_depth'] == torch.tensor(0.1) * 30
    assert [float(out[f'w_{t}']) for t in ('det', 'scene', 'depth')] == [2.0, 1.0, 30.0]
    assert not list(balancer.state_dict())  # config, not state
    with pytest.raises(ValueError, match=r"names \['det'\].*include_detection=True"):
        FixedWeights(['scene'], weights=dict(det=2.0))
    with pytest.raises(KeyError, match='must name the ROCK heads'):
        FixedWeights(['scene', 'depth'])({}, dict(loss_scene=torch.tensor(1.0)), None)


def test_uncertainty_weighting_formula_and_gradients():
    """Kendall et al.: L = sum_t exp(-s_t) / 2 L_t + s_t / 2; dL/ds_t = -exp(-s_t) / 2 L_t + 1/2."""
    balancer = UncertaintyWeighting(['scene', 'depth'], include_detection=True)
    s = [0.3, -0.7, 1.2]  # det, scene, depth
    balancer.log_vars.data = torch.tensor(s)
    det = scalars(loss_cls=1.0, loss_bbox=0.5)
    aux = scalars(loss_scene=2.0, loss_depth=5.0)
    out = balancer(det, aux, None)
    task_loss = [1.5, 2.0, 5.0]
    w = [math.exp(-si) / 2 for si in s]
    for key, value, weight in [('loss_cls', 1.0, w[0]), ('loss_bbox', 0.5, w[0]),
                               ('loss_scene', 2.0, w[1]), ('loss_depth', 5.0, w[2])]:
        assert out[key].item() == pytest.approx(weight * value, rel=1e-6)
    assert out['loss_uncertainty'].item() == pytest.approx(sum(s) / 2, rel=1e-6)
    assert [out[f'w_{t}'].item() for t in ('det', 'scene', 'depth')] == pytest.approx(w)
    assert not out['w_scene'].requires_grad

    total = sum(v for k, v in out.items() if 'loss' in k)
    total.backward()
    expected = [-math.exp(-si) / 2 * li + 0.5 for si, li in zip(s, task_loss)]
    assert balancer.log_vars.grad.tolist() == pytest.approx(expected, rel=1e-6)
    assert aux['loss_depth'].grad.item() == pytest.approx(w[2], rel=1e-6)
    assert det['loss_cls'].grad.item() == pytest.approx(w[0], rel=1e-6)


def dwa_expected(history, temperature):
    """Liu et al., Eq. 4: w_k = K exp(r_k / T) / sum_i exp(r_i / T), r_k = L_k(n-1) / L_k(n-2);
    1 while fewer than two averages exist."""
    if len(history) < 2:
        return [1.0] * len(history[0] if history else [0, 0])
    r = [a / b for a, b in zip(history[-1], history[-2])]
    e = [math.exp(x / temperature) for x in r]
    return [len(r) * x / sum(e) for x in e]


@pytest.mark.parametrize('window', [1, 3])
def test_dynamic_weight_average_formula(window):
    losses = [[2.0, 8.0], [1.0, 7.0], [1.5, 6.0], [0.9, 6.5], [0.5, 6.0], [0.6, 2.0], [0.4, 1.0],
              [0.3, 3.0], [0.35, 2.5], [0.2, 2.0]]
    balancer = DynamicWeightAverage(['scene', 'depth'], temperature=2.0, window=window)
    averages = []  # the completed windows' mean losses
    for step, (scene, depth) in enumerate(losses):
        out = balancer({}, dict(loss_scene=torch.tensor(scene), loss_depth=torch.tensor(depth)),
                       None)
        expected = dwa_expected(averages, 2.0) if len(averages) >= 2 else [1.0, 1.0]
        got = [out['w_scene'].item(), out['w_depth'].item()]
        assert got == pytest.approx(expected, rel=1e-6), step
        assert out['loss_depth'].item() == pytest.approx(expected[1] * depth, rel=1e-6)
        if (step + 1) % window == 0:
            chunk = losses[step + 1 - window:step + 1]
            averages.append([sum(c[i] for c in chunk) / window for i in (0, 1)])
    assert len(averages) >= 3 and dwa_expected(averages, 2.0) != [1.0, 1.0]
    assert int(balancer.num_windows) == len(averages)

    # the state: a copy loaded from the state dict continues identically; eval does not update
    copy = DynamicWeightAverage(['scene', 'depth'], temperature=2.0, window=window)
    copy.load_state_dict(balancer.state_dict())
    nxt = dict(loss_scene=torch.tensor(0.1), loss_depth=torch.tensor(1.0))
    copy.eval()
    copy({}, nxt, None)
    copy.train()
    for _ in range(2 * window):
        a, b = balancer({}, nxt, None), copy({}, nxt, None)
        assert torch.equal(a['w_scene'], b['w_scene']) and torch.equal(a['w_depth'], b['w_depth'])
    assert set(
        balancer.state_dict()) == {'window_sum', 'window_count', 'window_means', 'num_windows'}


class SharedLayer(nn.Module):
    """Two tasks on one shared weight W (2, 3): L_a = c_a sum(W), L_b = c_b sum(W^2), whose
    gradient norms are c_a sqrt(6) and 2 c_b ||W||."""

    def __init__(self):
        super().__init__()
        self.shared = nn.Linear(3, 2, bias=False)
        self.shared.weight.data = torch.tensor([[0.5, -1.0, 2.0], [0.25, 1.5, -0.5]])

    def losses(self, c_a, c_b):
        w = self.shared.weight
        return dict(loss_a=c_a * w.sum(), loss_b=c_b * (w**2).sum())

    def grad_norms(self, c_a, c_b):
        w = self.shared.weight.detach()
        return [c_a * math.sqrt(6), 2 * c_b * float(w.norm())]


def gradnorm_expected(weights, norms, losses, initial, alpha):
    """Chen et al.: G_t = w_t ||grad_W L_t||, r_t = (L_t / L_t(0)) / mean_i(L_i / L_i(0)),
    L_grad = sum_t |G_t - mean(G) r_t^alpha| (target constant); dL_grad/dw_t."""
    g = [w * n for w, n in zip(weights, norms)]
    ratio = [loss / loss0 for loss, loss0 in zip(losses, initial)]
    r = [x / (sum(ratio) / len(ratio)) for x in ratio]
    target = [sum(g) / len(g) * x**alpha for x in r]
    value = sum(abs(a - b) for a, b in zip(g, target))
    grad = [n * math.copysign(1, a - b) for n, a, b in zip(norms, g, target)]
    return value, grad


def test_grad_norm_formula():
    model = SharedLayer()
    balancer = GradNorm(['a', 'b'], alpha=1.5, shared_param='shared.weight')
    # iteration 1: L(0) recorded, every r_t = 1
    out = balancer({}, model.losses(2.0, 0.5), model)
    value, grad = gradnorm_expected([1, 1], model.grad_norms(2.0, 0.5), [1, 1], [1, 1], 1.5)
    assert out['loss_gradnorm'].item() == pytest.approx(value, rel=1e-6)
    out['loss_gradnorm'].backward()
    assert balancer.task_weights.grad.tolist() == pytest.approx(grad, rel=1e-6)
    assert model.shared.weight.grad is None  # L_grad trains the task weights only
    w = model.shared.weight.detach()
    initial = [2.0 * float(w.sum()), 0.5 * float((w**2).sum())]
    assert balancer.initial_losses.tolist() == pytest.approx(initial, rel=1e-6)

    # iteration 2, after an optimizer step moved the weights: renormalised to sum to 2 first
    balancer.task_weights.data = torch.tensor([1.5, 0.3])
    balancer.task_weights.grad = None
    losses = model.losses(1.0, 0.4)
    out = balancer({}, losses, model)
    weights = [1.5 * 2 / 1.8, 0.3 * 2 / 1.8]
    assert [out['w_a'].item(), out['w_b'].item()] == pytest.approx(weights, rel=1e-6)
    assert out['loss_a'].item() == pytest.approx(weights[0] * losses['loss_a'].item(), rel=1e-6)
    value, grad = gradnorm_expected(weights, model.grad_norms(1.0, 0.4),
                                    [losses['loss_a'].item(), losses['loss_b'].item()], initial,
                                    1.5)
    assert out['loss_gradnorm'].item() == pytest.approx(value, rel=1e-5)
    out['loss_gradnorm'].backward()
    assert balancer.task_weights.grad.tolist() == pytest.approx(grad, rel=1e-6)
    assert set(balancer.state_dict()) == {'task_weights', 'initial_losses'}


def test_grad_norm_without_any_label_in_a_batch():
    """Every task loss 0 (a batch without auxiliary labels): no gradient, no NaN."""
    model = SharedLayer()
    balancer = GradNorm(['a', 'b'], shared_param='shared.weight')
    balancer({}, model.losses(1.0, 1.0), model)
    out = balancer({}, model.losses(0.0, 0.0), model)
    assert out['loss_gradnorm'].item() == 0.0
    out['loss_gradnorm'].backward()
    assert balancer.task_weights.grad.tolist() == [0.0, 0.0]


def test_grad_norm_refuses_a_layer_not_shared_by_every_task():
    model = SharedLayer()
    model.other = nn.Linear(1, 1)
    balancer = GradNorm(['a', 'b'], shared_param='other.weight')
    with pytest.raises(ValueError, match='the a loss does not depend on other.weight'):
        balancer({}, model.losses(1.0, 1.0), model)
    with pytest.raises(ValueError, match="no parameter 'nope.weight'"):
        GradNorm(['a', 'b'], shared_param='nope.weight')({}, model.losses(1.0, 1.0), model)


# ------------------------------------------------------------------------------------------------
# in the ROCK detector


def test_default_balancer_reproduces_todays_total_loss_exactly():
    model = build('ssd_r18_rock_demo.py')
    assert type(model.loss_balancer) is FixedWeights
    assert model.loss_balancer.tasks == ['scene', 'depth', 'normals']
    assert not [k for k in model.state_dict() if k.startswith('loss_balancer')]  # old checkpoints
    data = tiny_batch(model)
    losses = model.loss(data['inputs'], data['data_samples'])

    # today's ROCKDetector.loss: the detector's losses (its heads as its family runs them,
    # tests/test_models/test_detectors/test_rock_detector_heads.py) updated with the auxiliary ones
    feats, task_maps = model.extract_feat(data['inputs'])
    today = model.detector_heads.loss(model.detector, feats, data['data_samples'])
    today.update(model.rock.loss(task_maps, data['data_samples']))

    assert [k for k in losses if 'loss' in k] == list(today)
    for key in today:
        assert torch.equal(losses[key], today[key]), key
    total, log_vars = model.parse_losses(losses)
    assert torch.equal(total, model.parse_losses(today)[0])
    assert [log_vars[f'w_{t}'].item() for t in ('scene', 'depth', 'normals')] == [1.0, 1.0, 1.0]


def test_fixed_weights_in_the_balancer_equal_the_heads_loss_weights():
    """The paper's weights given to the balancer instead of the heads: the same losses."""
    heads = build('ssd_r18_rock_demo.py')
    balancer = build(
        'ssd_r18_rock-equal_1xb8-400it_demo.py', **{
            'model.loss_balancer':
            dict(type='FixedWeights', weights=dict(scene=3.0, depth=3.0, normals=30.0))
        })
    data = tiny_batch(heads)
    a = heads.loss(data['inputs'], data['data_samples'])
    b = balancer.loss(data['inputs'], data['data_samples'])
    for key in ('loss_cls', 'loss_bbox', 'loss_scene', 'loss_depth', 'loss_normals'):
        torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=0, msg=key)
    assert b['w_normals'].item() == 30.0


def test_uncertainty_log_vars_receive_their_gradient_in_the_detector():
    model = build('ssd_r18_rock-uncertainty_1xb8-400it_demo.py',
                  **{'model.loss_balancer.include_detection': True})
    data = tiny_batch(model)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert losses['w_det'].item() == 0.5  # s = 0
    model.parse_losses(losses)[0].backward()
    det = losses['loss_cls'].item() + losses['loss_bbox'].item()
    aux = [losses[f'loss_{t}'].item() for t in ('scene', 'depth', 'normals')]
    # the logged losses are weighted (exp(0) / 2); dL/ds = -L_t / 2 + 1 / 2 with L_t unweighted
    expected = [-x + 0.5 for x in [det] + aux]
    assert model.loss_balancer.log_vars.grad.tolist() == pytest.approx(expected, rel=1e-5)


def test_grad_norm_trains_its_weights_and_leaves_the_network_gradients_alone():
    """At the first iteration (weights 1) the network's gradients equal those of equal fixed
    weights: L_grad reaches the task weights only."""
    gradnorm = build('ssd_r18_rock-gradnorm_1xb8-400it_demo.py')
    equal = build('ssd_r18_rock-equal_1xb8-400it_demo.py')
    equal.load_state_dict(gradnorm.state_dict(), strict=False)
    data = tiny_batch(gradnorm)
    for model in (gradnorm, equal):
        losses = model.loss(data['inputs'], data['data_samples'])
        model.parse_losses(losses)[0].backward()
        assert ('loss_gradnorm' in losses) == (model is gradnorm)
    weights_grad = gradnorm.loss_balancer.task_weights.grad
    assert weights_grad is not None and weights_grad.abs().min() > 0
    assert gradnorm.loss_balancer.initial_losses.min() > 0
    network = dict(equal.named_parameters())
    for name, p in gradnorm.named_parameters():
        if not name.startswith('loss_balancer'):
            torch.testing.assert_close(p.grad, network[name].grad, msg=name)


def test_grad_norm_refuses_flat_mtl_with_detection_on_the_encoder():
    model = build('ssd_r18_rock-gradnorm_1xb8-400it_demo.py', **{
        'model.rock.residual': False,
        'model.loss_balancer.include_detection': True
    })
    data = tiny_batch(model)
    with pytest.raises(ValueError, match='det loss does not depend on rock.encoder.1.conv.weight'):
        model.loss(data['inputs'], data['data_samples'])


@pytest.mark.slow
@pytest.mark.parametrize('balancer', [
    dict(type='UncertaintyWeighting', include_detection=True),
    dict(type='DynamicWeightAverage', window=1),
    dict(type='GradNorm', include_detection=True)
])
def test_balancers_do_not_synchronise_host_and_device(balancer):
    """No operator of the balancers (forward, GradNorm's gradient norms, backward, state
    updates) reads a device value on the host; three iterations, so DWA's windows close and
    its weights come from the formula."""
    model = build('ssd_r18_rock-equal_1xb8-400it_demo.py', **{'model.loss_balancer': balancer})
    data = tiny_batch(model)
    with SyncOpRecorder() as rec:
        for _ in range(3):
            model.parse_losses(model.loss(data['inputs'], data['data_samples']))[0].backward()
    assert rec.events, 'the recorder sees mmdet\'s synchronisations'
    balancers = str(Path(mmrock.models.loss_balancers.__file__).parent)
    assert not rec.summary(only_under=[balancers]), rec.summary()


@pytest.mark.parametrize('config,balancer',
                         [('ssd_r50_rock-uncertainty_1xb8-40k_nyuv2.py', UncertaintyWeighting),
                          ('ssd_r50_rock-dwa_1xb8-40k_nyuv2.py', DynamicWeightAverage),
                          ('ssd_r50_rock-gradnorm_1xb8-40k_nyuv2.py', GradNorm),
                          ('ssd_r18_rock-uncertainty_1xb8-400it_demo.py', UncertaintyWeighting),
                          ('ssd_r18_rock-dwa_1xb8-400it_demo.py', DynamicWeightAverage),
                          ('ssd_r18_rock-gradnorm_1xb8-400it_demo.py', GradNorm)])
def test_balancer_configs_weigh_unweighted_heads(config, balancer):
    cfg = Config.fromfile(str(CONFIGS / config))
    assert MODELS.get(cfg.model.loss_balancer.type) is balancer
    assert {name: head.loss.loss_weight for name, head in cfg.model.rock.aux_heads.items()} == \
        dict(scene=1.0, depth=1.0, normals=1.0)
    paper = Config.fromfile(
        str(CONFIGS / ('ssd_r50_rock_nyuv2.py' if 'r50' in config else 'ssd_r18_rock_demo.py')))
    assert 'loss_balancer' not in paper.model  # the paper's configs keep the default
