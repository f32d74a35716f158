"""Shared test set-up: mmdet's registries as the default scope (what configs do through
``default_scope = 'mmdet'``) and mmrock's modules registered."""
import pytest
from mmengine.registry import init_default_scope

import mmrock  # noqa: F401


@pytest.fixture(autouse=True, scope='session')
def mmdet_default_scope():
    init_default_scope('mmdet')


# ------------------------------------------------------------------------------------------------
# The tools end to end (tests/test_tools/test_tools.py, test_visualization.py, test_ddp.py): a tiny
# synthetic NYUv2 made by the project's own generator and converter CLIs, a tiny ROCK config
# inheriting the main one, and one short training shared by the tests that need a checkpoint.
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY_HW = (96, 128)  # model input (H, W): C5 6x8, then 3x4, 2x2, 1x1 x 4

TINY_ROCK_CONFIG = '''
# Test-only: ROCK on ResNet-18 from scratch, 96x128 input, small ROCK/SSD widths, batch 2.
_base_ = [{base!r}]
data_root = {data_root!r}
img_scale = (128, 96)
model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    rock=dict(in_channels=512, encoder_channels=32,
              aux_heads=dict(depth=dict(maps_per_out_channel=8),
                             normals=dict(maps_per_out_channel=8))),
    neck=dict(in_channels=(512, ), out_channels=(512, 64, 64, 32, 32, 32, 32)),
    bbox_head=dict(
        in_channels=(512, 64, 64, 32, 32, 32, 32),
        anchor_generator=dict(
            strides=[(16, 16), (32, 32), (64, 48), (128, 96), (128, 96), (128, 96), (128, 96)],
            min_sizes=[5, 10, 26, 42, 58, 74, 90],
            max_sizes=[10, 26, 42, 58, 74, 90, 106])),
    # untrained: keep every box so that COCO evaluation has detections to score
    test_cfg=dict(score_thr=0.0, max_per_img=50))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations', with_bbox=True),
    dict(type='MultiTaskResize', scale=img_scale, keep_ratio=False),
    dict(type='MultiTaskRandomFlip', prob=0.5),
    dict(type='PackMultiTaskInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiTaskResize', scale=img_scale, keep_ratio=False),
    dict(type='LoadMultiTaskAnnotations', with_bbox=True),
    dict(type='PackMultiTaskInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
# no val split in these rooms: validation at the end on the test split, nothing selected there
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, ann_file='annotations/nyuv2_test.json',
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='ZeroOnEmptyCocoMetric', ann_file=data_root + 'annotations/nyuv2_test.json',
         metric='bbox', classwise=True),
    dict(type='AuxiliaryTaskMetric')
]
test_evaluator = val_evaluator
train_cfg = dict(max_iters=2, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = []
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, max_keep_ckpts=3, save_best=None))
log_processor = dict(window_size=1)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
'''

NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']


