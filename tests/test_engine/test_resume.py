"""Interrupted training and determinism, end to end through tools/train.py on CPU.

A tiny ROCK config (ResNet-18 at 1/4 width, 96x128 input, batch 2, 6 iterations, a checkpoint
every 2, seed 0, deterministic mode) on the tiny synthetic NYUv2 of conftest. A test-only hook
draws from Python's, numpy's and torch's global generators every iteration and writes the draws
into the batch (standing in for dropout, random samplers, main-process augmentation): the final
weights then depend on every generator's state, so a resume that does not restore them ends with
other weights (checked: ``test_resume_without_restoring_random_states_diverges``).

Runs (each a separate process): A straight through; B SIGKILLed at iteration 5 (after the
checkpoint of iteration 4) and resumed; C SIGKILLed while writing the checkpoint of iteration 4
(the temporary file half written, ``max_keep_ckpts=1``) and resumed from iteration 2.
Final weights are compared with ``torch.equal``: on one machine with the same thread count, CPU
kernels are deterministic, and resuming reloads the exact float32 weights and Adam moments.
"""
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mmrock.engine.hooks import ResumableCheckpointHook
from mmrock.utils import (AtomicLocalBackend, atomic_write, get_rng_states, remove_stale_temp_files,
                          set_rng_states)
from conftest import NO_VAL, REPO, check_ok, run_python, write_tiny_config

PROBE = '''
"""Test-only hooks of tests/test_engine/test_resume.py."""
import os
import random
import signal

import numpy as np
import torch
from mmengine.hooks import Hook
from mmdet.registry import HOOKS


@HOOKS.register_module()
class DrawRandomHook(Hook):
    """Writes draws of the three global generators into the first pixels of each image."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        for img in data_batch['inputs']:
            img[:, 0, 0] = torch.randint(256, (3, ), dtype=img.dtype)
            img[:, 0, 1] = torch.from_numpy(np.random.randint(256, size=3)).to(img.dtype)
            img[:, 0, 2] = torch.tensor([random.randrange(256) for _ in range(3)], dtype=img.dtype)


@HOOKS.register_module()
class KillHook(Hook):
    """SIGKILL this process, as $KILL says: 'after:N' once iteration N is done (and its
    checkpoint, if any, written); 'saving:N' while writing the checkpoint of iteration N, half
    of its temporary file written (the first fsync of the save)."""
    priority = 'LOWEST'

    def __init__(self):
        when, _, iteration = os.environ.get('KILL', 'never:0').partition(':')
        self.when, self.iteration = when, int(iteration)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.when == 'after' and runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)

    def before_save_checkpoint(self, runner, checkpoint):
        if self.when == 'saving' and checkpoint['meta']['iter'] == self.iteration:
            def fsync(fd):
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
                os.kill(os.getpid(), signal.SIGKILL)
            os.fsync = fsync
'''

EXTRA = '''
custom_imports = dict(imports=['mmrock', 'resume_probe'], allow_failed_imports=False)
model['backbone']['base_channels'] = 16
model['rock'].update(in_channels=128, encoder_channels=16)
model['neck'].update(in_channels=(128, ), out_channels=(128, 32, 32, 16, 16, 16, 16))
model['bbox_head']['in_channels'] = (128, 32, 32, 16, 16, 16, 16)
train_cfg['max_iters'] = 6
# warm-up and a step decay: their state (MultiStepLR's milestones are a Counter) resumes too
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
                   dict(type='MultiStepLR', by_epoch=False, begin=0, end=6, milestones=[5])]
default_hooks['checkpoint'].update(interval=2, max_keep_ckpts=1)
custom_hooks = [dict(type='CheckNonFiniteLossHook'), dict(type='DrawRandomHook'),
                dict(type='KillHook')]
randomness = dict(seed=0, deterministic=True)
'''
SIGKILL_EXIT = -9


@pytest.fixture(scope='module')
def setup(tmp_path_factory, tiny_nyuv2):
    root = tmp_path_factory.mktemp('resume')
    (root / 'resume_probe.py').write_text(PROBE)
    config = write_tiny_config(root / 'tiny_resume.py', tiny_nyuv2, EXTRA)
    return root, config


