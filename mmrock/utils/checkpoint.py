"""Checkpoints that load safely, survive being killed mid-write, and resume exactly.

**Safe loading**: mmengine's resume state (message-hub ``HistoryBuffer``s, numpy arrays of the
random generator states) is saved in plain types and rebuilt on loading
(:mod:`mmrock.utils.safe_checkpoint`), so the checkpoints of :class:`ResumableCheckpointHook`
load with ``torch.load(weights_only=True)``, torch's default, through mmengine's stock loader.
Other files that need full unpickling are refused unless the config opts in
(``allow_pickled_checkpoints = True``): see ``docs/design.md``, "Checkpoints".

**Atomic writes**: mmengine writes a checkpoint with ``open(path, 'wb')`` and its
``last_checkpoint`` pointer with ``open(path, 'w')``: a process killed (SIGKILL, OOM killer,
preemption) during either leaves a truncated file that ``--resume`` then picks. The hook saves
through :class:`AtomicLocalBackend` (registered as the file backend ``'atomic_local'``; mmengine's
default backend is left alone), which writes to a temporary file in the same folder, flushes it
to disk and renames it over the target (``os.replace`` is atomic on POSIX): the target is the old
file or the complete new one, never a mix. ``last_checkpoint`` is written the same way, and only
after the checkpoint it names is complete.

**Exact resume**: mmengine restores the weights, the optimizer, the schedulers, the message hub
and the iteration count, and replays the sampler (``IterBasedTrainLoop`` draws and drops the
batches already trained on, so the data order and the dataloader workers' augmentation draws come
back), but it re-seeds the global random generators instead of restoring them: whatever draws
from them between batches (data augmentation with ``num_workers=0``, dropout, random samplers of
two-stage detectors, ...) continues differently than without the interruption.
:class:`ResumableCheckpointHook` saves the Python / numpy / torch (/ CUDA) generator states of
every rank in the checkpoint and restores them right after the replay, before the next batch is
drawn; it also keeps validation from consuming the training's random streams.
"""
import glob
import os
import os.path as osp
import random
import re
import uuid
from contextlib import ExitStack, suppress
from typing import List, Optional, Union

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_gather_object, get_rank, get_world_size, is_main_process
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from .safe_checkpoint import checkpoint_loading_for, from_plain, to_plain

RNG_KEY = 'rng_states'
ATOMIC_BACKEND = 'atomic_local'
_TMP_MARK = '.tmp-'

# ------------------------------------------------------------------------------------------------
# atomic writing


def _temp_path(path: str) -> str:
    """A fresh hidden name beside ``path`` that names the writing process:
    ``.<name>.tmp-<pid>-<random>``."""
    folder, name = osp.split(path)
    return osp.join(folder, f'.{name}{_TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}')


def atomic_write(path: Union[str, os.PathLike],
                 data: Union[bytes, str],
                 encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen partly written: into a temporary
    file of the same folder, flushed and fsync'ed, then ``os.replace``d over ``path``. A crash
    leaves at most the temporary file (see :func:`remove_stale_temp_files`)."""
    path = os.fspath(path)
    folder = osp.dirname(path) or '.'
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode(encoding)
    tmp = _temp_path(path)
    try:
        with open(tmp, 'xb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    with suppress(OSError):  # make the rename itself durable (not supported everywhere)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temp_files(folder: str) -> List[str]:
    """Remove the temporary files :func:`atomic_write` left in ``folder`` when its process was
    killed (those whose writing process no longer runs). Returns their paths."""
    removed = []
    pattern = re.compile(r'\.tmp-(\d+)-[0-9a-f]{8}$')
    for path in glob.glob(osp.join(glob.escape(folder), f'.*{_TMP_MARK}*')):
        match = pattern.search(path)
        if match is None or _process_alive(int(match.group(1))):
            continue
        with suppress(OSError):
            os.unlink(path)
            removed.append(path)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes (``put``, ``put_text``) are atomic
    (:func:`atomic_write`). Registered as ``'atomic_local'``: used where ``backend_args`` name it,
    as :class:`ResumableCheckpointHook` does for a local ``out_dir``."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj, encoding=encoding)


# mmengine's save_checkpoint() ends in get_file_backend(path, backend_args).put(bytes, path).
register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)

# ------------------------------------------------------------------------------------------------
# random generator states


def get_rng_states() -> dict:
    """The states of Python's, numpy's and torch's global generators (and CUDA's when used)."""
    states = dict(
        python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Restore states of :func:`get_rng_states` (tensors may come back mapped to a GPU)."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'].cpu())
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states['cuda']])


class _RestoreAfterReplay:
    """Stands in for ``IterBasedTrainLoop.dataloader_iterator`` while the loop replays the
    ``skip`` batches already trained on; before drawing the next batch it restores the saved
    generator states and puts the loop's own iterator back."""

    def __init__(self, loop, skip: int, states: dict) -> None:
        self.loop, self.left, self.states = loop, skip, states
        self.inner = loop.dataloader_iterator

    def __iter__(self):
        return self

    def __next__(self):
        if self.left == 0:
            set_rng_states(self.states)
            self.loop.dataloader_iterator = self.inner
        else:
            self.left -= 1
        return next(self.inner)


# ------------------------------------------------------------------------------------------------
# the hook


