"""tools/pretrain_backbone.py (the ImageNet stand-in) end to end on a tiny RGB-only corpus: the
loss decreases, the file is a torchvision-format state dict that loads into the detectors'
backbones through the configs' ``Pretrained`` initialiser, and nothing but images, boxes and
categories is read."""
import json

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

from mmrock.datasets.object_crops import BACKGROUND, CropsError, ObjectCrops
from mmrock_data.converters.synthetic_rooms.rgb_corpus import make_rgb_corpus
from conftest import REPO, check_ok, run_python

# the demo's half-width ResNet-18, on 32 px crops
NET = ['--depth', 18, '--base-channels', 32, '--size', 32]


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp('rgb_corpus') / 'corpus'
    make_rgb_corpus(root, 24, seed=1, height=96, width=128, progress=False)
    return root


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp('pretrain') / 'resnet18-w32.pth'
    proc = check_ok(
        run_python('tools/pretrain_backbone.py', '--ann-file', corpus / 'annotations.json',
                   '--img-dir', corpus / 'images', '--out', out, '--epochs', 6, '--batch-size', 16,
                   '--lr', 0.05, *NET, '--no-progress'))
    return dict(
        out=out,
        report=json.loads(out.with_suffix('.json').read_text()),
        output=proc.stdout + proc.stderr)


def test_corpus_is_rgb_and_boxes_only(corpus):
    coco = json.loads((corpus / 'annotations.json').read_text())
    assert sorted(p.name for p in corpus.iterdir()) == ['annotations.json', 'images']
    assert set(coco) == {'info', 'images', 'annotations', 'categories'}
    assert len(coco['images']) == 24 and len(coco['categories']) == 19
    assert all(
        set(a) == {'id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd'}
        for a in coco['annotations'])
    assert len(coco['annotations']) > 24


@pytest.mark.slow
def test_pretraining_loss_decreases(pretrained):
    losses = pretrained['report']['train_loss']
    assert len(losses) == 6 and losses[-1] < 0.8 * losses[0], losses
    assert pretrained['report']['final_val_top1'] is not None
    assert pretrained['report']['time']['total_cpu_s'] > 0