def train(setup, work_dir, *args, options=(), kill=None):
    root, config = setup
    # one thread: fast on a shared machine, and CPU results depend on the thread count
    # (REPO on the path too: the checkout under test, not whichever copy is installed)
    env = dict(
        PYTHONPATH=os.pathsep.join(
            p for p in (str(root), str(REPO), os.environ.get('PYTHONPATH')) if p),
        KILL=kill or 'never:0',
        OMP_NUM_THREADS='1')
    return run_python(
        'tools/train.py',
        config,
        '--work-dir',
        work_dir,
        *args,
        '--cfg-options',
        *NO_VAL,
        *options,
        env=env)


def state_dict(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def assert_same_weights(a: Path, b: Path) -> None:
    sa, sb = state_dict(a), state_dict(b)
    assert sa.keys() == sb.keys()
    different = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not different, f'{len(different)} tensors differ, e.g. {different[:3]}'


def logged_losses(work_dir: Path, prefix: str = 'loss') -> dict:
    """{iteration: {name: value}} of the json scalar log(s) of a work dir, for the names that
    start with ``prefix`` (``'w_'``: the loss balancer's weights)."""
    out = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if 'loss' in rec:
                out[rec['iter']] = {k: v for k, v in rec.items() if k.startswith(prefix)}
    return out


@pytest.fixture(scope='module')
def straight(setup):
    work_dir = setup[0] / 'straight'
    check_ok(train(setup, work_dir))
    return work_dir


@pytest.fixture(scope='module')
def killed_after_4(setup):
    """Run B, first part: SIGKILLed once iteration 5 is done (last checkpoint: iteration 4)."""
    work_dir = setup[0] / 'killed'
    proc = train(setup, work_dir, kill='after:5')
    assert proc.returncode == SIGKILL_EXIT, proc.stderr[-2000:]
    assert (work_dir / 'iter_4.pth').is_file() and not (work_dir / 'iter_6.pth').exists()
    return work_dir


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(straight, killed_after_4, setup, tmp_path):
    work_dir = tmp_path / 'resumed'
    shutil.copytree(killed_after_4, work_dir)
    proc = check_ok(train(setup, work_dir, '--resume'))
    out = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 4' in out
    assert 'random generator states of iteration 4 are restored' in out
    assert_same_weights(straight / 'iter_6.pth', work_dir / 'iter_6.pth')
    # the resumed iterations log the same losses too
    ref, resumed = logged_losses(straight), logged_losses(work_dir)
    assert [resumed[i] for i in (5, 6)] == [ref[i] for i in (5, 6)]


@pytest.mark.slow
def test_resume_without_restoring_random_states_diverges(straight, killed_after_4, setup, tmp_path):
    """The control: mmengine's own CheckpointHook re-seeds instead of restoring (named with its
    scope: the tools replace a bare ``CheckpointHook``, mmdet's runtime's, with mmrock's)."""
    work_dir = tmp_path / 'plain'
    shutil.copytree(killed_after_4, work_dir)
    check_ok(
        train(
            setup,
            work_dir,
            '--resume',
            options=['default_hooks.checkpoint.type=mmengine.CheckpointHook']))
    with pytest.raises(AssertionError, match='tensors differ'):
        assert_same_weights(straight / 'iter_6.pth', work_dir / 'iter_6.pth')


@pytest.mark.slow
def test_kill_while_writing_a_checkpoint(straight, setup):
    """Run C: killed with the checkpoint of iteration 4 half written (``max_keep_ckpts=1``)."""
    work_dir = setup[0] / 'killed_saving'
    proc = train(setup, work_dir, kill='saving:4')
    assert proc.returncode == SIGKILL_EXIT, proc.stderr[-2000:]
    # no iter_4.pth at all, the pointer still names iter_2.pth, which was not pruned yet
    (temp, ) = [p.name for p in work_dir.glob('.*.tmp-*')]
    assert temp.startswith('.iter_4.pth.tmp-')
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['iter_2.pth']
    full = (work_dir / 'iter_2.pth').stat().st_size
    assert (work_dir / temp).stat().st_size < full  # really truncated
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir / 'iter_2.pth')

    proc = check_ok(train(setup, work_dir, '--resume'))
    out = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in out and f'Removed {work_dir / temp}' in out
    assert_same_weights(straight / 'iter_6.pth', work_dir / 'iter_6.pth')
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['iter_6.pth']  # pruned after save
    assert not list(work_dir.glob('.*.tmp-*'))


