"""Two-process DDP on CPU through tools/dist_train.sh (torchrun, gloo): both ranks train, and
the replicas' weights agree (DDP all-reduces the gradients)."""
import os
import socket
import subprocess
import sys

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


def test_two_process_ddp_on_cpu(tiny_nyuv2, tmp_path):
    (tmp_path / 'ddp_dump_hook.py').write_text(DUMP_HOOK)
    config = write_tiny_config(tmp_path / 'ddp.py', tiny_nyuv2, '''
custom_imports = dict(imports=['mmrock', 'ddp_dump_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='CheckNonFiniteLossHook'), dict(type='DumpParamsHook')]
val_cfg = val_dataloader = val_evaluator = None
train_cfg = dict(max_iters=2, val_interval=100)
''')
    work_dir = tmp_path / 'wd'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()),
               PYTHONPATH=f'{tmp_path}{os.pathsep}{os.environ.get("PYTHONPATH", "")}')
    proc = subprocess.run(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
                           str(work_dir)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Iter(train) [2/2]' in proc.stdout + proc.stderr

    dumps = {(tag, rank): torch.load(work_dir / f'{tag}_rank{rank}.pth')
             for tag in ('before', 'after') for rank in (0, 1)}
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