@HOOKS.register_module()
class ResumableCheckpointHook(CheckpointHook):
    """mmengine's :class:`~mmengine.hooks.CheckpointHook` (same arguments) whose checkpoints
    load safely, survive a kill and resume exactly.

    - Checkpoints hold tensors and plain Python types only (resume state included, see
      :mod:`mmrock.utils.safe_checkpoint`): they load with ``torch.load(weights_only=True)``.
      During the run, mmengine loads local checkpoints (``load_from``, ``resume``) with
      ``weights_only=True``, or with full unpickling when the config sets
      ``allow_pickled_checkpoints = True`` (only for files you trust).
    - Checkpoint files and ``last_checkpoint`` are written atomically (:func:`atomic_write`);
      ``last_checkpoint`` is updated once the new checkpoint is complete, and with
      ``max_keep_ckpts`` the oldest checkpoint is removed only after that (mmengine removes it
      first: a kill during the save then left no complete checkpoint to resume from).
      Temporary files of killed writers are removed when training starts.
    - Each checkpoint holds the generator states of every rank (``rng_states``); resuming
      restores them right after the loop's replay of the trained batches, so training continues
      as if never stopped (same config, same seed, same number of ranks). In distributed runs,
      checkpoints written outside the iteration-based saving (per epoch, best) hold rank 0's
      states only and are resumed re-seeded, as by mmengine.
    - Validation runs on a copy of the generator states: training draws the same numbers whether
      or not (and how often) it validates.

    Its priority is the lowest, below mmengine's ``'VERY_LOW'``: it converts the checkpoint to
    plain types after every other hook has added its part.
    """
    priority = 'LOWEST'

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._gathered: Optional[list] = None  # all ranks' states at this save (distributed)
        self._outside_val: Optional[dict] = None  # the training's states while validating
        self._resumed: Optional[dict] = None  # iter, states, seed of the loaded checkpoint
        self._loading = ExitStack()  # the run's checkpoint loader (before_run)

    # -- loading
    def before_run(self, runner) -> None:
        self._loading.enter_context(checkpoint_loading_for(runner.cfg, runner.logger.warning))

    def after_run(self, runner) -> None:
        self._loading.close()

    # -- writing
    def before_train(self, runner) -> None:
        out_dir = self.out_dir or runner.work_dir
        if self.backend_args is None and self.file_client_args is None \
                and '://' not in str(out_dir):
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        super().before_train(runner)
        if is_main_process() and osp.isdir(self.out_dir):
            for path in remove_stale_temp_files(self.out_dir):
                runner.logger.warning(f'Removed {path}, left by a process killed while writing '
                                      'a checkpoint')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if get_world_size() > 1 and self._saves_at(runner):
            # the checkpoint is written by rank 0 alone: collect every rank's states first
            self._gathered = all_gather_object(get_rng_states())
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        self._gathered = None

    def _saves_at(self, runner) -> bool:
        """Whether :meth:`after_train_iter` saves now (mmengine's condition)."""
        return not self.by_epoch and (self.every_n_train_iters(runner, self.interval,
                                                               self.save_begin) or
                                      (self.save_last and self.is_last_train_iter(runner)))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states = self._outside_val or get_rng_states()
        checkpoint[RNG_KEY] = dict(
            iter=checkpoint['meta']['iter'], ranks=self._gathered or [states])
        unsupported = []
        checkpoint.update(to_plain(checkpoint, unsupported=unsupported))
        if unsupported:
            runner.logger.warning(
                'This checkpoint will need `allow_pickled_checkpoints = True` to load: ' +
                ', '.join(f'{path} is a {kind}' for path, kind in unsupported))

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """mmengine 0.10.7's, reordered: save, point ``last_checkpoint`` at it, then prune."""
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in stale:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed checkpoints are folders
                self.file_backend.rmtree(path)

    # -- resuming
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.update(from_plain(checkpoint))
        saved = checkpoint.get(RNG_KEY)
        if saved is None:
            return
        ranks = saved['ranks']
        if len(ranks) != get_world_size():
            runner.logger.warning(
                f'The checkpoint holds the random states of {len(ranks)} rank(s), this run has '
                f'{get_world_size()}: they are not restored (training continues re-seeded)')
            return
        self._resumed = dict(
            iter=saved['iter'], states=ranks[get_rank()], seed=checkpoint['meta'].get('seed'))

    def before_train_epoch(self, runner) -> None:
        resumed, self._resumed = self._resumed, None
        if resumed is None or resumed['iter'] != runner.iter:  # loaded, not resumed
            return
        sampler_seed = getattr(runner.train_dataloader.sampler, 'seed', None)
        if None not in (sampler_seed, resumed['seed']) and sampler_seed != resumed['seed']:
            # mmengine seeds the sampler before it reads the checkpoint's seed
            runner.logger.warning(
                f'The train sampler is seeded with {sampler_seed}, the interrupted run used '
                f"{resumed['seed']}: the data order after resuming differs from that run's. "
                'Set `randomness = dict(seed=...)` in the config to resume exactly.')
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):  # IterBasedTrainLoop: replays runner.iter batches
            loop.dataloader_iterator = _RestoreAfterReplay(loop, runner.iter, resumed['states'])
        else:
            set_rng_states(resumed['states'])
        runner.logger.info('The random generator states of iteration '
                           f'{runner.iter} are restored before the next batch is drawn')

    # -- validation
    def before_val(self, runner) -> None:
        self._outside_val = get_rng_states()

    def after_val(self, runner) -> None:
        if self._outside_val is not None:
            set_rng_states(self._outside_val)
            self._outside_val = None
