"""Checkpoint loading stays safe after ``import mmrock``: a file carrying a pickled payload is
refused (its code never runs) unless the config opts in; stock mmdet checkpoints and mmrock's
own ones, resume state included, load with ``weights_only=True``."""
import logging
import random
from collections import Counter, namedtuple
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MMLogger
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

import mmrock  # noqa: F401  (the import under test)
from mmrock.engine.hooks import ResumableCheckpointHook
from mmrock.utils import (PickledCheckpointError, checkpoint_loading_for, from_plain,
                          get_rng_states, pickled_checkpoint_loading, to_plain,
                          weights_only_loading)
from conftest import Payload, check_ok, run_python


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))


@pytest.fixture
def hostile(tmp_path):
    """A checkpoint whose ``meta`` carries the payload; returns (path, marker)."""
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'hostile.pth'
    torch.save(dict(state_dict=tiny_model().state_dict(), meta=dict(x=Payload(marker))), path)
    return path, marker


def test_import_changes_no_loader():
    """mmengine's own loader of local files is in place (mmrock replaced it at import before)."""
    assert CheckpointLoader._schemes[''].__module__ == 'mmengine.runner.checkpoint'


def test_pickled_payload_is_refused_after_import(hostile):
    path, marker = hostile
    with pytest.raises(Exception, match='(?i)weights.only'):
        load_checkpoint(tiny_model(), str(path))
    assert not marker.exists()
    # during a run of an mmrock config: refused with the opt-in named
    with weights_only_loading(), pytest.raises(RuntimeError, match='allow_pickled_checkpoints'):
        load_checkpoint(tiny_model(), str(path))
    assert not marker.exists()


def test_explicit_opt_in_unpickles(hostile):
    """The opt-in really unpickles (so the refusal above is not an accident of the file)."""
    path, marker = hostile
    with pickled_checkpoint_loading():
        load_checkpoint(tiny_model(), str(path))
    assert marker.exists()
    assert CheckpointLoader._schemes[''].__module__ == 'mmengine.runner.checkpoint'


def test_config_key_opts_in_for_the_run_only(hostile, tmp_path):
    path, marker = hostile
    hook = ResumableCheckpointHook(interval=1)
    logger = MMLogger.get_instance('test_safe_checkpoint', log_level=logging.ERROR)
    runner = SimpleNamespace(
        cfg=Config(dict(allow_pickled_checkpoints=True)), logger=logger, work_dir=str(tmp_path))
    hook.before_run(runner)
    load_checkpoint(tiny_model(), str(path))
    assert marker.exists()
    hook.after_run(runner)
    marker.unlink()
    with pytest.raises(Exception, match='(?i)weights.only'):
        load_checkpoint(tiny_model(), str(path))
    assert not marker.exists()


def test_a_script_opt_in_is_kept_by_runs_inside_it(hostile):
    """``checkpoint_loading_for`` (tools, hook, inferencer) refuses unless opted in, and keeps
    the unpickling of an enclosing ``pickled_checkpoint_loading()`` block."""
    path, marker = hostile
    with checkpoint_loading_for(Config()), pytest.raises(PickledCheckpointError):
        load_checkpoint(tiny_model(), str(path))
    assert not marker.exists()
    with pickled_checkpoint_loading(), checkpoint_loading_for(Config()):
        load_checkpoint(tiny_model(), str(path))
    assert marker.exists()


def test_tools_swap_the_plain_checkpoint_hook():
    """mmdet's runtime's CheckpointHook becomes mmrock's, same arguments; others are kept."""
    from mmrock.engine.runner_cfg import use_resumable_checkpoint_hook
    cfg = Config(
        dict(
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))))
    use_resumable_checkpoint_hook(cfg)
    assert cfg.default_hooks.checkpoint == dict(
        type='ResumableCheckpointHook', interval=1, max_keep_ckpts=2)
    for hooks in (dict(checkpoint=dict(type='MyCheckpointHook')), dict(checkpoint=None), {},
                  dict(checkpoint=dict(type='mmengine.CheckpointHook'))):  # asked for as such
        cfg = Config(dict(default_hooks=hooks))
        use_resumable_checkpoint_hook(cfg)
        assert cfg.default_hooks == hooks


def test_stock_mmdet_checkpoint_loads(tmp_path):
    """A released mmdet checkpoint: ``state_dict`` plus a ``meta`` of plain values."""
    source = tiny_model()
    with torch.no_grad():
        source[0].weight.add_(1.0)
    path = tmp_path / 'stock.pth'
    torch.save(
        dict(
            state_dict=source.state_dict(),
            meta=dict(
                epoch=12,
                iter=7330,
                mmdet_version='3.3.0',
                config='model = ...',
                dataset_meta=dict(classes=('bed', 'chair'), palette=[(220, 20, 60), (0, 0, 142)]))),
        path)
    target = tiny_model()
    with weights_only_loading():
        checkpoint = load_checkpoint(target, str(path))
    assert checkpoint['meta']['epoch'] == 12
    assert all(
        torch.equal(a, b) for a, b in zip(source.state_dict().values(),
                                          target.state_dict().values()))
    # a bare state dict too
    torch.save(source.state_dict(), tmp_path / 'bare.pth')
    target = tiny_model()
    with weights_only_loading():
        load_checkpoint(target, str(tmp_path / 'bare.pth'))
    assert torch.equal(target[0].weight, source[0].weight)


