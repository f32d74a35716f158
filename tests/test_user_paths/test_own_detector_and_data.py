"""docs/your_detector_and_data.md, walked as written: your RGB-D data through
tools/dataset_converters/coco_rgbd.py, a stock mmdet config (ATSS, on mmdet's runtime) plus the
ROCK lines and the multi-task pipeline line, trained by tools/train.py, its checkpoint tested by
tools/test.py and run by ROCKInferencer; a stock checkpoint of the plain detector loads into the
ROCK model; missing labels stop training unless allowed; a wrong in_index / in_channels and a
stock config's wrapped dataset are named before anything runs."""
import json
import logging
import pathlib
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import load_checkpoint
from PIL import Image

from conftest import REPO, Payload, check_ok, run_python, table_rows
from rgbd_factory import INTRINSICS, SCENES, make_rgbd_source

README = (REPO / 'docs' / 'your_detector_and_data.md').read_text()
# the guide's config, as written (docs/your_detector_and_data.md, "2. Your config")
README_CONFIG = next(
    block for block in re.findall(r'```python\n(.*?)```', README, re.S)
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

EMPTY_IMAGE = 105  # the image without boxes: its depth, normals and scene still train ROCK


@pytest.fixture(scope='module')
def own_data(tmp_path_factory):
    """6 images 64x80 in the user's format (val.json = train.json), one without boxes,
    converted by the README's command (paths replaced)."""
    src = tmp_path_factory.mktemp('my')
    coco = make_rgbd_source(src)
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] != EMPTY_IMAGE]
    (src / 'train.json').write_text(json.dumps(coco))
    (src / 'val.json').write_text(json.dumps(coco))
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


@pytest.fixture(scope='module')
def atss_trained(own_data, stock_checkpoint, tmp_path_factory):
    """tools/train.py on the README's config (mmdet's runtime and CheckpointHook): one epoch.
    Returns the config, the work dir and the run's output."""
    root = tmp_path_factory.mktemp('atss')
    config = write_config(root / 'atss_rock.py', own_data, stock_checkpoint[0])
    proc = check_ok(run_python('tools/train.py', config, '--work-dir', root / 'wd'))
    return dict(config=config, work_dir=root / 'wd', output=proc.stdout + proc.stderr)


@pytest.mark.slow
def test_stock_atss_with_rock_trains_on_own_data(atss_trained, stock_checkpoint):
    out = atss_trained['output']
    n = len(stock_checkpoint[1])
    assert (f"Plain ATSS checkpoint: loaded {n} of the detector's {n} weights (under detector.); "
            'ROCK (rock.*) starts from its own initialisation.') in out
    values = iteration_values(out)
    for name in ('loss_scene', 'loss_depth', 'loss_normals'):
        assert len(values.get(name, [])) == 3, (name, values)
        assert all(v > 0 for v in values[name]), (name, values[name])
    for name in ('scene_labelled', 'depth_labelled', 'normals_labelled'):
        assert values[name] == [1.0, 1.0, 1.0]
    assert 'coco/bbox_mAP' in out and 'aux/scene_acc' in out and 'aux/depth_abs_rel' in out
    # mmdet's runtime, but mmrock's checkpoint hook: plain types, exact-resume state
    assert Config.fromfile(str(atss_trained['config'])).default_hooks.checkpoint.type == \
        'CheckpointHook'
    checkpoint = torch.load(atss_trained['work_dir'] / 'epoch_1.pth', weights_only=True)
    assert {'state_dict', 'message_hub', 'optimizer', 'rng_states'} <= set(checkpoint)
    assert checkpoint['meta']['dataset_meta']['scene_classes'] == tuple(sorted(SCENES))


@pytest.mark.slow
def test_images_without_boxes_are_trained(own_data, stock_checkpoint, tmp_path):
    """The stock config's filter_empty_gt would drop the image without boxes; the README's
    dataset (filter_cfg=None) keeps it, with its auxiliary labels."""
    from mmdet.registry import DATASETS
    cfg = _load(write_config(tmp_path / 'c.py', own_data, stock_checkpoint[0]))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 6
    empty = next(dataset[i] for i in range(6)
                 if dataset.get_data_info(i)['img_id'] == EMPTY_IMAGE)['data_samples']
    assert len(empty.gt_instances) == 0 and 'gt_depth' in empty and 'gt_scene_label' in empty


