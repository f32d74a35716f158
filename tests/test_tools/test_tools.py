"""tools/train.py and tools/test.py end to end on a tiny synthetic NYUv2, plus the pieces behind
their flags: data check, non-finite loss hook, --amp, --resume, the metric report."""
import json
import math
import pickle
import re
import shutil

import pytest
import torch
from mmengine.config import Config

from mmrock.engine import (AutocastOptimWrapper, CheckNonFiniteLossHook, NonFiniteLossError,
                           missing_data_files, missing_data_message)
from mmrock.engine.runner_cfg import enable_amp, setup_distributed
from mmrock.evaluation.report import dump_metrics_json, format_metric_table, metric_rows
from mmrock_data.nyuv2_meta import DETECTION_CLASSES
from conftest import NO_VAL, REPO, check_ok, run_python, split_size, table_rows, write_tiny_config

AUX_LABELS = ('scene top-1 accuracy (%)', 'depth AbsRel', 'depth RMSE (m)', 'depth delta<1.25 (%)',
              'normals mean angle (deg)', 'normals median angle (deg)',
              'normals within 11.25 deg (%)', 'normals within 22.5 deg (%)',
              'normals within 30 deg (%)')

# ------------------------------------------------------------------------------------------------
# end to end


@pytest.mark.slow
def test_train_then_test(tiny_trained, tiny_rock_config, tiny_nyuv2, tmp_path):
    out = tiny_trained['output']
    assert 'Iter(train) [2/2]' in out and 'loss_depth' in out and 'loss_scene' in out
    assert 'aux/scene_acc' in out  # validation ran at the end with both evaluators

    work_dir, dump = tmp_path / 'test', tmp_path / 'preds.pkl'
    proc = check_ok(
        run_python('tools/test.py', tiny_rock_config, tiny_trained['checkpoint'], '--work-dir',
                   work_dir, '--out', dump))
    rows = table_rows(proc.stdout)
    for label in ('mAP@0.5 (%)', 'mAP@0.75 (%)', 'mAP@[0.5:0.95] (%)'):
        assert 0. <= float(rows[label]) <= 100., (label, rows[label])
    # per-class AP: CocoMetric(classwise=True)'s own table in the log, not repeated in ours
    log = proc.stdout + proc.stderr
    assert re.search(r'\| category +\| mAP +\| mAP_50 ', log)
    for name in DETECTION_CLASSES:
        assert re.search(rf'\| {name} +\| (nan|[01]\.\d+) +\|', log), name
        assert name not in rows
    for label in AUX_LABELS:
        assert math.isfinite(float(rows[label])), (label, rows[label])
    assert 0. <= float(rows['scene top-1 accuracy (%)']) <= 100.

    metrics = json.loads((work_dir / 'metrics.json').read_text())
    assert 0. <= metrics['coco/bbox_mAP'] <= 1. and 0. <= metrics['coco/bbox_mAP_50'] <= 1.
    for key in ('aux/scene_acc', 'aux/depth_abs_rel', 'aux/depth_rmse', 'aux/depth_delta1',
                'aux/normal_mean', 'aux/normal_median', 'aux/normal_11.25', 'aux/normal_22.5',
                'aux/normal_30'):
        assert math.isfinite(metrics[key]), key
    assert float(rows['mAP@0.5 (%)']) == pytest.approx(100 * metrics['coco/bbox_mAP_50'], abs=0.01)
    with open(dump, 'rb') as fh:
        preds = pickle.load(fh)
    assert len(preds) == split_size(tiny_nyuv2, 'test')
    assert 'pred_depth' in preds[0] and 'pred_scene_scores' in preds[0]
    # compact: maps at the 6x8 prediction grid, no labels, no batch storage (50 boxes each)
    assert preds[0]['pred_depth']['data'].shape == (1, 6, 8) and 'gt_depth' not in preds[0]
    assert dump.stat().st_size < len(preds) * 6_000, dump.stat().st_size
    # mmdet's offline evaluation of the boxes reads it and finds the same mAP
    from mmdet.evaluation import CocoMetric
    from mmengine.evaluator import Evaluator
    cfg = Config.fromfile(str(tiny_rock_config))
    offline = Evaluator(
        CocoMetric(**{
            k: v
            for k, v in cfg.test_evaluator[0].items() if k != 'type'
        }))
    offline.dataset_meta = dict(classes=DETECTION_CLASSES)
    assert offline.offline_evaluate(preds)['coco/bbox_mAP'] == metrics['coco/bbox_mAP']


