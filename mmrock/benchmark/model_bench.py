"""Training / inference throughput and peak memory of detector configs, measured in one process
with the configs interleaved, on synthetic in-memory batches (data loading excluded)."""
import copy
import logging
import os.path as osp
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from statistics import median
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from .complexity import model_complexity
from .measure import peak_memory, release_freed_memory_to_os, time_call
from .synthetic_batch import synthetic_batch


@dataclass
class BenchSettings:
    """What :func:`run_model_benchmark` measures, and how.

    Args:
        device (str): 'cpu' or 'cuda' (or 'cuda:N'). Defaults to 'cpu'.
        batch_size (int): Training batch size. Defaults to 2.
        infer_batch_sizes (tuple[int, ...]): Inference batch sizes (each measured with and
            without post-processing). Defaults to (1, 2).
        input_hw (tuple[int, int]): Image size (H, W) of the synthetic batches. Defaults to
            (480, 640).
        amp (bool): Mixed precision: the config's optim_wrapper becomes ``AmpOptimWrapper``
            (CUDA, loss scaling) or ``AutocastOptimWrapper`` (CPU, bfloat16); inference runs
            under autocast. Defaults to False.
        amp_dtype (str, optional): 'float16' / 'bfloat16'; default float16 on CUDA, bfloat16
            on CPU.
        channels_last (bool): Models in channels_last memory format
            (:class:`ChannelsLastHook`'s switch). Defaults to False.
        fuse_conv_bn (bool): Inference on a copy whose BatchNorms are folded into the preceding
            convolutions (mmcv's ``fuse_conv_bn``: exact in eval mode, up to rounding).
            Defaults to False.
        iters (int): Timed iterations per config in each block; the configs take turns, one
            iteration each (rotated order), so that a slow spell of a shared machine hits all.
            Defaults to 5.
        warmup (int): Untimed iterations per config at the start of each block. Defaults to 2.
        repeats (int): How many times the whole sequence of blocks runs. Throughput = batch
            size / median iteration time over the repeats x iters iterations (also reported:
            batch size / fastest iteration, the least disturbed by other processes). Defaults
            to 3.
        phases (tuple[str, ...]): Subset of ('train', 'predict', 'tensor'). Defaults to all.
        macs (bool): Count parameters' multiply-adds with mmengine's FlopAnalyzer. Defaults to
            True.
        memory (bool): Measure peak memory (one extra untimed iteration per config and phase).
            Defaults to True.
        cfg_options (dict, optional): Merged into every config (``--cfg-options``).
    """
    device: str = 'cpu'
    batch_size: int = 2
    infer_batch_sizes: Tuple[int, ...] = (1, 2)
    input_hw: Tuple[int, int] = (480, 640)
    amp: bool = False
    amp_dtype: Optional[str] = None
    channels_last: bool = False
    fuse_conv_bn: bool = False
    iters: int = 5
    warmup: int = 2
    repeats: int = 3
    phases: Tuple[str, ...] = ('train', 'predict', 'tensor')
    macs: bool = True
    memory: bool = True
    cfg_options: Optional[dict] = None

    def autocast_dtype(self) -> torch.dtype:
        """The autocast dtype: ``amp_dtype``, else float16 on CUDA and bfloat16 on CPU.

        Returns:
            torch.dtype: The dtype.
        """
        default = 'float16' if self.device.startswith('cuda') else 'bfloat16'
        return getattr(torch, self.amp_dtype or default)

    def blocks(self) -> List[Tuple[str, str, int]]:
        """The measurement blocks, in running order.

        Returns:
            list[tuple[str, str, int]]: (key, phase, batch size) of every block.
        """
        out = []
        if 'train' in self.phases:
            out.append((f'train_bs{self.batch_size}', 'train', self.batch_size))
        for bs in self.infer_batch_sizes:
            for phase in ('predict', 'tensor'):
                if phase in self.phases:
                    out.append((f'{phase}_bs{bs}', phase, bs))
        return out


@contextmanager
def quiet_mmengine(level: int = logging.WARNING) -> Iterator[None]:
    """Silence mmengine's per-parameter init messages while models are built.

    Args:
        level (int): The logger's level within the block. Defaults to ``logging.WARNING``.
    """
    logger = MMLogger.get_current_instance()
    old = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(old)


