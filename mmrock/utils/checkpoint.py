"""Pieces of mmrock's checkpoints: atomic file writes and the global random generators' states.

**Atomic writes**: mmengine writes a checkpoint with ``open(path, 'wb')``: a process killed
(SIGKILL, OOM killer, preemption) meanwhile leaves a truncated file that ``--resume`` could then
pick. :class:`AtomicLocalBackend` (registered as the file backend ``'atomic_local'``; mmengine's
default backend is left alone) writes to a temporary file in the same folder, flushes it to disk
and renames it over the target (``os.replace`` is atomic on POSIX): the target is the old file or
the complete new one, never a mix. :class:`~mmrock.engine.hooks.ResumableCheckpointHook` saves
through it.

**Random states**: :func:`get_rng_states` / :func:`set_rng_states` read and restore the Python,
numpy and torch (and CUDA) generators, which the hook saves in each checkpoint for an exact
resume.
"""
import glob
import os
import os.path as osp
import random
import re
import uuid
from contextlib import suppress
from typing import List, Union

import numpy as np
import torch
from mmengine.fileio.backends import LocalBackend, register_backend

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
    """Write a file so that it is never seen partly written: into a temporary file of the same
    folder, flushed and fsync'ed, then ``os.replace``d over ``path``. A crash leaves at most the
    temporary file (see :func:`remove_stale_temp_files`).

    Args:
        path (str | os.PathLike): The file (its folder is created).
        data (bytes | str): The content.
        encoding (str): Encoding of a str ``data``. Defaults to 'utf-8'.
    """
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
    """Remove the temporary files :func:`atomic_write` left in a folder when its process was
    killed (those whose writing process no longer runs).

    Args:
        folder (str): The folder.

    Returns:
        list[str]: The removed files' paths.
    """
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
    as :class:`ResumableCheckpointHook` does for a local ``out_dir``.
    """

    def put(self, obj: bytes, filepath) -> None:
        """Write bytes atomically.

        Args:
            obj (bytes): The content.
            filepath (str | Path): The file.
        """
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        """Write text atomically.

        Args:
            obj (str): The content.
            filepath (str | Path): The file.
            encoding (str): Its encoding. Defaults to 'utf-8'.
        """
        atomic_write(filepath, obj, encoding=encoding)


# mmengine's save_checkpoint() ends in get_file_backend(path, backend_args).put(bytes, path).
register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)

# ------------------------------------------------------------------------------------------------
# random generator states


def get_rng_states() -> dict:
    """The states of Python's, numpy's and torch's global generators (and CUDA's when used).

    Returns:
        dict: Keys ``python``, ``numpy``, ``torch`` and, when CUDA is initialised, ``cuda``.
    """
    states = dict(
        python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Restore the global generators' states.

    Args:
        states (dict): :func:`get_rng_states`'s output (tensors may come back mapped to a GPU).
    """
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'].cpu())
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states['cuda']])
