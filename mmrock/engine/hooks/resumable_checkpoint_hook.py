"""mmengine's checkpoint hook whose checkpoints load safely, survive being killed mid-write and
resume exactly.

**Safe loading**: mmengine's resume state (message-hub ``HistoryBuffer``s, numpy arrays of the
random generator states) is saved in plain types and rebuilt on loading
(:mod:`mmrock.utils.safe_checkpoint`), so the checkpoints load with
``torch.load(weights_only=True)``, torch's default, through mmengine's stock loader. Other files
that need full unpickling are refused unless the config opts in
(``allow_pickled_checkpoints = True``): see ``docs/design.md``, "Checkpoints".

**Surviving a kill**: checkpoints are written atomically
(:class:`~mmrock.utils.AtomicLocalBackend`), the oldest one is removed only once the new one is
saved, and a ``last_checkpoint`` pointer left empty or cut by a kill is repaired before resuming.

**Exact resume**: mmengine restores the weights, the optimizer, the schedulers, the message hub
and the iteration count, and replays the sampler (``IterBasedTrainLoop`` draws and drops the
batches already trained on, so the data order and the dataloader workers' augmentation draws come
back), but it re-seeds the global random generators instead of restoring them: whatever draws
from them between batches (data augmentation with ``num_workers=0``, dropout, random samplers of
two-stage detectors, ...) continues differently than without the interruption. The hook saves
the Python / numpy / torch (/ CUDA) generator states of every rank in the checkpoint and
restores them right after the replay, before the next batch is drawn; it also keeps validation
from consuming the training's random streams.
"""
import glob
import os
import os.path as osp
import re
from contextlib import ExitStack
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.dist import all_gather_object, barrier, get_rank, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook

from mmrock.utils.checkpoint import (ATOMIC_BACKEND, atomic_write, get_rng_states,
                                     remove_stale_temp_files, set_rng_states)
from mmrock.utils.safe_checkpoint import checkpoint_loading_for, from_plain, to_plain

RNG_KEY = 'rng_states'


class _RestoreAfterReplay:
    """Stands in for ``IterBasedTrainLoop.dataloader_iterator`` while the loop replays the
    batches already trained on; before drawing the next batch it restores the saved generator
    states and puts the loop's own iterator back.

    Args:
        loop (IterBasedTrainLoop): The train loop.
        skip (int): Batches the loop replays.
        states (dict): Generator states of :func:`~mmrock.utils.get_rng_states`.
    """

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


