"""ROCKDetector runs the wrapped detector's heads explicitly, as the detector's family does after
``extract_feat`` (SingleStageHeads, TwoStageHeads, DetectionTransformerHeads): its losses,
predictions and raw outputs equal, bit for bit, those of its former implementation, which
swapped the detector's ``extract_feat`` for a lambda returning the ROCK-refined features and
called the detector's own ``loss`` / ``predict`` / ``_forward`` (kept below as the reference).

Covered: the SSD of the repository's configs, mmdet's RetinaNet, ATSS (the README's detector),
Faster R-CNN, DETR and DINO, at test sizes (ResNet-18 from scratch, narrow heads; every box kept,
so that predictions are compared on boxes).
"""
import copy
from contextlib import contextmanager

import pytest
import torch
from mmdet.models.detectors import BaseDetector, SingleStageDetector
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.structures import BaseDataElement

import mmrock  # noqa: F401
from mmrock.models.detectors import DetectionTransformerHeads, SingleStageHeads, TwoStageHeads
from conftest import REPO
from sample_factory import make_sample

ROCK = dict(
    type='ROCKNeck',
    in_channels=512,
    in_index=3,
    encoder_channels=32,
    aux_heads=dict(
        scene=dict(type='SceneHead', num_classes=27),
        depth=dict(type='DepthHead', maps_per_out_channel=8),
        normals=dict(type='NormalHead', maps_per_out_channel=8)))
R18 = dict(depth=18, init_cfg=None, frozen_stages=-1, norm_eval=False)
TRANSFORMER = dict(embed_dims=32, feedforward_channels=64)
DETECTORS = {
    'SSD': ('rock/ssd_r18_rock_demo.py', dict(test_cfg=dict(score_thr=0.0))),
    'RetinaNet': ('mmdet::_base_/models/retinanet_r50_fpn.py',
                  dict(
                      backbone=R18,
                      neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
                      bbox_head=dict(num_classes=19, in_channels=32, feat_channels=32),
                      test_cfg=dict(score_thr=0.0))),
    'ATSS': ('mmdet::atss/atss_r50_fpn_1x_coco.py',
             dict(
                 backbone=R18,
                 neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
                 bbox_head=dict(num_classes=19, in_channels=32, feat_channels=32),
                 test_cfg=dict(score_thr=0.0))),
    'FasterRCNN': ('mmdet::_base_/models/faster-rcnn_r50_fpn.py',
                   dict(
                       backbone=R18,
                       neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
                       rpn_head=dict(in_channels=32, feat_channels=32),
                       roi_head=dict(
                           bbox_roi_extractor=dict(out_channels=32),
                           bbox_head=dict(in_channels=32, fc_out_channels=64, num_classes=19)),
                       test_cfg=dict(rcnn=dict(score_thr=0.0)))),
    'DETR':
    ('mmdet::detr/detr_r50_8xb2-150e_coco.py',
     dict(
         backbone=dict(R18, norm_cfg=dict(type='BN', requires_grad=True)),
         num_queries=10,
         neck=dict(in_channels=[512], out_channels=32),
         encoder=dict(
             num_layers=1,
             layer_cfg=dict(self_attn_cfg=dict(embed_dims=32, num_heads=2), ffn_cfg=TRANSFORMER)),
         decoder=dict(
             num_layers=2,
             layer_cfg=dict(
                 self_attn_cfg=dict(embed_dims=32, num_heads=2),
                 cross_attn_cfg=dict(embed_dims=32, num_heads=2),
                 ffn_cfg=TRANSFORMER)),
         positional_encoding=dict(num_feats=16),
         bbox_head=dict(num_classes=19, embed_dims=32),
         test_cfg=dict(max_per_img=10),
         rock=dict(ROCK, in_index=0))),
    'DINO': (
        'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',  # 256 channels: DINO's decoder
        dict(
            backbone=dict(R18, norm_cfg=dict(type='BN', requires_grad=True)),
            num_queries=20,
            neck=dict(in_channels=[128, 256, 512]),
            encoder=dict(num_layers=1, layer_cfg=dict(ffn_cfg=dict(feedforward_channels=64))),
            decoder=dict(num_layers=2, layer_cfg=dict(ffn_cfg=dict(feedforward_channels=64))),
            bbox_head=dict(num_classes=19),
            test_cfg=dict(max_per_img=20),
            dn_cfg=dict(group_cfg=dict(num_dn_queries=10)),
            rock=dict(ROCK, in_index=2))),
}
FAMILY = dict(
    SSD=SingleStageHeads,
    RetinaNet=SingleStageHeads,
    ATSS=SingleStageHeads,
    FasterRCNN=TwoStageHeads,
    DETR=DetectionTransformerHeads,
    DINO=DetectionTransformerHeads)