@pytest.mark.slow
def test_resume_continues_the_iteration_count(tiny_trained, tiny_rock_config, tmp_path):
    work_dir = tmp_path / 'resumed'
    shutil.copytree(tiny_trained['work_dir'], work_dir)
    proc = check_ok(
        run_python('tools/train.py', tiny_rock_config, '--work-dir', work_dir, '--resume',
                   '--cfg-options', 'train_cfg.max_iters=3', *NO_VAL))
    out = proc.stdout + proc.stderr
    # (last_checkpoint holds the absolute path of the first run's iter_2.pth)
    assert re.search(r'Auto resumed from the latest checkpoint \S+/iter_2\.pth', out)
    assert 'resumed epoch: 0, iter: 2' in out
    assert 'Iter(train) [3/3]' in out and 'Iter(train) [1/3]' not in out
    checkpoint = torch.load(work_dir / 'iter_3.pth', weights_only=False)
    assert checkpoint['meta']['iter'] == 3
    assert checkpoint['optimizer']['state']  # Adam's moments came back and went on


@pytest.mark.slow
@pytest.mark.parametrize('tool', ['train', 'test'])
def test_missing_data_exits_with_one_line(tool, tmp_path):
    config = write_tiny_config(tmp_path / 'cfg.py', tmp_path / 'no_such_nyuv2')
    args = [f'tools/{tool}.py', config] + (['ckpt.pth'] if tool == 'test' else [])
    proc = run_python(*args, '--work-dir', tmp_path / 'wd')
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(tmp_path / 'no_such_nyuv2') in lines[0]
    for hint in ('tools/dataset_converters/nyuv2.py', 'make demo', 'make_synthetic_nyuv2.py',
                 'docs/nyuv2.md'):
        assert hint in lines[0]
    assert not (tmp_path / 'wd').exists()  # stopped before building the runner


@pytest.mark.slow
@pytest.mark.parametrize('tool', ['train', 'test'])
def test_bad_annotation_file_exits_with_one_line(tool, tiny_nyuv2, tmp_path):
    """An annotation file the dataset refuses (a box that is not 4 finite numbers): one line
    naming it, as the dataset words it, no traceback."""
    data = tmp_path / 'nyuv2'
    shutil.copytree(tiny_nyuv2, data)
    split = 'train' if tool == 'train' else 'test'
    ann_file = data / 'annotations' / f'nyuv2_{split}.json'
    ann = json.loads(ann_file.read_text())
    ann['annotations'][0]['bbox'] = [1, 2, 3]
    ann_file.write_text(json.dumps(ann))
    config = write_tiny_config(tmp_path / 'cfg.py', data)
    args = ['ckpt.pth'] if tool == 'test' else ['--cfg-options', *NO_VAL]
    proc = run_python(f'tools/{tool}.py', config, *args, '--work-dir', tmp_path / 'wd')
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f'{ann_file}: annotation {ann["annotations"][0]["id"]} of image '
        f'{ann["annotations"][0]["image_id"]}: bbox [1, 2, 3] is not 4 finite numbers '
        '[x, y, w, h]'), proc.stderr
    assert 'Traceback' not in proc.stderr


@pytest.mark.slow
def test_nonfinite_loss_stops_training(tiny_nyuv2, tmp_path):
    config = write_tiny_config(
        tmp_path / 'nan.py', tiny_nyuv2,
        "\nmodel['rock']['aux_heads']['depth']['loss'] = dict(loss_weight=float('nan'))"
        '\nval_cfg = val_dataloader = val_evaluator = None\n'
        'default_hooks.update(checkpoint=dict(interval=1))\n')
    proc = run_python('tools/train.py', config, '--work-dir', tmp_path / 'wd')
    assert proc.returncode == 1
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith('Non-finite loss at iteration 1: ') and 'loss_depth=nan' in message
    assert 'loss_cls' not in message
    assert not list((tmp_path / 'wd').glob('*.pth'))  # stopped before the checkpoint hook


