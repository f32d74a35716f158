"""The benchmark tools end to end on a tiny setting, and the fast-path checks (sync-free losses,
fp32 losses under autocast, channels_last). No timing assertions: speed lives in benchmarks/."""
import importlib.util
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.logging import MMLogger

import mmrock  # noqa: F401
from mmrock.benchmark.model_bench import load_bench_config
from mmrock.benchmark.sync_check import SyncOpRecorder
from mmrock.benchmark.synthetic_batch import synthetic_batch
from mmrock.engine.hooks.channels_last_hook import ChannelsLastHook

REPO = Path(__file__).resolve().parents[2]
CONFIGS = ['ssd_r50_nyuv2.py', 'ssd_r50_rock_nyuv2.py', 'ssd_r50_flatmtl_nyuv2.py']
HW = (64, 96)


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name,
                                                  REPO / 'tools' / 'analysis_tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(config):
    cfg = load_bench_config(str(REPO / 'configs' / 'rock' / config))
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One thread: on a busy 2-core machine two spinning OpenMP threads run ten times slower.
    Restored afterwards (the tools also set it, as the processes they are meant to run in)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_benchmark_tool_writes_json_and_markdown(tmp_path):
    out, md = tmp_path / 'results.json', tmp_path / 'results.md'
    configs = [str(REPO / 'configs' / 'rock' / c) for c in CONFIGS]
    assert load_tool('benchmark').main(configs + [
        '--input-size', *map(str, HW), '--iters', '2', '--warmup', '1', '--repeats', '1',
        '--batch-size', '2', '--out',
        str(out), '--threads', '1', '--markdown',
        str(md)
    ]) == 0
    report = json.loads(out.read_text())
    names = [c[:-3] for c in CONFIGS]
    assert [r['name'] for r in report['configs']] == names
    assert report['baseline'] == 'ssd_r50_nyuv2'
    blocks = {'train_bs2', 'predict_bs1', 'tensor_bs1', 'predict_bs2', 'tensor_bs2'}
    for r in report['configs']:
        assert set(r['throughput']) == blocks
        for t in r['throughput'].values():
            assert t['img_per_s'] > 0 and len(t['seconds']) == 2
        assert set(r['memory_mib']) == blocks
        assert r['memory_mib']['train_bs2']['growth'] is not None
        assert 'dets_per_img' in r['throughput']['predict_bs1']
        assert r['complexity']['gmacs'] > r['complexity']['backbone_gmacs'] > 0
    rock = report['configs'][1]['complexity']
    assert 0.1 < rock['rock_over_backbone'] < 0.2  # ~15%, independent of the input size
    assert set(report['overhead_pct']) == set(names[1:])
    assert set(report['overhead_pct']['ssd_r50_rock_nyuv2']) == blocks
    for key in ('date', 'cpu', 'cpu_count', 'torch', 'load_average'):
        assert key in report['environment']
    text = md.read_text()
    for name in names:
        assert name in text
    assert 'ROCK / backbone' in text and 'infer net bs1' in text and 'train bs2' in text


@pytest.mark.slow
@pytest.mark.parametrize('name', ['ssd_r50_rock_nyuv2', 'ssd_r50_rock_nyuv2_png'])
def test_pipeline_tool_on_generated_synthetic_data(tmp_path, name, capsys):
    out = tmp_path / 'pipeline.json'
    config = str(REPO / 'configs' / 'rock' / f'{name}.py')
    assert load_tool('benchmark_pipeline').main([
        config, '--num-images', '3', '--workers', '0', '1', '--synthetic-images', '4',
        '--synthetic-dir',
        str(tmp_path / 'syn'), '--out',
        str(out), '--cfg-options', f"train_dataloader.dataset.data_root={tmp_path / 'missing'}/"
    ]) == 0
    result = json.loads(out.read_text())
    assert result['synthetic'] and result['dataset_size'] > 0
    assert result['in_process']['img_per_s'] > 0
    assert [r['workers'] for r in result['workers']] == [0, 1]
    profile = result['in_process']['ms_per_img']
    packed = name == 'ssd_r50_rock_nyuv2'  # the paper config reads the pack; _png the PNGs
    step = 'FusedGeometry' if packed else 'MultiTaskExpand'
    assert any(n.endswith(step) for n in profile) and 'other' in profile, profile
    assert result['workers_needed'] >= 1
    if packed:  # the generated split was packed; a missing pack: one line
        assert any('Packed' in n for n in profile), profile
        data_root = tmp_path / 'syn' / 'nyuv2'
        assert (data_root / 'packed' / 'nyuv2_train' / 'index.json').is_file()
        capsys.readouterr()
        assert load_tool('benchmark_pipeline').main([
            config, '--num-images', '3', '--workers', '0', '--out',
            str(out), '--cfg-options', f'train_dataloader.dataset.data_root={data_root}/',
            'train_dataloader.dataset.pack=packed/not_written/'
        ]) == 1
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and 'index.json' in error[0] and 'pack' in error[0]