@pytest.mark.slow
def test_stock_runtime_checkpoint_tests_and_infers(atss_trained, own_data, stock_checkpoint,
                                                   tmp_path):
    """The checkpoint of mmdet's runtime through tools/test.py and ROCKInferencer (SceneHead
    without num_classes: from the checkpoint's metadata); a pickled payload is refused; a
    checkpoint pickled as mmdet's own CheckpointHook writes it loads with the opt-in."""
    from mmrock.apis import ROCKInferencer
    from mmrock.utils import PickledCheckpointError, from_plain
    config, ckpt = atss_trained['config'], atss_trained['work_dir'] / 'epoch_1.pth'
    proc = check_ok(
        run_python('tools/test.py', config, ckpt, '--work-dir', tmp_path / 't', '--show-dir',
                   'painted'))
    rows = table_rows(proc.stdout)
    assert 'mAP@0.5 (%)' in rows and 'scene top-1 accuracy (%)' in rows, proc.stdout[-2000:]
    # the README's visualizer: boxes, depth and normals for ground truth and prediction
    painted = sorted((tmp_path / 't').glob('*/painted/*.png'))
    assert len(painted) == 6
    width, height = Image.open(painted[0]).size
    assert width > 3 * 80 and height > 2 * 64  # mmdet's: 2 x 80 wide, 64 high

    # the config's dataset moved away: the scene classes come from the checkpoint
    moved = pathlib.Path(str(config).replace('.py', '_moved.py'))
    moved.write_text(config.read_text().replace(f"data_root = '{own_data}/'",
                                                f"data_root = '{tmp_path}/none/'"))
    inferencer = ROCKInferencer(
        model=str(moved), weights=str(ckpt), device='cpu', show_progress=False)
    assert inferencer.cfg.model.rock.aux_heads.scene.num_classes == len(SCENES)
    images = [str(own_data / 'images' / f'00{i}.png') for i in (0, 1)]
    # a batch of 2: the test sizes' last level is 1x1, where GroupNorm needs two images
    for pred in inferencer(images, batch_size=2)['predictions']:
        assert len(pred['scene_scores']) == len(SCENES) and pred['scene_class'] in SCENES
        assert sum(pred['scene_scores']) == pytest.approx(1, abs=1e-5)
    with pytest.raises(
            ValueError,
            match=r"^SceneHead.num_classes is not set and neither the "
            r"checkpoint's metadata nor the dataset gives scene_classes: set "):
        ROCKInferencer(model=str(moved), weights=str(stock_checkpoint[0]), device='cpu')
    with pytest.raises(
            ValueError,
            match='^SceneHead.num_classes is not set and the dataset '
            'gives no scene_classes: set model.rock.aux_heads.scene.num_classes'):
        ROCKInferencer(model=str(moved), weights=None, device='cpu')

    marker = tmp_path / 'payload_ran'
    checkpoint = torch.load(ckpt, weights_only=True)
    torch.save(
        dict(checkpoint, meta=dict(checkpoint['meta'], x=Payload(marker))),
        tmp_path / 'hostile.pth')
    with pytest.raises(PickledCheckpointError, match='allow_pickled_checkpoints = True'):
        ROCKInferencer(model=str(config), weights=str(tmp_path / 'hostile.pth'), device='cpu')
    assert not marker.exists()
    legacy = tmp_path / 'legacy.pth'  # HistoryBuffers pickled, as mmdet's CheckpointHook saves
    torch.save(from_plain(checkpoint), legacy)
    proc = check_ok(
        run_python('tools/test.py', config, legacy, '--work-dir', tmp_path / 'l', '--cfg-options',
                   'allow_pickled_checkpoints=True'))
    assert table_rows(proc.stdout) == rows and 'full unpickling' in proc.stdout + proc.stderr


