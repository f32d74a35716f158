"""README "ROCK for your detector and your data", walked as written: your RGB-D data through
tools/dataset_converters/coco_rgbd.py, a stock mmdet config (ATSS) plus the ROCK lines and the
multi-task pipeline line, trained by tools/train.py; a stock checkpoint of the plain detector
loads into the ROCK model; missing labels stop training unless allowed."""
import logging
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import load_checkpoint

from conftest import REPO, check_ok, run_python
from rgbd_factory import INTRINSICS, make_rgbd_source

README = (REPO / 'README.md').read_text()
# the README's config, as written (section "ROCK for your detector and your data")
README_CONFIG = next(block for block in re.findall(r'```python\n(.*?)```', README, re.S)
                     if "_base_ = ['mmdet::atss/atss_r50_fpn_1x_coco.py']" in block)
README_CONVERT = re.search(r'(python tools/dataset_converters/coco_rgbd.py .*?)\n```', README,
                           re.S).group(1)
# test-only sizes: ResNet-18 from scratch (no download), 64x80 images, narrow heads, one epoch
# (3 iterations of 2 images), the untrained detector's every box scored
TEST_SIZES = """
model.update(backbone=dict(depth=18, init_cfg=None, frozen_stages=-1, norm_eval=False),
             neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
             test_cfg=dict(score_thr=0.0))
model['bbox_head'].update(in_channels=32, feat_channels=32, stacked_convs=1)
model['rock'].update(in_channels=512, encoder_channels=32)
train_pipeline[2]['scale'] = test_pipeline[1]['scale'] = (80, 64)
for loader in (train_dataloader, val_dataloader):
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
log_processor = dict(window_size=1)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
"""
PLAIN_ATSS = """
_base_ = ['mmdet::atss/atss_r50_fpn_1x_coco.py']
model = dict(
    backbone=dict(depth=18, init_cfg=None, frozen_stages=-1, norm_eval=False),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
    bbox_head=dict(num_classes=2, in_channels=32, feat_channels=32, stacked_convs=1))
"""
NO_VAL = """
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
"""
LOSS = re.compile(r'(loss_scene|loss_depth|loss_normals|\w+_labelled): (-?[\d.]+)')


@pytest.fixture(scope='module')
def own_data(tmp_path_factory):
    """6 images 64x80 in the user's format (val.json = train.json), converted by the README's
    command (paths replaced)."""
    src = tmp_path_factory.mktemp('my')
    make_rgbd_source(src)
    (src / 'val.json').write_text((src / 'train.json').read_text())
    out = src.parent / 'data_my_rgbd'
    command = README_CONVERT.replace('\\\n', ' ').replace('my/', f'{src}/').replace(
        'data/my_rgbd', str(out)).replace('518.9 519.5 325.6 253.7', ' '.join(map(str, INTRINSICS)))
    args = command.split()[1:]
    assert args[0] == 'tools/dataset_converters/coco_rgbd.py'
    check_ok(run_python(*args, '--no-progress'))
    return out


@pytest.fixture(scope='module')
def stock_checkpoint(tmp_path_factory):
    """A checkpoint of the plain ATSS (as mmdet saves it: keys without any prefix)."""
    from mmdet.registry import MODELS
    root = tmp_path_factory.mktemp('stock')
    (root / 'plain.py').write_text(PLAIN_ATSS)
    plain = MODELS.build(Config.fromfile(str(root / 'plain.py')).model)
    torch.manual_seed(1)
    for p in plain.parameters():
        p.data.normal_()
    torch.save(dict(state_dict=plain.state_dict(), meta=dict()), root / 'atss_stock.pth')
    return root / 'atss_stock.pth', plain.state_dict()


def write_config(path, root, checkpoint, extra=''):
    """The README's config on ``root`` with ``load_from`` = ``checkpoint``, at test sizes."""
    config = README_CONFIG.replace("data_root = 'data/my_rgbd/'", f"data_root = '{root}/'")
    config = re.sub(r"load_from = '[^']+'", f"load_from = '{checkpoint}'", config)
    path.write_text(config + TEST_SIZES + extra)
    return path


def iteration_values(output: str):
    """{name: [value per logged iteration]} of the auxiliary losses and label fractions."""
    values = {}
    for line in output.splitlines():
        if 'Iter(train)' in line or 'Epoch(train)' in line:
            for name, value in LOSS.findall(line):
                values.setdefault(name, []).append(float(value))
    return values


def test_stock_atss_with_rock_trains_on_own_data(own_data, stock_checkpoint, tmp_path):
    config = write_config(tmp_path / 'atss_rock.py', own_data, stock_checkpoint[0])
    proc = check_ok(run_python('tools/train.py', config, '--work-dir', tmp_path / 'wd'))
    out = proc.stdout + proc.stderr
    n = len(stock_checkpoint[1])
    assert (f"Plain ATSS checkpoint: loaded {n} of the detector's {n} weights (under detector.); "
            'ROCK (rock.*) starts from its own initialisation.') in out
    values = iteration_values(out)
    for name in ('loss_scene', 'loss_depth', 'loss_normals'):
        assert len(values.get(name, [])) == 3, (name, values)
        assert all(v > 0 for v in values[name]), (name, values[name])
    for name in ('scene_labelled', 'depth_labelled', 'normals_labelled'):
        assert values[name] == [1.0, 1.0, 1.0]
    assert (tmp_path / 'wd' / 'epoch_1.pth').is_file()
    assert 'coco/bbox_mAP' in out and 'aux/scene_acc' in out and 'aux/depth_abs_rel' in out