@pytest.mark.slow
def test_same_seed_same_losses(straight, killed_after_4):
    """Determinism: two runs of the same config and seed log identical losses (iterations 1-4
    of the straight run and of run B before it was killed)."""
    a, b = logged_losses(straight), logged_losses(killed_after_4)
    assert sorted(a) == [1, 2, 3, 4, 5, 6] and {1, 2, 3, 4} <= set(b)
    assert all(
        set(a[i]) >= {'loss_cls', 'loss_bbox', 'loss_scene', 'loss_depth', 'loss_normals'}
        for i in a)
    assert [b[i] for i in (1, 2, 3, 4)] == [a[i] for i in (1, 2, 3, 4)]
    assert a[1] != a[2]  # the log is not constant


@pytest.mark.slow
@pytest.mark.parametrize(
    'balancer,options,state',
    [('UncertaintyWeighting', [], 'log_vars'),
     ('DynamicWeightAverage', ['model.loss_balancer.window=2'], 'window_means'),
     ('GradNorm', [], 'task_weights')])
def test_loss_balancer_resumes_identically(balancer, options, state, setup, tmp_path):
    """A learned balancer's parameters / loss history are in the checkpoints: the killed and
    resumed run logs the same weights and ends with the same balancer state as a straight one."""
    options = [f'model.loss_balancer.type={balancer}', *options]
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    check_ok(train(setup, straight, options=options))
    proc = train(setup, resumed, kill='after:5', options=options)
    assert proc.returncode == SIGKILL_EXIT, proc.stderr[-2000:]
    check_ok(train(setup, resumed, '--resume', options=options))

    learned = state_dict(straight / 'iter_6.pth')[f'loss_balancer.{state}']
    assert not torch.equal(learned, torch.zeros_like(learned)) and \
        not torch.equal(learned, torch.ones_like(learned)), f'{state} stayed at its initial value'
    assert_same_weights(straight / 'iter_6.pth', resumed / 'iter_6.pth')  # balancer included
    weights = logged_losses(straight, prefix='w_')
    assert sorted(weights) == [1, 2, 3, 4, 5, 6]
    assert all(set(w) == {'w_scene', 'w_depth', 'w_normals'} for w in weights.values())
    assert weights[5] != {'w_scene': 1.0, 'w_depth': 1.0, 'w_normals': 1.0}  # learned
    assert [logged_losses(resumed, prefix='w_')[i] for i in (5, 6)] == [weights[5], weights[6]]


# ------------------------------------------------------------------------------------------------
# pieces


def test_atomic_write_replaces_whole_files_only(tmp_path, monkeypatch):
    target = tmp_path / 'sub' / 'last_checkpoint'
    atomic_write(target, 'first')
    assert target.read_text() == 'first'

    def crash(*args):
        raise OSError('disk gone')

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(OSError, match='disk gone'):
        atomic_write(target, 'second')
    monkeypatch.undo()
    assert target.read_text() == 'first'
    assert os.listdir(target.parent) == ['last_checkpoint']  # the temporary file went too

    AtomicLocalBackend().put(b'\x00\x01', tmp_path / 'ckpt.pth')
    assert (tmp_path / 'ckpt.pth').read_bytes() == b'\x00\x01'
    # used where named (the checkpoint hook does), mmengine's default left alone
    from mmengine.fileio import LocalBackend, get_file_backend
    path = str(tmp_path / 'x.pth')
    assert isinstance(
        get_file_backend(path, backend_args=dict(backend='atomic_local')), AtomicLocalBackend)
    assert type(get_file_backend(path)) is LocalBackend


def test_stale_temp_files_of_dead_processes_are_removed(tmp_path):
    dead = tmp_path / '.iter_8.pth.tmp-999999999-0123abcd'  # no such pid
    alive = tmp_path / f'.iter_9.pth.tmp-{os.getpid()}-0123abcd'
    other = tmp_path / 'notes.tmp-1-x'
    for path in (dead, alive, other):
        path.write_bytes(b'x')
    assert remove_stale_temp_files(str(tmp_path)) == [str(dead)]
    assert alive.exists() and other.exists() and not dead.exists()


def _draw():
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_rng_states_round_trip_and_validation_is_isolated():
    states = get_rng_states()
    first = _draw()
    set_rng_states(states)
    assert _draw() == first

    hook = ResumableCheckpointHook(interval=1)
    set_rng_states(states)
    hook.before_val(None)
    _draw()  # validation draws...
    hook.after_val(None)
    assert _draw() == first  # ...but training continues as if it had not run