# ------------------------------------------------------------------------------------------------
# the former implementation (mmrock before issue 23), the reference


@contextmanager
def _precomputed_features(detector, feats):
    """Make ``detector.extract_feat`` return ``feats`` for the duration of the block."""
    detector.extract_feat = lambda batch_inputs: feats
    try:
        yield
    finally:
        del detector.extract_feat


def _former_refine(model, batch_inputs):
    backbone_feats = model.detector.backbone(batch_inputs)
    refined, task_maps = model.rock.forward_with_aux(backbone_feats)
    feats = model.detector.neck(refined) if model.detector.with_neck else refined
    return backbone_feats, refined, feats, task_maps


def former_loss(model, batch_inputs, batch_data_samples):
    backbone_feats, refined, feats, task_maps = _former_refine(model, batch_inputs)
    with _precomputed_features(model.detector, feats):
        losses = model.detector.loss(batch_inputs, batch_data_samples)
    losses = model.loss_balancer(losses, model.rock.loss(task_maps, batch_data_samples), model)
    index = getattr(model.rock, 'in_index', None)
    if index is not None:
        before = backbone_feats[index].detach().float()
        losses['rock_input_rms'] = before.pow(2).mean().sqrt()
        losses['rock_residual_rms'] = (refined[index].detach().float() -
                                       before).pow(2).mean().sqrt()
    return losses


def former_predict(model, batch_inputs, batch_data_samples, rescale=True):
    _, _, feats, task_maps = _former_refine(model, batch_inputs)
    with _precomputed_features(model.detector, feats):
        results = model.detector.predict(batch_inputs, batch_data_samples, rescale=rescale)
    if model.predict_aux:
        model.rock.predict(task_maps, results)
    return results


def former_forward(model, batch_inputs, batch_data_samples=None):
    _, _, feats, task_maps = _former_refine(model, batch_inputs)
    with _precomputed_features(model.detector, feats):
        det_outs = model.detector._forward(batch_inputs, batch_data_samples)
    aux = {name: head(task_maps[name]) for name, head in model.rock.aux_heads.items()}
    return det_outs, aux


# ------------------------------------------------------------------------------------------------


def build(name, tmp_path, **overrides):
    """The detector ``name`` of :data:`DETECTORS` with ROCK, randomly initialised."""
    base, model = DETECTORS[name]
    if base.startswith('rock/'):
        base = str(REPO / 'configs' / base)
    path = tmp_path / f'{name}.py'
    path.write_text(f'_base_ = [{base!r}]\n')
    cfg = Config.fromfile(str(path))
    cfg.model.backbone.init_cfg = None
    if cfg.model.type != 'ROCKDetector':
        cfg.model.update(
            type='ROCKDetector', detector_type=cfg.model.type, rock=copy.deepcopy(ROCK))
    cfg.merge_from_dict(dict(model=dict(model, **overrides)))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def batch(model, training, hw=(96, 128), n=2):
    """Preprocessed random images and samples; resized from 120x200 (``rescale`` matters)."""
    samples = [make_sample(hw, seed=i) for i in range(n)]
    for sample in samples:
        sample.set_metainfo(dict(ori_shape=(120, 200), scale_factor=(128 / 200, 96 / 120)))
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 255, (3, ) + hw, dtype=torch.uint8, generator=g) for _ in range(n)]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=training)