@pytest.mark.slow
def test_pipeline_without_aux_labels_stops_with_one_line(own_data, stock_checkpoint, tmp_path):
    # the stock pipeline, unconverted: boxes only
    config = write_config(
        tmp_path / 'no_aux.py',
        own_data,
        stock_checkpoint[0],
        extra=NO_VAL +
        ("\ntrain_dataloader['dataset']['pipeline'] = _base_.train_pipeline"
         "\ntrain_dataloader['dataset']['pipeline'][2]['scale'] = (80, 64)"
         "\nfor head in model['rock']['aux_heads'].values():\n    head['label_check_iters'] = 2\n"))
    proc = run_python('tools/train.py', config, '--work-dir', tmp_path / 'wd')
    assert proc.returncode == 1
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("SceneHead ('scene') received no 'gt_scene_label' in the first 2 "
                              'training iterations (4 samples)'), message
    for hint in ("scene_label (an image entry's scene_id)", 'LoadMultiTaskAnnotations',
                 'PackMultiTaskInputs', 'multitask_pipeline(train_pipeline)', 'allow_missing=True'):
        assert hint in message

    allowed = write_config(
        tmp_path / 'allowed.py',
        own_data,
        stock_checkpoint[0],
        extra=NO_VAL + ("\ntrain_dataloader['dataset']['pipeline'] = _base_.train_pipeline"
                        "\ntrain_dataloader['dataset']['pipeline'][2]['scale'] = (80, 64)"
                        "\nfor head in model['rock']['aux_heads'].values():"
                        "\n    head.update(label_check_iters=2, allow_missing=True)\n"))
    proc = check_ok(run_python('tools/train.py', allowed, '--work-dir', tmp_path / 'wd2'))
    out = proc.stdout + proc.stderr
    for head, field in (('SceneHead', 'gt_scene_label'), ('DepthHead', 'gt_depth'), ('NormalHead',
                                                                                     'gt_normals')):
        assert re.search(
            rf"WARNING - {head} \('\w+'\) received no '{field}' in the first 2 "
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    cfg = Config.fromfile(
        str(write_config(tmp_path / 'd.py', REPO / 'no_such_data', stock_checkpoint[0])))
    message = data_check_message(cfg, 'train')
    assert message.startswith(f'Dataset not found: {REPO / "no_such_data"}')
    assert '(MultiTaskCocoDataset of the config)' in message and 'coco_rgbd.py' in message
    assert 'NYUv2' not in message


SWIN_ROCK = """
_base_ = ['mmdet::swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py']
custom_imports = dict(imports=['mmrock'], allow_failed_imports=False)
model = dict(type='ROCKDetector', detector_type='RetinaNet',
             rock=dict(type='ROCKNeck', in_channels={in_channels}, in_index={in_index},
                       encoder_channels=32,
                       aux_heads=dict(scene=dict(type='SceneHead', num_classes=2))))
"""
RULE = ("(in_index: the position in the backbone's output tuple, which its out_indices choose; "
        "in_channels: that output's channels; docs/your_detector_and_data.md)")
RESNET18 = 'ResNet returns 4 feature map(s), of [0] 64, [1] 128, [2] 256, [3] 512 channels'
SWIN_T = 'SwinTransformer returns 3 feature map(s), of [0] 192, [1] 384, [2] 768 channels'


@pytest.mark.slow
@pytest.mark.parametrize('backbone, in_index, in_channels, message', [
    ('resnet', 4, 512, f'model.rock.in_index=4 is out of range: {RESNET18}. Use in_index=3 (or '
     f'-1, the deepest) with in_channels=512 {RULE}'),
    ('resnet', 3, 2048, f'model.rock.in_channels=2048 does not match output [3] of the '
     f'backbone: {RESNET18}. Set in_channels=512 for in_index=3 {RULE}'),
    ('swin', 3, 768, f'model.rock.in_index=3 is out of range: {SWIN_T}. Use in_index=2 (or -1, '
     f'the deepest) with in_channels=768 {RULE}'),
    ('swin', 2, 384, f'model.rock.in_channels=384 does not match output [2] of the backbone: '
     f'{SWIN_T}. Set in_channels=768 for in_index=2, or in_index=1 for the output with 384 '
     f'{RULE}'),
])
def test_wrong_rock_input_is_named_when_built(backbone, in_index, in_channels, message, own_data,
                                              stock_checkpoint, tmp_path):
    """ResNet-18 (the README's config at test sizes) and Swin-T (mmdet's RetinaNet config)."""
    from mmdet.registry import MODELS

    from mmrock.models.utils.backbone_outputs import ROCKInputError
    if backbone == 'swin':
        path = tmp_path / 'swin_rock.py'
        path.write_text(SWIN_ROCK.format(in_index=in_index, in_channels=in_channels))
        cfg = Config.fromfile(str(path))
    else:
        path = write_config(
            tmp_path / 'atss_rock.py',
            own_data,
            stock_checkpoint[0],
            extra=f"model['rock'].update(in_index={in_index}, "
            f'in_channels={in_channels})\n')
        cfg = _load(path)  # SceneHead.num_classes from the dataset
    with pytest.raises(ROCKInputError) as error:
        MODELS.build(cfg.model)
    assert str(error.value) == message
    if (backbone, in_index) == ('resnet', 4):  # the user's path: one line, before training
        proc = run_python('tools/train.py', path, '--work-dir', tmp_path / 'wd')
        assert proc.returncode == 1 and proc.stderr.strip().splitlines()[-1] == message
        assert not list((tmp_path / 'wd').rglob('*.pth'))


WRAPPED = """
_base_ = ['mmdet::centernet/centernet_r18_8xb16-crop512-140e_coco.py']  # RepeatDataset, times=5
from mmrock.datasets import multitask_dataset
custom_imports = dict(imports=['mmrock'], allow_failed_imports=False)
data_root = {root!r}
pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadMultiTaskAnnotations', with_bbox=True),
            dict(type='PackMultiTaskInputs')]
val_cfg = val_dataloader = val_evaluator = None
train_dataloader = dict(dataset={dataset}(
    {base}type='MultiTaskCocoDataset', data_root=data_root, ann_file='annotations/train.json',
    data_prefix=dict(img='images/'), filter_cfg=None, pipeline=pipeline))
"""


@pytest.mark.slow
def test_wrapped_stock_datasets(own_data, tmp_path):
    """A stock config whose train set is a RepeatDataset: multitask_dataset puts yours inside
    it; merged as a plain dict, yours stays outside and the data check names the wrapper."""
    from mmdet.registry import DATASETS

    from mmrock.datasets import multitask_dataset
    from mmrock.engine.data_check import missing_data_message
    path = tmp_path / 'wrapped.py'
    path.write_text(
        WRAPPED.format(
            root=f'{own_data}/',
            dataset='multitask_dataset',
            base='_base_.train_dataloader.dataset, '))
    cfg = Config.fromfile(str(path))
    assert missing_data_message(cfg, 'train') is None
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert type(dataset).__name__ == 'RepeatDataset' and len(dataset) == 5 * 6
    assert type(dataset.dataset).__name__ == 'MultiTaskCocoDataset'

    path.write_text(WRAPPED.format(root=f'{own_data}/', dataset='dict', base=''))
    message = missing_data_message(Config.fromfile(str(path)), 'train')
    assert message.startswith(
        'Dataset not found: data/coco/ (CocoDataset of the config, inside MultiTaskCocoDataset '
        'at train_dataloader.dataset.dataset: the stock config wraps its dataset, and your '
        'dataset keys merged into the wrapper leave the stock one inside; give yours with '
        "`dataset=multitask_dataset(_base_.train_dataloader.dataset, type='MultiTaskCocoDataset'"
        ', ...)`'), message
    assert '\n' not in message

    mine = dict(type='MultiTaskCocoDataset', ann_file='a.json', data_prefix=dict(img='i/'))
    balanced = dict(
        type='ClassBalancedDataset',
        oversample_thr=1e-3,
        dataset=dict(
            type='LVISV1Dataset', ann_file='lvis.json', data_prefix=dict(img=''), test_mode=False))
    assert multitask_dataset(balanced, **mine) == dict(
        type='ClassBalancedDataset',
        oversample_thr=1e-3,
        _delete_=True,
        dataset=dict(
            type='MultiTaskCocoDataset',
            ann_file='a.json',
            data_prefix=dict(img='i/'),
            test_mode=False))
    concat = dict(type='ConcatDataset', datasets=[dict(type='VOCDataset'), dict(type='VOC')])
    assert multitask_dataset(concat, **mine) == dict(mine, _delete_=True)
