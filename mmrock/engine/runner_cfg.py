"""Config edits behind the flags of tools/train.py and tools/test.py (mmdet's tools' interface).

Kept out of the tools so that they stay thin and these rules are tested on their own.
"""
import argparse
import datetime
import gc
import os
import os.path as osp
import sys
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction


def load_tool_config(config: str,
                     cfg_options: Optional[dict] = None,
                     launcher: str = 'none',
                     work_dir: Optional[str] = None) -> Config:
    """Load a config, merge ``--cfg-options``, set the launcher and the work dir.

    Args:
        config (str): Path of the config.
        cfg_options (dict, optional): ``--cfg-options`` to merge. Defaults to None.
        launcher (str): The job launcher. Defaults to 'none'.
        work_dir (str, optional): ``--work-dir``; priority: it > ``work_dir`` in the config >
            ``./work_dirs/<config name>``. Defaults to None.

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def use_resumable_checkpoint_hook(cfg: Config) -> None:
    """mmrock's checkpoints whatever the runtime: a config on mmdet's runtime saves through
    mmengine's plain ``CheckpointHook``, whose checkpoints pickle the message hub's
    ``HistoryBuffer``s (refused by ``weights_only=True``, torch's default); it becomes
    :class:`~mmrock.engine.hooks.ResumableCheckpointHook`, its subclass with the same arguments
    (plain-type checkpoints, atomic writes, exact resume). Other hook types are kept, and so
    is mmengine's named with its scope (``type='mmengine.CheckpointHook'``: asked for as such).

    Args:
        cfg (Config): The config, edited in place.
    """
    from mmengine.hooks import CheckpointHook
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if hook and hook.get('type') in ('CheckpointHook', CheckpointHook):
        hook['type'] = 'ResumableCheckpointHook'


def enable_amp(cfg: Config) -> None:
    """Automatic mixed precision: mmengine's ``AmpOptimWrapper`` (dynamic loss scale) on CUDA,
    float16 unless the config's ``optim_wrapper.dtype`` says otherwise. Without CUDA (where
    ``AmpOptimWrapper`` refuses to run) :class:`AutocastOptimWrapper` with bfloat16, the only
    dtype of CPU autocast, which needs no loss scaling.

    Args:
        cfg (Config): The config, edited in place.
    """
    wrapper = cfg.optim_wrapper
    if torch.cuda.is_available():
        wrapper.type = 'AmpOptimWrapper'
        wrapper.loss_scale = wrapper.get('loss_scale', 'dynamic')
        wrapper.dtype = wrapper.get('dtype') or 'float16'
    else:
        wrapper.type = 'AutocastOptimWrapper'
        wrapper.pop('loss_scale', None)
        wrapper.dtype = wrapper.get('dtype') or 'bfloat16'


def enable_auto_scale_lr(cfg: Config) -> None:
    """Scale the lr linearly with the total batch size (``auto_scale_lr.base_batch_size``).

    Args:
        cfg (Config): The config, edited in place.

    Raises:
        RuntimeError: The config has no ``auto_scale_lr.base_batch_size``.
    """
    if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
        raise RuntimeError('--auto-scale-lr needs `auto_scale_lr = dict(enable=False, '
                           'base_batch_size=...)` in the config')
    cfg.auto_scale_lr.enable = True


def apply_resume(cfg: Config, resume: Optional[str]) -> None:
    """Apply ``--resume`` (both forms restore the optimizer, schedulers and the iteration count).

    Args:
        cfg (Config): The config, edited in place.
        resume (str, optional): 'auto' (``--resume`` alone): the latest checkpoint of the work
            dir; a path: that checkpoint; None: no resume.
    """
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume


def prepare_pretrained_or_exit(cfg: Config) -> None:
    """Before a training runner is built: fetch and verify the pretrained weights the config
    initialises from and point it at the local files
    (:func:`~mmrock.engine.pretrained_weights.prepare_pretrained_weights`); exits (status 1, one
    line) when they cannot be had. Resuming from a checkpoint needs none of them: the weights
    come from the checkpoint, so the pretrained initialisers are dropped instead.

    Args:
        cfg (Config): The config, edited in place.
    """
    from mmengine.logging import print_log

    from .pretrained_weights import (PretrainedWeightsError, drop_pretrained_init_cfgs,
                                     prepare_pretrained_weights)
    if _resumes_from_checkpoint(cfg):
        if drop_pretrained_init_cfgs(cfg.model):
            print_log(
                'Resuming: the weights come from the checkpoint, the pretrained '
                'initialisation is skipped',
                logger='current')
        return
    try:
        prepare_pretrained_weights(cfg, log=lambda msg: print_log(msg, logger='current'))
    except PretrainedWeightsError as exc:
        sys.exit(str(exc))


def _resumes_from_checkpoint(cfg: Config) -> bool:
    """Whether training resumes from a checkpoint that exists: ``--resume CKPT``, or
    ``--resume`` with a ``last_checkpoint`` in the work dir (mmengine starts afresh without)."""
    if not cfg.get('resume'):
        return False
    return bool(cfg.get('load_from')) or osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint'))


def setup_distributed(cfg: Config) -> None:
    """Make the distributed backend follow the device: the config's (NCCL) with CUDA, gloo on
    CPU. mmengine's launchers call ``torch.cuda.set_device`` and its DDP wrapper passes
    ``device_ids=[LOCAL_RANK]``, both of which fail without CUDA; so on CPU the process group
    of ``--launcher pytorch`` (torchrun's environment) is initialised here, and DDP gets
    ``device_ids=None``. No-op for ``--launcher none``.

    Args:
        cfg (Config): The config, edited in place.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    wrapper_cfg = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper_cfg['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper_cfg
    if launcher == 'pytorch' and not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout')
        kwargs = {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)


def finish_distributed(runner=None) -> None:
    """Once this rank's run is over, free ``runner``'s model, then destroy the process group, if
    any. The DDP wrapper's reducer holds the group and its last buckets' gloo work, so
    ``destroy_process_group`` alone does not free the group while the runner lives (mmengine
    keeps every runner). Left to interpreter exit, gloo's worker threads can still hold work whose
    tensors need the GIL while Python tears down, and a rank whose run succeeded aborts
    ('terminate called without an active exception', SIGABRT), failing the job.

    Args:
        runner (Runner, optional): The finished runner. Defaults to None.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    if runner is not None:
        runner.model = None
        gc.collect()  # modules hold reference cycles
    torch_dist.destroy_process_group()


def parse_tool_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add the flags tools/train.py and tools/test.py share (:func:`add_runner_args`), parse,
    and export ``--local-rank`` (:func:`set_local_rank_env`).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    add_runner_args(parser)
    args = parser.parse_args()
    set_local_rank_env(args.local_rank)
    return args


def load_checked_config(args: argparse.Namespace, phase: str) -> Config:
    """The tools' start: mmdet's dynamo cache limit, the config with ``--cfg-options``,
    ``--launcher`` and ``--work-dir`` applied; exits (status 1, one line) when the dataset
    files of ``phase`` ('train' | 'test') are missing, the train pipeline would misalign the
    dense labels or the scene head does not match the dataset, before anything is built. Its
    checkpoint hook is mmrock's (:func:`use_resumable_checkpoint_hook`).

    Args:
        args (argparse.Namespace): The tool's arguments (``config``, ``cfg_options``,
            ``launcher``, ``work_dir``).
        phase (str): 'train' or 'test'.

    Returns:
        Config: The checked config.
    """
    from mmdet.utils import setup_cache_size_limit_of_dynamo

    from .data_check import data_check_message
    setup_cache_size_limit_of_dynamo()
    cfg = load_tool_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    use_resumable_checkpoint_hook(cfg)
    message = data_check_message(cfg, phase)
    if message:
        sys.exit(message)
    return cfg


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """The flags tools/train.py and tools/test.py share with mmdet's: ``--cfg-options``,
    ``--launcher``, ``--local-rank`` (see :func:`set_local_rank_env`).

    Args:
        parser (argparse.ArgumentParser): The tool's parser, edited in place.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_cfg.max_iters=100 model.backbone.init_cfg=None)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def set_local_rank_env(local_rank: int) -> None:
    """Export ``--local-rank`` (torch.distributed.launch) as ``LOCAL_RANK``, unless the launcher
    set it.

    Args:
        local_rank (int): The ``--local-rank`` value.
    """
    os.environ.setdefault('LOCAL_RANK', str(local_rank))


def build_runner(cfg: Config):
    """mmengine's ``Runner.from_cfg``, or the registry's runner when the config names a
    ``runner_type``. Exits (status 1, one line) when ROCK's ``in_index`` / ``in_channels`` do
    not fit the backbone (:class:`~mmrock.models.utils.backbone_outputs.ROCKInputError`).

    Args:
        cfg (Config): The config.

    Returns:
        Runner: The runner.
    """
    from mmdet.registry import RUNNERS
    from mmengine.runner import Runner

    from mmrock.models.utils.backbone_outputs import ROCKInputError
    try:
        return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    except ROCKInputError as exc:
        sys.exit(str(exc))