# ------------------------------------------------------------------------------------------------
# pieces


class _Runner:

    def __init__(self, iteration):
        self.iter = iteration
        self.logger = __import__('logging').getLogger('test')


def test_nonfinite_hook_names_iteration_and_losses():
    hook = CheckNonFiniteLossHook()
    runner = _Runner(7)
    finite = dict(loss=torch.tensor(3.), loss_cls=torch.tensor(1.), acc=float('nan'))
    hook.after_train_iter(runner, 0, outputs=finite)  # 'acc' is not a loss
    bad = dict(
        loss=torch.tensor(float('inf')),
        loss_cls=torch.tensor(float('inf')),
        loss_bbox=torch.tensor(1.),
        loss_depth=float('nan'))
    with pytest.raises(
            NonFiniteLossError, match=r'iteration 8: loss=inf, loss_cls=inf, '
            r'loss_depth=nan\.'):
        hook.after_train_iter(runner, 0, outputs=bad)
    CheckNonFiniteLossHook(interval=3).after_train_iter(runner, 0, outputs=bad)  # 8 % 3: skipped
    cfg = Config.fromfile(str(REPO / 'configs' / 'rock' / 'ssd_r50_nyuv2.py'))
    assert dict(type='CheckNonFiniteLossHook', interval=1) in cfg.custom_hooks


def test_amp_follows_the_device(monkeypatch):
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='Adam'))))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    for dtype, expected in ((None, 'float16'), ('bfloat16', 'bfloat16')):
        cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='Adam'))))
        if dtype:
            cfg.optim_wrapper.dtype = dtype
        enable_amp(cfg)
        assert (cfg.optim_wrapper.type, cfg.optim_wrapper.dtype,
                cfg.optim_wrapper.loss_scale) == ('AmpOptimWrapper', expected, 'dynamic')


def test_autocast_optim_wrapper_trains_in_bfloat16_on_cpu():
    model = torch.nn.Linear(4, 2)
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert not torch.equal(before, model.weight)


def test_cpu_distributed_config(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(launcher='slurm', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    setup_distributed(cfg)  # slurm: only the config changes, no process group here
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    cfg = Config(dict(launcher='none', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    setup_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg


def test_missing_data_files_through_wrappers(tmp_path):
    (tmp_path / 'a' / 'ann').mkdir(parents=True)
    (tmp_path / 'a' / 'ann' / 'train.json').write_text('{}')
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='RepeatDataset',
                    dataset=dict(
                        type='ConcatDataset',
                        datasets=[
                            dict(data_root=str(tmp_path / 'a'), ann_file='ann/train.json'),
                            dict(data_root=str(tmp_path / 'a'), ann_file='ann/extra.json')
                        ]))),
            val_cfg=dict(type='ValLoop'),
            val_dataloader=dict(dataset=dict(data_root=str(tmp_path / 'b'), ann_file='x.json')),
            val_evaluator=[
                dict(type='ZeroOnEmptyCocoMetric', ann_file=str(tmp_path / 'c.json')),
                dict(type='AuxiliaryTaskMetric')
            ],
            test_dataloader=None))
    missing = [p for p, _ in missing_data_files(cfg)]
    assert missing == [
        str(tmp_path / 'a' / 'ann/extra.json'),
        str(tmp_path / 'b'),
        str(tmp_path / 'c.json')
    ]
    message = missing_data_message(cfg, 'train')
    assert '\n' not in message and '(and 2 more)' in message
    assert f'--out {tmp_path / "a"}`' in message
    assert missing_data_message(cfg, 'test') is None  # no test dataloader: nothing to check