def test_pipeline_without_aux_labels_stops_with_one_line(own_data, stock_checkpoint, tmp_path):
    # the stock pipeline, unconverted: boxes only
    config = write_config(tmp_path / 'no_aux.py', own_data, stock_checkpoint[0], extra=NO_VAL + (
        "\ntrain_dataloader['dataset']['pipeline'] = _base_.train_pipeline"
        "\ntrain_dataloader['dataset']['pipeline'][2]['scale'] = (80, 64)"
        "\nfor head in model['rock']['aux_heads'].values():\n    head['label_check_iters'] = 2\n"))
    proc = run_python('tools/train.py', config, '--work-dir', tmp_path / 'wd')
    assert proc.returncode == 1
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("SceneHead ('scene') received no 'gt_scene_label' in the first 2 "
                              'training iterations (4 samples)'), message
    for hint in ("scene_label (an image entry's scene_id)", 'LoadMultiTaskAnnotations',
                 'PackMultiTaskInputs',
                 'multitask_pipeline(train_pipeline)', 'allow_missing=True'):
        assert hint in message

    allowed = write_config(tmp_path / 'allowed.py', own_data, stock_checkpoint[0], extra=NO_VAL + (
        "\ntrain_dataloader['dataset']['pipeline'] = _base_.train_pipeline"
        "\ntrain_dataloader['dataset']['pipeline'][2]['scale'] = (80, 64)"
        "\nfor head in model['rock']['aux_heads'].values():"
        "\n    head.update(label_check_iters=2, allow_missing=True)\n"))
    proc = check_ok(run_python('tools/train.py', allowed, '--work-dir', tmp_path / 'wd2'))
    out = proc.stdout + proc.stderr
    for head, field in (('SceneHead', 'gt_scene_label'), ('DepthHead', 'gt_depth'),
                        ('NormalHead', 'gt_normals')):
        assert re.search(rf"WARNING - {head} \('\w+'\) received no '{field}' in the first 2 "
                         r'training iterations \(4 samples\); allow_missing=True', out), head
    values = iteration_values(out)
    assert values['depth_labelled'] == [0.0] * 3 and values['loss_depth'] == [0.0] * 3


def _load(config_path) -> Config:
    """The config as tools/train.py gets it: data checked, SceneHead.num_classes completed."""
    from mmrock.engine.data_check import data_check_message
    cfg = Config.fromfile(str(config_path))
    assert data_check_message(cfg, 'train') is None
    return cfg


def _build(config_path):
    from mmdet.registry import MODELS
    cfg = _load(config_path)
    return cfg, MODELS.build(cfg.model)


def test_stock_checkpoint_loads_into_rock(own_data, stock_checkpoint, tmp_path):
    """A checkpoint of the plain ATSS (keys without any prefix) loads through load_checkpoint,
    init_cfg=Pretrained and the runner's load_from, every detector weight equal; an mmrock
    checkpoint of the ROCK model loads too."""
    stock, expected = stock_checkpoint
    logger = MMLogger.get_instance(f'test_stock_checkpoint_{tmp_path.name}')  # now the current one
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        rock_cfg_path = write_config(tmp_path / 'rock.py', own_data, stock)
        cfg, model = _build(rock_cfg_path)
        rock_before = {k: v.clone() for k, v in model.rock.state_dict().items()}
        load_checkpoint(model, str(stock), map_location='cpu')
        _assert_detector_equal(model, expected)
        assert all(torch.equal(v, model.rock.state_dict()[k]) for k, v in rock_before.items())

        from mmdet.registry import MODELS
        cfg.model.init_cfg = dict(type='Pretrained', checkpoint=str(stock))
        pretrained = MODELS.build(cfg.model)
        pretrained.init_weights()
        _assert_detector_equal(pretrained, expected)

        from mmengine.runner import Runner
        cfg = _load(rock_cfg_path)
        cfg.work_dir = str(tmp_path / 'runner')  # load_from: the stock checkpoint
        runner = Runner.from_cfg(cfg)
        runner.logger.addHandler(handler)  # the runner's own logger instance
        runner.load_or_resume()
        runner.logger.removeHandler(handler)
        _assert_detector_equal(runner.model, expected)
    finally:
        logger.removeHandler(handler)
    n = len(expected)
    lines = [r.getMessage() for r in records if 'Plain ATSS checkpoint' in r.getMessage()]
    assert len(lines) == 3 and all(
        f"loaded {n} of the detector's {n} weights" in line and 'ROCK (rock.*) starts from its '
        'own initialisation' in line for line in lines), lines

    own = tmp_path / 'rock_own.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), own)
    _, fresh = _build(rock_cfg_path)
    load_checkpoint(fresh, str(own), map_location='cpu', strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def _assert_detector_equal(model, expected):
    got = model.detector.state_dict()
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


def test_scene_classes_come_from_the_dataset(own_data, stock_checkpoint, tmp_path):
    from mmrock.engine.data_check import data_check_message
    cfg = Config.fromfile(str(write_config(tmp_path / 'c.py', own_data, stock_checkpoint[0])))
    assert cfg.model.rock.aux_heads.scene.get('num_classes') is None
    assert data_check_message(cfg, 'train') is None
    assert cfg.model.rock.aux_heads.scene.num_classes == 2  # lab, office
    cfg.model.rock.aux_heads.scene.num_classes = 27
    assert data_check_message(cfg, 'train') == (
        'model.rock.aux_heads.scene.num_classes is 27 but the dataset has 2 scene_classes: set '
        'num_classes=2 (or None to take it from the dataset).')
    cfg = Config.fromfile(str(write_config(tmp_path / 'd.py', REPO / 'no_such_data',
                                           stock_checkpoint[0])))
    message = data_check_message(cfg, 'train')
    assert message.startswith(f'Dataset not found: {REPO / "no_such_data"}')
    assert '(MultiTaskCocoDataset of the config)' in message and 'coco_rgbd.py' in message
    assert 'NYUv2' not in message