def test_resume_state_round_trips_through_plain_types(tmp_path):
    buffer = HistoryBuffer()
    for value, count in ((0.5, 1), (np.float64(0.25), 2), (3, 1)):
        buffer.update(value, count)
    random.seed(1)
    np.random.seed(1)
    state = dict(
        message_hub=dict(
            log_scalars={'train/loss': buffer},
            runtime_info=dict(iter=7, keep_ckpt_ids=[2, 4], best_score=np.float32(0.5)),
            resumed_keys={'train/loss': True}),
        rng_states=dict(iter=7, ranks=[get_rng_states()]),
        param_schedulers=[dict(milestones=Counter([3, 3]))])
    unsupported = []
    plain = to_plain(state, unsupported=unsupported)
    assert unsupported == []
    path = tmp_path / 'plain.pth'
    torch.save(plain, path)
    back = from_plain(torch.load(path, weights_only=True))

    restored = back['message_hub']['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer)
    for a, b in ((restored._log_history, buffer._log_history), (restored._count_history,
                                                                buffer._count_history)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert restored.mean() == buffer.mean() and restored.max_length == buffer.max_length
    assert back['message_hub']['runtime_info'] == dict(iter=7, keep_ckpt_ids=[2, 4], best_score=0.5)
    numpy_state = back['rng_states']['ranks'][0]['numpy']
    expected = state['rng_states']['ranks'][0]['numpy']
    assert numpy_state[0] == expected[0] and np.array_equal(numpy_state[1], expected[1])
    assert back['param_schedulers'][0]['milestones'] == {3: 2}


def test_unsupported_objects_are_reported():
    unsupported = []
    to_plain(dict(a=[1, object()], b=logging.ERROR, c=Counter), unsupported=unsupported)
    assert unsupported == [('checkpoint.a[1]', 'object'), ('checkpoint.c', 'type')]
    point = namedtuple('Point', 'x y')(1, 2)
    unsupported = []
    to_plain(point, unsupported=unsupported)
    assert unsupported == [('checkpoint', 'Point')]


@pytest.mark.slow
def test_trained_checkpoint_loads_weights_only(tiny_trained, tiny_rock_config):
    """tools/train.py's checkpoint, resume state included, passes ``weights_only=True``, and
    mmdet's tools can load it as any stock checkpoint."""
    checkpoint = torch.load(tiny_trained['checkpoint'], weights_only=True)
    assert {'state_dict', 'meta', 'message_hub', 'optimizer', 'rng_states'} <= set(checkpoint)
    hub = from_plain(checkpoint['message_hub'])
    assert all(isinstance(v, HistoryBuffer) for v in hub['log_scalars'].values())
    assert hub['log_scalars'], 'no logged scalars were saved'
    proc = check_ok(
        run_python('-c', ('import sys, mmrock; from mmdet.apis import init_detector; '
                          'init_detector(sys.argv[1], sys.argv[2], device="cpu"); print("loaded")'),
                   tiny_rock_config, tiny_trained['checkpoint']))
    assert 'loaded' in proc.stdout


@pytest.mark.slow
def test_mmrock_init_detector(tiny_trained, tiny_rock_config, hostile):
    """mmrock.apis.init_detector: SceneHead.num_classes from the checkpoint's metadata, a
    pickled payload refused unless the config opts in."""
    from mmrock.apis import init_detector
    unset = {'model.rock.aux_heads.scene.num_classes': None}
    model = init_detector(
        str(tiny_rock_config), str(tiny_trained['checkpoint']), device='cpu', cfg_options=unset)
    assert model.rock.aux_heads['scene'].num_maps == len(model.dataset_meta['scene_classes'])
    path, marker = hostile
    with pytest.raises(PickledCheckpointError, match='allow_pickled_checkpoints = True'):
        init_detector(str(tiny_rock_config), str(path), device='cpu', cfg_options=unset)
    assert not marker.exists()
    with pytest.raises(PickledCheckpointError):  # the model's weights: refused too
        init_detector(str(tiny_rock_config), str(path), device='cpu')
    init_detector(
        str(tiny_rock_config),
        str(path),
        device='cpu',
        cfg_options=dict(allow_pickled_checkpoints=True))
    assert marker.exists()


@pytest.mark.slow
def test_tools_refuse_a_pickled_checkpoint_unless_opted_in(tiny_trained, tiny_rock_config,
                                                           tmp_path):
    """tools/test.py on a checkpoint saved the way mmrock did before (message hub pickled as
    ``HistoryBuffer`` objects): one line naming the opt-in, then the opt-in loads it."""
    checkpoint = from_plain(torch.load(tiny_trained['checkpoint'], weights_only=True))
    legacy = tmp_path / 'legacy.pth'
    torch.save(checkpoint, legacy)
    proc = run_python('tools/test.py', tiny_rock_config, legacy, '--work-dir', tmp_path / 'a')
    assert proc.returncode != 0
    assert 'allow_pickled_checkpoints = True' in proc.stderr.strip().splitlines()[-1]
    proc = check_ok(
        run_python('tools/test.py', tiny_rock_config, legacy, '--work-dir', tmp_path / 'b',
                   '--cfg-options', 'allow_pickled_checkpoints=True'))
    assert 'full unpickling' in proc.stdout + proc.stderr