def load_bench_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """A config with the backbone's pretrained init removed (no weights offline; random weights
    time the same).

    Args:
        config (str): Path of the config.
        cfg_options (dict, optional): Merged into it. Defaults to None.

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.backbone.init_cfg = None
    return cfg


def amp_optim_wrapper_cfg(optim_wrapper: dict, device: str, dtype: torch.dtype) -> dict:
    """An optim wrapper config made mixed precision: mmengine's ``AmpOptimWrapper`` (dynamic
    loss scaling) on CUDA; on CPU, where it refuses to run, mmrock's ``AutocastOptimWrapper``
    (bfloat16 autocast, no loss scaling needed).

    Args:
        optim_wrapper (dict): The config's ``optim_wrapper``.
        device (str): The device.
        dtype (torch.dtype): The autocast dtype.

    Returns:
        dict: A new optim wrapper config.
    """
    cfg = copy.deepcopy(dict(optim_wrapper))
    cfg['dtype'] = str(dtype).replace('torch.', '')
    if device.startswith('cuda'):
        cfg['type'] = 'AmpOptimWrapper'
        cfg.setdefault('loss_scale', 'dynamic')
    else:
        cfg['type'] = 'AutocastOptimWrapper'
        cfg.pop('loss_scale', None)
    return cfg


class BenchModel:
    """One config's model, optimiser and synthetic batches, with one callable per phase.

    Args:
        config (str): Path of the config.
        settings (BenchSettings): What is measured.
        seed (int): Seed of the weights and the synthetic batches. Defaults to 0.
    """

    def __init__(self, config: str, settings: BenchSettings, seed: int = 0) -> None:
        from mmdet.registry import MODELS  # after the config imported mmrock
        self.name = osp.splitext(osp.basename(config))[0]
        self.config = config
        self.settings = settings
        self.cfg = load_bench_config(config, settings.cfg_options)
        init_default_scope(self.cfg.get('default_scope', 'mmdet'))
        torch.manual_seed(seed)
        with quiet_mmengine():
            model = MODELS.build(self.cfg.model)
            model.init_weights()
        self.model = model.to(settings.device)
        if settings.channels_last:
            from mmrock.engine.hooks.channels_last_hook import to_channels_last
            to_channels_last(self.model)
        # inference runs on a copy that training steps leave at its initial weights, so that
        # every repeat post-processes the same number of candidate boxes
        # (a BN-folded copy with fuse_conv_bn; the parameter / multiply-add counts stay those
        # of the model as configured)
        self.eval_model = copy.deepcopy(self.model) \
            if 'train' in settings.phases or settings.fuse_conv_bn else self.model
        if settings.fuse_conv_bn:
            from mmcv.cnn import fuse_conv_bn
            self.eval_model = fuse_conv_bn(self.eval_model.eval())
        self.last_dets_per_img: Dict[int, float] = {}
        self.optim_wrapper = None
        if 'train' in settings.phases:
            wrapper_cfg = self.cfg.optim_wrapper
            if settings.amp:
                wrapper_cfg = amp_optim_wrapper_cfg(wrapper_cfg, settings.device,
                                                    settings.autocast_dtype())
            self.optim_wrapper = build_optim_wrapper(self.model, wrapper_cfg)
        hw = settings.input_hw
        self.batches = {
            bs: synthetic_batch(bs, hw, seed=seed)
            for bs in {settings.batch_size, *settings.infer_batch_sizes}
        }

    def _autocast(self):
        if not self.settings.amp:
            return nullcontext()
        device_type = 'cuda' if self.settings.device.startswith('cuda') else 'cpu'
        return torch.autocast(device_type, dtype=self.settings.autocast_dtype())

    def train_step(self, bs: int) -> None:
        """A full training step (data preprocessor, forward with losses, backward, optimiser
        step through the config's optim_wrapper), then the losses read back to the host as the
        runner's logging does every iteration.

        Args:
            bs (int): Batch size.
        """
        self.model.train()
        log_vars = self.model.train_step(self.batches[bs], self.optim_wrapper)
        for value in log_vars.values():
            float(value.detach())

    @torch.no_grad()
    def predict(self, bs: int) -> list:
        """``test_step``: data preprocessor + ``predict`` (decoding, score threshold, NMS, and
        ROCK's auxiliary outputs resized to the image).

        Args:
            bs (int): Batch size.

        Returns:
            list[DetDataSample]: The predictions.
        """
        self.eval_model.eval()
        with self._autocast():
            out = self.eval_model.test_step(self.batches[bs])
        self.last_dets_per_img[bs] = sum(len(s.pred_instances) for s in out) / len(out)
        return out

    @torch.no_grad()
    def tensor(self, bs: int):
        """Data preprocessor + ``_forward`` (tensor mode): the network only, no post-processing.

        Args:
            bs (int): Batch size.

        Returns:
            tuple: The model's raw outputs.
        """
        self.eval_model.eval()
        with self._autocast():
            data = self.eval_model.data_preprocessor(self.batches[bs], False)
            return self.eval_model(**data, mode='tensor')

    def phase_fn(self, phase: str, bs: int) -> Callable[[], object]:
        """The call that one iteration of a phase makes.

        Args:
            phase (str): 'train', 'predict' or 'tensor'.
            bs (int): Batch size.

        Returns:
            Callable[[], object]: The call.
        """
        method = dict(train=self.train_step, predict=self.predict, tensor=self.tensor)[phase]
        return lambda: method(bs)


def _rotated(items: Sequence, shift: int) -> list:
    shift %= max(len(items), 1)
    return list(items[shift:]) + list(items[:shift])


def run_model_benchmark(configs: Sequence[str],
                        settings: BenchSettings,
                        log: Callable[[str], None] = print) -> List[dict]:
    """Measure every config; returns one record per config (see :func:`mmrock.benchmark.report`).

    Each repeat runs every block (training, then inference per batch size, with and without
    post-processing); within a block the configs alternate iteration by iteration (a round =
    one timed iteration of each config, the order rotated from round to round), so that a slow
    spell of a shared machine hits all configs alike and rounds give paired comparisons.

    Args:
        configs (Sequence[str]): Config paths.
        settings (BenchSettings): What is measured, and how.
        log (Callable[[str], None]): Where the progress lines go. Defaults to ``print``.

    Returns:
        list[dict]: One record per config.
    """
    models = []
    for config in configs:
        log(f'building {config}')
        models.append(BenchModel(config, settings))
    if settings.device.startswith('cuda'):
        # cuDNN autotuning as the runner sets it from the config (env_cfg.cudnn_benchmark, True in
        # configs/_base_/default_runtime.py); the warm-up iterations absorb the tuning
        torch.backends.cudnn.benchmark = bool(models[0].cfg.get('env_cfg',
                                                                {}).get('cudnn_benchmark', False))
    records = {
        m.name: dict(name=m.name, config=m.config, throughput={}, memory_mib={})
        for m in models
    }
    if len(records) != len(models):
        raise ValueError('configs must have distinct file names')

    for m in models:
        log(f'counting parameters / multiply-adds of {m.name}')
        records[m.name]['complexity'] = model_complexity(
            m.model, settings.input_hw, with_macs=settings.macs)

    samples: Dict[Tuple[str, str], List[float]] = {}
    for rep in range(settings.repeats):
        for key, phase, bs in settings.blocks():
            fns = {m.name: m.phase_fn(phase, bs) for m in models}
            for m in _rotated(models, rep):
                for _ in range(settings.warmup):
                    fns[m.name]()
            for it in range(settings.iters):
                for m in _rotated(models, rep + it):
                    samples.setdefault((m.name, key),
                                       []).append(time_call(fns[m.name], settings.device))
            log(f'[repeat {rep + 1}/{settings.repeats}] {key}: ' +
                ', '.join(f'{m.name} {bs / median(samples[(m.name, key)][-settings.iters:]):.2f}'
                          for m in models) + ' img/s')
    for (name, key), seconds in samples.items():
        phase, bs = key.rsplit('_bs', 1)
        records[name]['throughput'][key] = dict(
            phase=phase,
            batch_size=int(bs),
            img_per_s=int(bs) / median(seconds),
            img_per_s_best=int(bs) / min(seconds),
            seconds=seconds)
        if phase == 'predict':
            model = next(m for m in models if m.name == name)
            records[name]['throughput'][key]['dets_per_img'] = model.last_dets_per_img[int(bs)]

    if settings.memory:
        if not settings.device.startswith('cuda'):
            release_freed_memory_to_os()
        for key, phase, bs in settings.blocks():
            for m in models:
                with peak_memory(settings.device) as mem:
                    m.phase_fn(phase, bs)()
                records[m.name]['memory_mib'][key] = mem
    return [records[m.name] for m in models]