def assert_identical(new, old, where='outputs'):
    """Equal types and structure, tensors equal bit for bit (``torch.equal``)."""
    assert type(new) is type(old), where
    if isinstance(old, torch.Tensor):
        assert new.dtype == old.dtype and torch.equal(new, old), where
    elif isinstance(old, dict):
        assert list(new) == list(old), where
        for key in old:
            assert_identical(new[key], old[key], f'{where}[{key!r}]')
    elif isinstance(old, (list, tuple)):
        assert len(new) == len(old), where
        for i, (a, b) in enumerate(zip(new, old)):
            assert_identical(a, b, f'{where}[{i}]')
    elif isinstance(old, BaseDataElement):
        assert new.metainfo_keys() == old.metainfo_keys(), where
        assert sorted(new.keys()) == sorted(old.keys()), where
        for key in old.keys():
            assert_identical(new.get(key), old.get(key), f'{where}.{key}')
    else:
        assert new == old, where


def _twice(model, new, old, seed=0):
    """(new(), old()) from the same weights, buffers and random state."""
    state = copy.deepcopy(model.state_dict())
    torch.manual_seed(seed)
    a = new()
    model.load_state_dict(state)
    torch.manual_seed(seed)
    b = old()
    return a, b


@pytest.mark.slow
@pytest.mark.parametrize('name', list(DETECTORS))
def test_losses_predictions_and_outputs_equal_the_former_ones(name, tmp_path):
    model = build(name, tmp_path)
    assert model.detector_heads is FAMILY[name]
    data = batch(model.train(), training=True)
    inputs, samples = data['inputs'], data['data_samples']
    new, old = _twice(model, lambda: model.loss(inputs, copy.deepcopy(samples)),
                      lambda: former_loss(model, inputs, copy.deepcopy(samples)))
    assert {'loss_scene', 'loss_depth', 'loss_normals', 'rock_residual_rms'} <= set(new)
    assert_identical(new, old, 'losses')

    model.eval()
    data = batch(model, training=False)
    inputs, samples = data['inputs'], data['data_samples']
    with torch.no_grad():
        for rescale in (True, False):
            new, old = _twice(
                model, lambda: model.predict(inputs, copy.deepcopy(samples), rescale=rescale),
                lambda: former_predict(model, inputs, copy.deepcopy(samples), rescale=rescale))
            assert len(new[0].pred_instances) > 0 and 'pred_depth' in new[0]
            assert_identical(new, old, f'predictions (rescale={rescale})')
        new, old = _twice(model, lambda: model._forward(inputs, copy.deepcopy(samples)),
                          lambda: former_forward(model, inputs, copy.deepcopy(samples)))
        assert_identical(new, old, 'raw outputs')


class OwnLossDetector(SingleStageDetector):
    """A single-stage detector with its own ``loss``."""

    def loss(self, batch_inputs, batch_data_samples):
        return super().loss(batch_inputs, batch_data_samples)


class NoFamilyDetector(BaseDetector):
    """A detector of no family ROCKDetector knows."""

    def __init__(self, backbone, **kwargs):
        super().__init__()
        self.backbone = MODELS.build(backbone)

    def extract_feat(self, batch_inputs):
        return self.backbone(batch_inputs)

    def loss(self, batch_inputs, batch_data_samples):
        return {}

    def predict(self, batch_inputs, batch_data_samples, rescale=True):
        return batch_data_samples

    def _forward(self, batch_inputs, batch_data_samples=None):
        return self.extract_feat(batch_inputs)


@pytest.mark.parametrize('detector_type, why', [
    (OwnLossDetector, 'OwnLossDetector overrides SingleStageDetector.loss'),
    (NoFamilyDetector, 'NoFamilyDetector derives from none of them'),
])
def test_a_detector_of_no_supported_family_is_refused_when_built(detector_type, why, tmp_path):
    with pytest.raises(TypeError) as error:
        build('RetinaNet', tmp_path, detector_type=detector_type)
    assert str(error.value) == (
        f'ROCKDetector cannot wrap {detector_type.__name__}: it runs the heads as the '
        'loss/predict/_forward of SingleStageDetector, TwoStageDetector, DetectionTransformer '
        f'do, and {why}')
