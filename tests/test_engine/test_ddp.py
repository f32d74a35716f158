"""Two-process DDP on CPU through tools/dist_train.sh (torchrun, gloo): both ranks train, and
the replicas' weights agree (DDP all-reduces the gradients)."""
import os
import socket
import subprocess
import sys

import pytest
import torch

from conftest import REPO, write_tiny_config

DUMP_HOOK = '''
"""Test-only: each rank saves its parameters before and after training."""
import os.path as osp
import torch
from mmengine.hooks import Hook
from mmdet.registry import HOOKS


@HOOKS.register_module()
class DumpParamsHook(Hook):
    def _dump(self, runner, tag):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        torch.save(dict(iter=runner.iter, rank=runner.rank, world_size=runner.world_size,
                        wrapper=type(runner.model).__name__,
                        params={k: v.detach().clone() for k, v in model.named_parameters()}),
                   osp.join(runner.work_dir, f'{tag}_rank{runner.rank}.pth'))

    def before_train(self, runner):
        self._dump(runner, 'before')

    def after_train(self, runner):
        self._dump(runner, 'after')
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def dist_env(tmp_path) -> dict:
    """The environment of a 2-process torchrun on a free port, with ``tmp_path`` importable."""
    return dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(free_port()),
        PYTHONPATH=f'{tmp_path}{os.pathsep}{os.environ.get("PYTHONPATH", "")}')


def dist_train_two_processes(tmp_path,
                             data_root,
                             hook_module: str,
                             hook: str,
                             extra: str = '',
                             iters: int = 2):
    """tools/dist_train.sh with 2 CPU processes on the tiny config plus ``extra`` config lines,
    with the test-only hook ``hook`` (a class of the module source ``hook_module``); returns
    the work dir."""
    (tmp_path / 'ddp_dump_hook.py').write_text(hook_module)
    config = write_tiny_config(
        tmp_path / 'ddp.py', data_root, f'''
custom_imports = dict(imports=['mmrock', 'ddp_dump_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='CheckNonFiniteLossHook'), dict(type='{hook}')]
val_cfg = val_dataloader = val_evaluator = None
train_cfg = dict(max_iters={iters}, val_interval=100)
''' + extra)
    work_dir = tmp_path / 'wd'
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh',
         str(config), '2', '--work-dir',
         str(work_dir)],
        cwd=REPO,
        env=dist_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f'Iter(train) [{iters}/{iters}]' in proc.stdout + proc.stderr
    return work_dir


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tiny_nyuv2, tmp_path):
    work_dir = dist_train_two_processes(tmp_path, tiny_nyuv2, DUMP_HOOK, 'DumpParamsHook')

    dumps = {
        (tag, rank): torch.load(work_dir / f'{tag}_rank{rank}.pth')
        for tag in ('before', 'after')
        for rank in (0, 1)
    }
    for rank in (0, 1):  # both ranks ran both iterations, wrapped in DDP
        after = dumps['after', rank]
        assert (after['iter'], after['rank'], after['world_size']) == (2, rank, 2)
        assert after['wrapper'] == 'MMDistributedDataParallel'
    p0, p1 = dumps['after', 0]['params'], dumps['after', 1]['params']
    assert p0.keys() == p1.keys()
    for name in p0:
        torch.testing.assert_close(p0[name], p1[name], rtol=0, atol=0, msg=name)
    changed = [name for name in p0 if not torch.equal(p0[name], dumps['before', 0]['params'][name])]
    assert len(changed) > 0.9 * len(p0)  # they trained (a few head levels may get no gradient)
    assert 'detector.backbone.conv1.weight' in changed
    # the checkpoint (written by rank 0) holds the weights rank 1 ended with
    state = torch.load(work_dir / 'iter_2.pth', weights_only=False)['state_dict']
    for name in p1:
        assert torch.equal(state[name], p1[name]), name

    # and dist_test.sh tests it on 2 processes: both exit cleanly, rank 0 alone reports
    test_dir = tmp_path / 'wd_test'
    proc = subprocess.run([
        'bash', 'tools/dist_test.sh',
        str(tmp_path / 'ddp.py'),
        str(work_dir / 'iter_2.pth'), '2', '--work-dir',
        str(test_dir)
    ],
                          cwd=REPO,
                          env=dist_env(tmp_path),
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (test_dir / 'metrics.json').is_file()
    assert proc.stdout.count('ddp.py @ iter_2.pth') == 1, proc.stdout[-3000:]


def test_finish_distributed_frees_the_model_then_the_process_group(tmp_path):
    """train.py and test.py end with it: a gloo group left to interpreter exit can abort a rank
    whose run succeeded (SIGABRT, 'terminate called without an active exception'). The DDP
    wrapper's reducer holds the group and its last gloo work, so the runner's model goes first."""
    import types
    import weakref

    import torch.distributed as dist

    from mmrock.engine.runner_cfg import finish_distributed
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    ddp = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 2))
    ddp(torch.ones(4, 3)).sum().backward()  # the reducer's bucket allreduce ran
    runner, alive = types.SimpleNamespace(model=ddp), weakref.ref(ddp)
    del ddp
    finish_distributed(runner)
    assert alive() is None and runner.model is None
    assert not dist.is_initialized()
    finish_distributed(runner)  # and without a group it does nothing


BALANCER_DUMP_HOOK = '''
"""Test-only: each rank saves the losses and weights of every iteration (its own, as its
train_step returns them) and its loss balancer's state at the end."""
import os.path as osp
import torch
from mmengine.hooks import Hook
from mmdet.registry import HOOKS


@HOOKS.register_module()
class DumpBalancerHook(Hook):
    def before_train(self, runner):
        self.log = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.log.append({k: float(v) for k, v in outputs.items() if k.startswith(('w_', 'loss_'))})

    def after_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        torch.save(dict(log=self.log, state=model.loss_balancer.state_dict()),
                   osp.join(runner.work_dir, f'balancer_rank{runner.rank}.pth'))
'''


@pytest.mark.slow
@pytest.mark.parametrize('balancer',
                         ["dict(type='DynamicWeightAverage', window=1)", "dict(type='GradNorm')"])
def test_loss_balancer_weights_agree_across_ranks(balancer, tiny_nyuv2, tmp_path):
    """Each rank sees other images, hence other losses; the balancer averages what it keeps
    over the ranks, so both use the same weights every iteration and end with the same state."""
    work_dir = dist_train_two_processes(
        tmp_path,
        tiny_nyuv2,
        BALANCER_DUMP_HOOK,
        'DumpBalancerHook',
        iters=3,
        extra=f'model.update(loss_balancer={balancer})\n')
    ranks = [torch.load(work_dir / f'balancer_rank{r}.pth') for r in (0, 1)]
    logs = [r['log'] for r in ranks]
    assert len(logs[0]) == len(logs[1]) == 3
    assert any(a['loss_depth'] != b['loss_depth'] for a, b in zip(*logs))  # the ranks differ
    for it, (a, b) in enumerate(zip(*logs), start=1):
        weights = {k: v for k, v in a.items() if k.startswith('w_')}
        assert set(weights) == {'w_scene', 'w_depth', 'w_normals'}
        assert weights == {k: b[k] for k in weights}, f'iteration {it}'
    assert set(weights.values()) != {1.0}  # they were learned
    assert ranks[0]['state'].keys() == ranks[1]['state'].keys()
    for key, value in ranks[0]['state'].items():
        assert torch.equal(value, ranks[1]['state'][key]), key