@pytest.mark.slow
def test_rock_losses_have_no_sync_in_mmrock_code():
    """mmdet's anchor assignment synchronises (assigner .item(), sampler nonzero/unique, ...);
    ROCK's own code (mining, auxiliary losses, their backward) must not, labels missing or not."""
    model = build('ssd_r50_rock_nyuv2.py').train()
    batch = synthetic_batch(3, HW)
    del batch['data_samples'][1].gt_depth
    del batch['data_samples'][0].gt_scene_label
    del batch['data_samples'][2].gt_normals
    for data in (synthetic_batch(2, HW), batch):
        data = model.data_preprocessor(data, True)
        with SyncOpRecorder() as rec:
            losses = model(**data, mode='loss')
            model.parse_losses(losses)[0].backward()
        assert rec.events, 'the recorder sees mmdet\'s synchronisations'
        assert not rec.summary(only_under=[str(REPO / 'mmrock')]), rec.summary()


def test_recorder_flags_item_and_boolean_masks():
    x = torch.arange(6.)
    with SyncOpRecorder() as rec:
        x.sum().item()
        x[x > 2]
        x.nonzero()
        y = x * 2  # noqa: F841
    assert [e.op for e in rec.events] == ['_local_scalar_dense', 'index', 'nonzero']


@pytest.mark.slow
def test_losses_stay_fp32_under_autocast():
    model = build('ssd_r50_rock_nyuv2.py').train()
    data = model.data_preprocessor(synthetic_batch(2, HW), True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
    assert set(losses) == {
        'loss_cls', 'loss_bbox', 'loss_scene', 'loss_depth', 'loss_normals', 'w_scene', 'w_depth',
        'w_normals', 'rock_input_rms', 'rock_residual_rms'
    }
    for name, value in losses.items():
        assert value.dtype == torch.float32 and torch.isfinite(value), name


def test_channels_last_hook_keeps_outputs():
    model = build('ssd_r50_rock_nyuv2.py').eval()
    x = torch.randn(1, 3, *HW)
    with torch.no_grad():
        ref = model(x, mode='tensor')
        ChannelsLastHook().before_run(SimpleNamespace(model=model))
        assert model.rock.encoder[1].conv.weight.is_contiguous(memory_format=torch.channels_last)
        out = model(x, mode='tensor')
    torch.testing.assert_close(out, ref, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize('config', ['ssd_r50_rock_nyuv2_fast.py'])
def test_fast_config(config):
    cfg = Config.fromfile(str(REPO / 'configs' / 'rock' / config))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert {'type': 'ChannelsLastHook'} in cfg.custom_hooks
    assert cfg.env_cfg.cudnn_benchmark
    assert cfg.train_dataloader.pin_memory and cfg.train_dataloader.persistent_workers
    assert cfg.model.data_preprocessor.non_blocking
    # same model as ROCK
    base = Config.fromfile(str(REPO / 'configs' / 'rock' / 'ssd_r50_rock_nyuv2.py'))
    cfg.model.data_preprocessor.pop('non_blocking')
    assert cfg.model.to_dict() == base.model.to_dict()


@pytest.mark.slow
def test_predict_under_autocast_returns_float32_detections():
    model = build('ssd_r50_rock_nyuv2.py').eval()
    model.detector.bbox_head.test_cfg.score_thr = 0.0  # random weights: keep boxes for NMS
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        (out, ) = model.test_step(synthetic_batch(1, HW))
    assert len(out.pred_instances) > 0
    assert out.pred_instances.bboxes.dtype == torch.float32
    assert out.pred_instances.scores.dtype == torch.float32
    assert out.pred_depth.data.dtype == torch.float32


def test_crop_ious_equal_mmdet_bbox_overlaps():
    """The pipeline speed-up of FixedRatioMinIoURandomCrop keeps its accept/reject decisions:
    its numpy IoUs equal mmdet's bbox_overlaps bit for bit."""
    import numpy as np
    from mmdet.structures.bbox import bbox_overlaps

    from mmrock.datasets.transforms.geometry import patch_box_ious
    rng = np.random.RandomState(0)
    for n in (0, 1, 7, 30):
        for _ in range(20):
            xy = rng.uniform(0, 600, (n + 1, 2))
            wh = rng.uniform(0, 300, (n + 1, 2)) * (rng.rand(n + 1, 1) > 0.1)  # some empty
            boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
            patch, others = boxes[0], boxes[1:]
            ref = bbox_overlaps(torch.from_numpy(patch[None]), torch.from_numpy(others))
            np.testing.assert_array_equal(patch_box_ious(patch, others), ref.numpy().reshape(-1))