def test_metric_report_table_and_json(tmp_path):
    metrics = {
        'coco/bbox_mAP': 0.185,
        'coco/bbox_mAP_50': 0.376,
        'coco/bbox_mAP_75': 0.2,
        'coco/bbox_mAP_l': -1.0,
        'coco/bed_precision': 0.3,
        'coco/bathtub_precision': float('nan'),
        'coco/chair_precision': -1.0,
        'aux/scene_acc': 55.5,
        'aux/depth_abs_rel': 0.1234,
        'aux/normal_30': 70.,
        'aux/depth_eigen_abs_rel': 0.1111,
        'other/score': float('inf')
    }
    sections = dict(metric_rows(metrics))
    assert list(sections) == ['Detection (COCO bbox)', 'Auxiliary tasks', 'Other metrics']
    assert sections['Detection (COCO bbox)'] == [('mAP@0.5 (%)', pytest.approx(37.6)),
                                                 ('mAP@0.75 (%)', pytest.approx(20.)),
                                                 ('mAP@[0.5:0.95] (%)', pytest.approx(18.5))]
    assert sections['Other metrics'] == [('other/score', None)]
    rows = table_rows(format_metric_table(metrics))
    assert rows['mAP@0.5 (%)'] == '37.60' and 'bed' not in rows  # per class: CocoMetric's log
    assert rows['depth AbsRel'] == '0.123' and rows['normals within 30 deg (%)'] == '70.00'
    assert rows['depth AbsRel (Eigen)'] == '0.111'
    assert 'depth RMSE (m)' not in rows  # only the metrics present
    empty = table_rows(format_metric_table({'aux/scene_acc': 10.}))
    assert empty['mAP@0.5 (%)'] == 'n/a'  # CocoMetric gave nothing (no detection)
    path = dump_metrics_json(metrics, str(tmp_path / 'sub' / 'metrics.json'))
    text = open(path).read()
    assert 'NaN' not in text and 'Infinity' not in text
    loaded = json.loads(text)  # strict JSON: NaN and inf became null
    assert loaded['coco/bathtub_precision'] is None and loaded['coco/bbox_mAP'] == 0.185
    assert loaded['other/score'] is None and loaded['coco/chair_precision'] == -1.0


def _demo_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location('mmrock_demo', REPO / 'tools' / 'demo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_demo_regenerates_rooms_made_otherwise(tmp_path, monkeypatch, capsys):
    """`make demo` / `make ablation` reuse data/synthetic_nyuv2 only if it holds the rooms asked
    for: made by this generator version, with this number of images and seed."""
    demo = _demo_module()
    runs = []

    def run_here(*args):  # the tools of this checkout, writing under tmp_path
        runs.append(args[0])
        check_ok(run_python(REPO / args[0], *args[1:], '--no-progress', cwd=tmp_path))

    monkeypatch.setattr(demo, 'ROOT', tmp_path)
    monkeypatch.setattr(demo, 'run', run_here)
    data = tmp_path / demo.SYNTHETIC_DATA
    assert demo.ensure_dataset(12, 0) == demo.SYNTHETIC_DATA and len(runs) == 2
    assert json.loads((data / demo.ROOMS_RECORD).read_text()) == demo.rooms_made(12, 0)
    assert split_size(data, 'val') >= 1  # whole scenes of the train rooms: the figures' threshold
    assert split_size(data, 'train') + split_size(data, 'val') + split_size(data, 'test') == 12

    demo.ensure_dataset(12, 0)  # the same rooms: reused
    assert len(runs) == 2 and 'reusing' in capsys.readouterr().out

    demo.ensure_dataset(10, 0)  # another number of images: replaced
    assert len(runs) == 4 and 'num_images 12 (now 10)' in capsys.readouterr().out
    assert split_size(data, 'train') + split_size(data, 'val') + split_size(data, 'test') == 10

    (data / demo.ROOMS_RECORD).unlink()  # rooms of an earlier mmrock (before the record)
    assert 'earlier mmrock' in demo.stale_rooms(data, demo.rooms_made(10, 0))
    record = dict(demo.rooms_made(10, 0), generator=1)
    (data / demo.ROOMS_RECORD).write_text(json.dumps(record))
    assert demo.stale_rooms(data, demo.rooms_made(10, 0)).startswith('generator 1 (now ')