@HOOKS.register_module()
class ResumableCheckpointHook(CheckpointHook):
    """mmengine's :class:`~mmengine.hooks.CheckpointHook` (same arguments) whose checkpoints
    load safely, survive a kill and resume exactly.

    - Checkpoints hold tensors and plain Python types only (resume state included, see
      :mod:`mmrock.utils.safe_checkpoint`): they load with ``torch.load(weights_only=True)``.
      During the run, mmengine loads local checkpoints (``load_from``, ``resume``) with
      ``weights_only=True``, or with full unpickling when the config sets
      ``allow_pickled_checkpoints = True`` (only for files you trust).
    - Checkpoint files are written atomically (:func:`~mmrock.utils.atomic_write`) to a local
      ``out_dir``; with ``max_keep_ckpts`` the oldest checkpoint is removed only once the new one
      and ``last_checkpoint`` are written (mmengine removes it first: a kill during the save then
      left no complete checkpoint to resume from). A ``last_checkpoint`` naming no file (mmengine
      rewrites it in place: a kill meanwhile leaves it empty or cut) is pointed at the newest
      checkpoint when the run starts. Temporary files of killed writers are removed when
      training starts.
    - Each checkpoint holds the generator states of every rank (``rng_states``); resuming
      restores them right after the loop's replay of the trained batches, so training continues
      as if never stopped (same config, same seed, same number of ranks). In distributed runs,
      checkpoints written outside the iteration-based saving (per epoch, best) hold rank 0's
      states only and are resumed re-seeded, as by mmengine.
    - Validation runs on a copy of the generator states: training draws the same numbers whether
      or not (and how often) it validates.

    Its priority is the lowest, below mmengine's ``'VERY_LOW'``: it converts the checkpoint to
    plain types after every other hook has added its part.

    Args:
        max_keep_ckpts (int): The newest checkpoints kept; -1 keeps all. mmengine is given one
            more (its ``max_keep_ckpts`` attribute) and removes none before a save: it removes
            the oldest only when its list is full (``tests/test_engine/test_resume.py`` pins
            this); the extra one goes once the new checkpoint is saved. Defaults to -1.
        *args, **kwargs: The other arguments of :class:`~mmengine.hooks.CheckpointHook`.
    """
    priority = 'LOWEST'

    def __init__(self, *args, max_keep_ckpts: int = -1, **kwargs) -> None:
        super().__init__(
            *args,
            max_keep_ckpts=max_keep_ckpts + 1 if max_keep_ckpts > 0 else max_keep_ckpts,
            **kwargs)
        self.kept_ckpts = max_keep_ckpts
        self._gathered: Optional[list] = None  # all ranks' states at this save (distributed)
        self._outside_val: Optional[dict] = None  # the training's states while validating
        self._resumed: Optional[dict] = None  # iter, states, seed of the loaded checkpoint
        self._loading = ExitStack()  # the run's checkpoint loader (before_run)

    # -- loading
    def before_run(self, runner) -> None:
        """Load checkpoints as the config allows; repair a broken ``last_checkpoint``.

        Args:
            runner (Runner): The runner.
        """
        if is_main_process():
            self._repair_last_checkpoint(runner)
        barrier()  # every rank reads last_checkpoint when resuming
        self._loading.enter_context(checkpoint_loading_for(runner.cfg, runner.logger.warning))

    def after_run(self, runner) -> None:
        """Restore the loader of before the run.

        Args:
            runner (Runner): The runner.
        """
        self._loading.close()

    def _checkpoint_folder(self, runner) -> str:
        """Where the checkpoints go: the work dir, or ``out_dir/<work dir's name>``."""
        if self.out_dir is None or self.out_dir == runner.work_dir:
            return runner.work_dir
        return osp.join(self.out_dir, osp.basename(runner.work_dir.rstrip(osp.sep)))

    def _repair_last_checkpoint(self, runner) -> None:
        """Point a local ``last_checkpoint`` that names no file at the newest checkpoint of the
        checkpoint folder (by the step in ``filename_tmpl``), or remove it if there is none."""
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        folder = self._checkpoint_folder(runner)
        if not osp.isfile(pointer) or '://' in folder:
            return
        with open(pointer) as f:
            named = f.read().strip()
        if named and osp.exists(named):
            return
        step = re.compile(re.escape(self.filename_tmpl).replace(r'\{\}', r'(\d+)') + '$')
        found = {}
        for path in glob.glob(osp.join(glob.escape(folder), self.filename_tmpl.format('*'))):
            match = step.search(osp.basename(path))
            if match:
                found[int(match.group(1))] = path
        if found:
            atomic_write(pointer, found[max(found)])
            runner.logger.warning(f'last_checkpoint named {named!r}, no file: it now names '
                                  f'{found[max(found)]}, the newest checkpoint')
        else:
            os.remove(pointer)
            runner.logger.warning(f'last_checkpoint named {named!r}, no file, and {folder} has '
                                  'no checkpoint: removed')

    # -- writing
    def before_train(self, runner) -> None:
        """Save through the atomic backend to a local folder; remove killed writers' files.

        Args:
            runner (Runner): The runner.
        """
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
        """mmengine's saving, with every rank's generator states; then :meth:`_prune`.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict, optional): The batch.
            outputs (dict, optional): The model's outputs.
        """
        if get_world_size() > 1 and self._saves_at(runner):
            # the checkpoint is written by rank 0 alone: collect every rank's states first
            self._gathered = all_gather_object(get_rng_states())
        last = self.last_ckpt
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        self._gathered = None
        if self.last_ckpt != last:
            self._prune(runner)

    def after_train_epoch(self, runner) -> None:
        """mmengine's saving, then :meth:`_prune`.

        Args:
            runner (Runner): The runner.
        """
        last = self.last_ckpt
        super().after_train_epoch(runner)
        if self.last_ckpt != last:
            self._prune(runner)

    def _saves_at(self, runner) -> bool:
        """Whether :meth:`after_train_iter` saves now (mmengine's condition)."""
        return not self.by_epoch and (self.every_n_train_iters(runner, self.interval,
                                                               self.save_begin) or
                                      (self.save_last and self.is_last_train_iter(runner)))

    def _prune(self, runner) -> None:
        """Once a checkpoint is saved: remove the oldest beyond ``max_keep_ckpts``."""
        if self.kept_ckpts <= 0:
            return
        while len(self.keep_ckpt_ids) > self.kept_ckpts:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))
            if not is_main_process():
                continue
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed checkpoints are folders
                self.file_backend.rmtree(path)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add the generator states; convert the checkpoint to plain types.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The checkpoint about to be saved (changed in place).
        """
        states = self._outside_val or get_rng_states()
        checkpoint[RNG_KEY] = dict(
            iter=checkpoint['meta']['iter'], ranks=self._gathered or [states])
        unsupported = []
        checkpoint.update(to_plain(checkpoint, unsupported=unsupported))
        if unsupported:
            runner.logger.warning(
                'This checkpoint will need `allow_pickled_checkpoints = True` to load: ' +
                ', '.join(f'{path} is a {kind}' for path, kind in unsupported))

    # -- resuming
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rebuild the plain types; keep the saved generator states for :meth:`before_train_epoch`.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The loaded checkpoint (changed in place).
        """
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
        """Restore the generator states of a resumed checkpoint after the loop's replay.

        Args:
            runner (Runner): The runner.
        """
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
        """Save the training's generator states.

        Args:
            runner (Runner): The runner.
        """
        self._outside_val = get_rng_states()

    def after_val(self, runner) -> None:
        """Restore the training's generator states.

        Args:
            runner (Runner): The runner.
        """
        if self._outside_val is not None:
            set_rng_states(self._outside_val)
            self._outside_val = None