def test_default_runtime_uses_the_resumable_hook():
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO / 'configs' / 'rock' / 'ssd_r50_rock_nyuv2.py'))
    assert cfg.default_hooks.checkpoint.type == 'ResumableCheckpointHook'


class FakeRunner:
    """What a checkpoint hook reads of mmengine's runner; ``save_checkpoint`` writes a stand-in
    file and records what the checkpoint folder holds and what ``last_checkpoint`` names when
    it is called."""

    def __init__(self, work_dir: Path):
        from mmengine.config import Config
        from mmengine.logging import MessageHub, MMLogger
        self.work_dir = str(work_dir)
        self.cfg = Config()
        self.logger = MMLogger.get_instance(f'fake-runner-{id(self)}')
        self.message_hub = MessageHub.get_instance(f'fake-runner-{id(self)}')
        self.iter, self.epoch, self.max_iters = 0, 0, 100
        self.saves = []

    def pointer(self):
        path = Path(self.work_dir, 'last_checkpoint')
        return Path(path.read_text()).name if path.exists() else None

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        self.saves.append((sorted(os.listdir(out_dir)), self.pointer()))
        Path(out_dir, filename).write_bytes(b'checkpoint')

    def train(self, hook, iters: int) -> None:
        hook.before_train(self)
        for self.iter in range(iters):
            hook.after_train_iter(self, self.iter)


def test_mmengine_removes_the_oldest_checkpoint_before_saving_once_it_keeps_max(tmp_path):
    """Pins what ResumableCheckpointHook relies on in mmengine's CheckpointHook: with
    ``max_keep_ckpts=n`` it removes the oldest checkpoint before saving the next one, and only
    once it keeps n; it points ``last_checkpoint`` at a checkpoint after saving it."""
    from mmengine.hooks import CheckpointHook
    runner = FakeRunner(tmp_path)
    runner.train(CheckpointHook(interval=2, by_epoch=False, max_keep_ckpts=2, save_last=False), 8)
    assert runner.saves == [([], None), (['iter_2.pth', 'last_checkpoint'], 'iter_2.pth'),
                            (['iter_4.pth', 'last_checkpoint'], 'iter_4.pth'),
                            (['iter_6.pth', 'last_checkpoint'], 'iter_6.pth')]
    assert runner.pointer() == 'iter_8.pth'


def test_the_oldest_checkpoint_goes_once_the_new_one_is_saved(tmp_path):
    runner = FakeRunner(tmp_path)
    hook = ResumableCheckpointHook(interval=2, by_epoch=False, max_keep_ckpts=1, save_last=False)
    runner.train(hook, 6)
    assert runner.saves == [([], None), (['iter_2.pth', 'last_checkpoint'], 'iter_2.pth'),
                            (['iter_4.pth', 'last_checkpoint'], 'iter_4.pth')]
    assert sorted(os.listdir(tmp_path)) == ['iter_6.pth', 'last_checkpoint']
    assert runner.pointer() == 'iter_6.pth'
    assert runner.message_hub.get_info('keep_ckpt_ids') == [6]  # what a resume continues from
    assert hook.kept_ckpts == 1 and hook.max_keep_ckpts == 2  # mmengine's: one more


def test_a_cut_last_checkpoint_is_pointed_at_the_newest_checkpoint(tmp_path):
    """mmengine rewrites ``last_checkpoint`` in place: killed meanwhile, it names no file."""
    from mmengine.runner.checkpoint import find_latest_checkpoint
    pointer = tmp_path / 'last_checkpoint'

    def before_run(text):
        pointer.write_text(text)
        hook = ResumableCheckpointHook(interval=2, by_epoch=False)
        runner = FakeRunner(tmp_path)
        hook.before_run(runner)
        hook.after_run(runner)
        return find_latest_checkpoint(str(tmp_path))

    assert before_run('') is None and not pointer.exists()  # no checkpoint: start afresh
    for step in (2, 10, 4):
        (tmp_path / f'iter_{step}.pth').write_bytes(b'checkpoint')
    assert before_run(str(tmp_path / 'iter_1')) == str(tmp_path / 'iter_10.pth')
    assert before_run('') == str(tmp_path / 'iter_10.pth')
    assert before_run(str(tmp_path / 'iter_4.pth')) == str(tmp_path / 'iter_4.pth')  # intact