@pytest.mark.slow
def test_weights_load_into_the_demo_backbone_through_pretrained(pretrained):
    """Every backbone weight equals the file's; the classifier alone is unexpected."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'rock' / 'ssd_r18_rock_demo.py'))
    cfg.model.backbone.update(
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=str(pretrained['out'])))
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = torch.load(pretrained['out'], weights_only=True)  # plain tensors only
    backbone = model.detector.backbone.state_dict()
    assert set(state) - set(backbone) == {'fc.weight', 'fc.bias'}
    assert set(backbone) <= set(state)
    for key, value in backbone.items():
        assert torch.equal(value, state[key]), key
    # the detector's backbone is the dilated one: same weights, other strides
    assert model.detector.backbone.layer4[0].conv1.dilation == (2, 2)


@pytest.mark.slow
def test_unexpected_keys_are_the_classifier_only(pretrained):
    """What mmengine's loader reports (the ``Pretrained`` initialiser's path)."""
    import logging

    from mmengine.logging import MMLogger
    from mmengine.runner.checkpoint import load_checkpoint
    backbone = MODELS.build(dict(type='ResNet', depth=18, base_channels=32, out_indices=(3, )))
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_instance('pretrain_load_test')
    logger.addHandler(handler)
    load_checkpoint(backbone, str(pretrained['out']), logger=logger)
    text = ' '.join(messages)
    assert 'unexpected key in source state_dict: fc.weight, fc.bias' in text
    assert 'missing keys' not in text


def test_no_depth_normals_or_scene_is_read(tmp_path, corpus):
    """A COCO json carrying only what the crops need works; one that lacks categories does
    not, with one line naming the file."""
    coco = json.loads((corpus / 'annotations.json').read_text())
    minimal = dict(
        images=[dict(id=im['id'], file_name=im['file_name']) for im in coco['images']],
        annotations=[
            dict(id=a['id'], image_id=a['image_id'], bbox=a['bbox'], category_id=a['category_id'])
            for a in coco['annotations']
        ],
        categories=coco['categories'])
    path = tmp_path / 'minimal.json'
    path.write_text(json.dumps(minimal))
    crops = ObjectCrops(str(path), str(corpus / 'images'), size=24, progress=False)
    assert crops.crops.shape[1:] == (24, 24, 3) and crops.crops.dtype == np.uint8
    assert crops.classes[-1] == BACKGROUND and len(crops.classes) == 20
    assert (crops.labels == 19).sum() > 0 and (crops.labels < 19).sum() > 0
    train, val = crops.split(0.25)
    assert not set(crops.image_index[train]) & set(crops.image_index[val])
    del minimal['categories']
    path.write_text(json.dumps(minimal))
    with pytest.raises(CropsError, match=r'minimal\.json: no "categories" list'):
        ObjectCrops(str(path), str(corpus / 'images'), progress=False)


@pytest.mark.slow
def test_unknown_category_is_refused(tmp_path, corpus):
    coco = json.loads((corpus / 'annotations.json').read_text())
    coco['annotations'][0]['category_id'] = 99
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(coco))
    proc = run_python('tools/pretrain_backbone.py', '--ann-file', path, '--img-dir',
                      corpus / 'images', '--out', tmp_path / 'w.pth', *NET, '--no-progress')
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(f'error: {path}: annotation')
    assert 'category_id 99' in proc.stderr and not (tmp_path / 'w.pth').exists()


@pytest.mark.slow
def test_the_demo_rooms_seed_is_refused(tmp_path):
    proc = run_python('tools/pretrain_backbone.py', '--seed', 0, '--out', tmp_path / 'w.pth')
    assert proc.returncode == 1 and "demo's and the ablation's own rooms" in proc.stderr


@pytest.mark.slow
def test_resnet50_file_loads_into_the_paper_backbone(tmp_path, corpus):
    """The same tool serves ResNet-50: its file loads into ssd_r50_rock_nyuv2.py's backbone."""
    out = tmp_path / 'resnet50.pth'
    check_ok(
        run_python('tools/pretrain_backbone.py', '--ann-file', corpus / 'annotations.json',
                   '--img-dir', corpus / 'images', '--out', out, '--depth', 50, '--base-channels',
                   64, '--size', 32, '--epochs', 1, '--iters', 1, '--batch-size', 4,
                   '--no-progress'))
    cfg = Config.fromfile(str(REPO / 'configs' / 'rock' / 'ssd_r50_rock_nyuv2.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(out)
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = torch.load(out, weights_only=True)
    backbone = model.detector.backbone.state_dict()
    assert set(state) - set(backbone) == {'fc.weight', 'fc.bias'}
    assert all(torch.equal(v, state[k]) for k, v in backbone.items())


@pytest.mark.parametrize(
    'pretrained_config, scratch_config',
    [('ssd_r18-roomspre_1xb8-400it_demo', 'ssd_r18_1xb8-400it_demo'),
     ('ssd_r18-roomspre_flatmtl_1xb8-400it_demo', 'ssd_r18_flatmtl_1xb8-400it_demo'),
     ('ssd_r18-roomspre_rock_1xb8-400it_demo', 'ssd_r18_rock_demo'),
     ('ssd_r18-roomspre_rock-near-identity_1xb8-400it_demo',
      'ssd_r18_rock-near-identity_1xb8-400it_demo')])
def test_stand_in_configs_differ_from_scratch_in_the_backbone_start_only(
        pretrained_config, scratch_config):

    def load(name):
        return Config.fromfile(str(REPO / 'configs' / 'rock' / f'{name}.py')).to_dict()

    pretrained, scratch = load(pretrained_config), load(scratch_config)
    backbone = pretrained['model'].pop('backbone')
    scratch_backbone = scratch['model'].pop('backbone')
    assert backbone.pop('init_cfg') == dict(
        type='Pretrained', checkpoint='benchmarks/pretrain/resnet18-w32_rooms.pth')
    assert (backbone.pop('frozen_stages'), backbone.pop('norm_eval')) == (1, True)
    assert scratch_backbone.pop('init_cfg') is None
    assert (scratch_backbone.pop('frozen_stages'), scratch_backbone.pop('norm_eval')) == (-1, False)
    assert backbone == scratch_backbone
    pretrained.pop('rooms_pretrained_backbone')
    assert pretrained == scratch