def run_python(*args, env=None, timeout=600, cwd=REPO) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` (this interpreter) from ``cwd`` (the repository root), capturing text
    output."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, *map(str, args)],
                          cwd=cwd,
                          env=full_env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)


# argv: MODULE FUNCTION N TOOL ARGS...: the tool in this interpreter, with MODULE.FUNCTION
# patched to send SIGTERM to the tool's main process after its N-th call (workers forked later
# inherit the patch), as `kill`, `timeout` or a job scheduler would mid-run
_TERMINATE_AFTER = """
import importlib, os, runpy, signal, sys
module = importlib.import_module(sys.argv[1])
original, after, calls, main = getattr(module, sys.argv[2]), int(sys.argv[3]), [], os.getpid()
def call_then_terminate(*args):
    original(*args)
    calls.append(1)
    if len(calls) == after:
        os.kill(main, signal.SIGTERM)
setattr(module, sys.argv[2], call_then_terminate)
sys.argv = sys.argv[4:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


def run_terminated(module: str, function: str, after: int, tool,
                   *args) -> subprocess.CompletedProcess:
    """``python TOOL ARGS`` that gets SIGTERM after the ``after``-th call of
    ``module.function`` (see ``_TERMINATE_AFTER``)."""
    return subprocess.run([
        sys.executable, '-c', _TERMINATE_AFTER, module, function,
        str(after),
        str(tool), *map(str, args)
    ],
                          capture_output=True,
                          text=True,
                          timeout=120)


class Payload:
    """Unpickling it creates the file ``marker``: stands in for code hidden in a checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker, )


METRIC_ROW = re.compile(r'^\|   (.+?)\s+\| +(\S+) \|$')


def table_rows(stdout: str) -> dict:
    """{label: value text} of the metric table tools/test.py prints."""
    return {m.group(1): m.group(2) for m in map(METRIC_ROW.match, stdout.splitlines()) if m}


def check_ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, \
        f'exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc


def split_size(data_root: Path, split: str) -> int:
    """Number of images in a converted NYUv2's ``annotations/nyuv2_{split}.json``."""
    path = Path(data_root) / 'annotations' / f'nyuv2_{split}.json'
    return len(json.loads(path.read_text())['images'])


def write_tiny_config(path: Path, data_root: Path, extra: str = '') -> Path:
    """The tiny ROCK config on ``data_root`` (plus ``extra`` config lines) written to ``path``."""
    path.write_text(
        TINY_ROCK_CONFIG.format(
            base=str(REPO / 'configs' / 'rock' / 'ssd_r50_rock_nyuv2.py'),
            data_root=f'{data_root}/') + extra)
    return path


def convert_synthetic(raw: Path, out: Path, val_split: bool = False, pack: bool = True) -> Path:
    """nyuv2.py (the real converter) on the official-format files make_synthetic_nyuv2.py wrote
    in ``raw``; with ``val_split``, its val_scenes.txt moved to a val split; without ``pack``,
    ``--no-pack``."""
    val = ['--val-split', raw / 'val_scenes.txt'] if val_split else []
    no_pack = [] if pack else ['--no-pack']
    check_ok(
        run_python('tools/dataset_converters/nyuv2.py', '--mat', raw / 'nyu_depth_v2_labeled.mat',
                   '--splits', raw / 'splits.mat', '--normals', raw / 'normals_gt', '--out', out,
                   '--no-progress', *val, *no_pack))
    return out


@pytest.fixture(scope='session')
def tiny_raw(tmp_path_factory) -> Path:
    """12 synthetic rooms at 120x160, written in the official format by
    make_synthetic_nyuv2.py."""
    raw = tmp_path_factory.mktemp('tiny_raw')
    check_ok(
        run_python('tools/dataset_converters/make_synthetic_nyuv2.py', '--out', raw, '--num', 12,
                   '--seed', 0, '--height', 120, '--width', 160, '--no-progress'))
    return raw


@pytest.fixture(scope='session')
def tiny_nyuv2(tmp_path_factory, tiny_raw) -> Path:
    """The 12 tiny rooms converted to train / test splits."""
    return convert_synthetic(tiny_raw, tmp_path_factory.mktemp('tiny_nyuv2') / 'nyuv2')


@pytest.fixture(scope='session')
def tiny_nyuv2_val(tmp_path_factory, tiny_raw) -> Path:
    """The 12 tiny rooms converted to train / val / test splits (the paper's protocol)."""
    return convert_synthetic(
        tiny_raw, tmp_path_factory.mktemp('tiny_nyuv2_val') / 'nyuv2', val_split=True)


@pytest.fixture(scope='session')
def tiny_rock_config(tmp_path_factory, tiny_nyuv2) -> Path:
    return write_tiny_config(tmp_path_factory.mktemp('configs') / 'tiny_rock.py', tiny_nyuv2)


@pytest.fixture(scope='session')
def tiny_trained(tmp_path_factory, tiny_rock_config) -> dict:
    """tools/train.py on the tiny config: 2 iterations, a checkpoint at 2, validation at the end.
    Returns ``work_dir``, ``checkpoint`` and the run's ``output`` (stdout + stderr)."""
    work_dir = tmp_path_factory.mktemp('train')
    proc = check_ok(run_python('tools/train.py', tiny_rock_config, '--work-dir', work_dir))
    checkpoint = work_dir / 'iter_2.pth'
    assert checkpoint.is_file(), sorted(os.listdir(work_dir))
    return dict(work_dir=work_dir, checkpoint=checkpoint, output=proc.stdout + proc.stderr)


class UserCheckout:
    """A folder laid out as a user's checkout: ``tools/`` and ``configs/`` of this repository,
    and a dataset at ``data/nyuv2`` (the configs' default), so that README commands run from it
    exactly as written (``python tools/train.py configs/rock/...``)."""

    def __init__(self, root: Path, nyuv2: Path):
        self.root = root
        (root / 'data').mkdir(parents=True)
        (root / 'data' / 'nyuv2').symlink_to(nyuv2)
        for name in ('tools', 'configs'):
            (root / name).symlink_to(REPO / name)

    def run(self, *args, env=None, timeout=900) -> subprocess.CompletedProcess:
        """``python ARGS`` from the checkout (mmrock imported from this repository)."""
        inherited = dict(os.environ, **(env or {})).get('PYTHONPATH')
        path = os.pathsep.join(p for p in (str(REPO), inherited) if p)
        return run_python(
            *args, env=dict(env or {}, PYTHONPATH=path), timeout=timeout, cwd=self.root)
