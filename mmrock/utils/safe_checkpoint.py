"""Checkpoints that load with ``torch.load(weights_only=True)``, and an explicit opt-in for the
ones that do not.

torch >= 2.6 loads with ``weights_only=True``: only tensors and plain Python containers are
unpickled, so a checkpoint cannot run code hidden in it. mmengine's resume state breaks that
rule: the message hub holds ``HistoryBuffer`` objects (whose pickle calls ``getattr``) and the
random generator states hold numpy arrays. :func:`to_plain` rewrites such objects into tagged
dicts of plain types when a checkpoint is saved and :func:`from_plain` rebuilds them when it is
loaded (both called by :class:`~mmrock.engine.hooks.ResumableCheckpointHook`), so mmrock's
checkpoints, resume state included, load with mmengine's stock loader, which keeps torch's
default.

Loading anything else that needs full unpickling (an mmengine training checkpoint saved without
mmrock, a file from elsewhere) is refused unless the config sets
``allow_pickled_checkpoints = True`` (or a script wraps its loading in
:func:`pickled_checkpoint_loading`): full unpickling runs whatever code the file carries, so do
it only for files whose origin you trust.
"""
import logging
import os.path as osp
from collections import Counter, OrderedDict
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Callable, Iterator, List, Optional, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader

TAG = '__mmrock_plain__'
ALLOW_PICKLE_KEY = 'allow_pickled_checkpoints'
_TORCH_LEAVES = (torch.Tensor, torch.Size, torch.device, torch.dtype)
# exact types: a subclass (an IntEnum, a namedtuple) pickles as a reference to its class
_PYTHON_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None))
_CONTAINERS = (dict, OrderedDict, Counter, list, tuple, set)


class PickledCheckpointError(RuntimeError):
    """A checkpoint needs full unpickling and nothing opted in; the message is one line."""


def _encode_array(array: np.ndarray) -> dict:
    array = np.ascontiguousarray(array)
    return {
        TAG: 'ndarray',
        'dtype': array.dtype.str,
        'shape': list(array.shape),
        'data': array.tobytes()
    }


def _decode_array(tagged: dict) -> np.ndarray:
    return np.frombuffer(
        tagged['data'], dtype=np.dtype(tagged['dtype'])).reshape(tagged['shape']).copy()


def _map_dict(obj: dict, fn) -> dict:
    """A dict of ``obj``'s type (dict, OrderedDict, Counter...) with values ``fn(key, value)``
    (set one by one: a Counter built from pairs would count them)."""
    out = type(obj)()
    for key, value in obj.items():
        out[key] = fn(key, value)
    return out


def to_plain(obj: Any,
             path: str = 'checkpoint',
             unsupported: Optional[List[Tuple[str, str]]] = None):
    """A copy that ``torch.load(weights_only=True)`` accepts: ``HistoryBuffer`` and numpy arrays
    become tagged dicts (:func:`from_plain` rebuilds them), numpy scalars Python numbers;
    tensors and plain containers are kept.

    Args:
        obj (Any): The object (a checkpoint dict, or a part of it).
        path (str): Its path in the checkpoint, for ``unsupported``. Defaults to 'checkpoint'.
        unsupported (list[tuple[str, str]], optional): Objects of any other type are kept as
            they are and their ``(path, type name)`` appended here. Defaults to None.

    Returns:
        Any: The copy.
    """
    unsupported = [] if unsupported is None else unsupported
    if isinstance(obj, HistoryBuffer):
        return {
            TAG: 'HistoryBuffer',
            'log_history': _encode_array(obj._log_history),
            'count_history': _encode_array(obj._count_history),
            'max_length': int(obj.max_length)
        }
    if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
        return _encode_array(obj)
    if isinstance(obj, np.generic) and not isinstance(obj, np.object_):
        return obj.item()
    if isinstance(obj, _TORCH_LEAVES) or type(obj) in _PYTHON_LEAVES:
        return obj
    if type(obj) in _CONTAINERS:
        if isinstance(obj, dict):
            return _map_dict(obj, lambda k, v: to_plain(v, f'{path}.{k}', unsupported))
        return type(obj)(to_plain(v, f'{path}[{i}]', unsupported) for i, v in enumerate(obj))
    unsupported.append((path, type(obj).__name__))
    return obj


def from_plain(obj: Any):
    """Inverse of :func:`to_plain`: tagged dicts back into ``HistoryBuffer`` / numpy arrays.

    Args:
        obj (Any): A loaded checkpoint, or a part of it.

    Returns:
        Any: The rebuilt object.
    """
    if isinstance(obj, dict):
        kind = obj.get(TAG)
        if kind == 'ndarray':
            return _decode_array(obj)
        if kind == 'HistoryBuffer':
            return HistoryBuffer(
                _decode_array(obj['log_history']), _decode_array(obj['count_history']),
                obj['max_length'])
        return _map_dict(obj, lambda k, v: from_plain(v))
    if type(obj) in (list, tuple, set):
        return type(obj)(from_plain(v) for v in obj)
    return obj


def _load_unpickled(filename: str, map_location=None) -> dict:
    """mmengine's local-file loader with full unpickling (``weights_only=False``)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def _load_weights_only(filename: str, map_location=None) -> dict:
    """mmengine's local-file loader (``weights_only=True``) whose refusal names the opt-in."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises pickle.UnpicklingError (or RuntimeError)
        if 'weights_only' not in str(error) and 'Weights only' not in str(error):
            raise
        raise PickledCheckpointError(
            f'{filename} holds Python objects beyond tensors and plain containers, so loading '
            'it unpickles code that could run anything. If you trust its origin, set '
            f'`{ALLOW_PICKLE_KEY} = True` in the config (tools: --cfg-options '
            f'{ALLOW_PICKLE_KEY}=True; scripts: `with '
            'mmrock.utils.pickled_checkpoint_loading():`).') from None


@contextmanager
def _local_checkpoint_loader(loader) -> Iterator[None]:
    """mmengine's loader of local paths (scheme '') replaced by ``loader`` within the block."""
    schemes = CheckpointLoader._schemes
    previous = schemes.get('')
    schemes[''] = loader
    try:
        yield
    finally:
        if previous is None:
            del schemes['']
        else:
            schemes[''] = previous


def pickled_checkpoint_loading() -> Iterator[None]:
    """Within the block, mmengine loads local checkpoint files with full unpickling
    (``weights_only=False``). Only for files whose origin you trust.

    Returns:
        AbstractContextManager: The context manager.
    """
    return _local_checkpoint_loader(_load_unpickled)


def weights_only_loading() -> Iterator[None]:
    """Within the block, mmengine loads local checkpoint files with ``weights_only=True`` (its
    default under torch >= 2.6) and a refusal names the opt-in (``allow_pickled_checkpoints``).

    Returns:
        AbstractContextManager: The context manager.
    """
    return _local_checkpoint_loader(_load_weights_only)


def checkpoint_loading_for(cfg,
                           warn: Optional[Callable[[str], None]] = None) -> AbstractContextManager:
    """The loader of local checkpoints for a run of a config (a tool, a runner, an inferencer):
    full unpickling when it sets ``allow_pickled_checkpoints = True``, else ``weights_only=True``
    with a refusal naming the opt-in. Inside a block that already unpickles
    (:func:`pickled_checkpoint_loading`, a script's opt-in), it keeps that loader.

    Args:
        cfg (Config | dict): The config.
        warn (Callable[[str], None], optional): Gets one line when full unpickling is on.
            Defaults to None (a warning of the current logger).

    Returns:
        AbstractContextManager: The context manager.
    """
    if CheckpointLoader._schemes.get('') is _load_unpickled:
        return nullcontext()
    if cfg.get(ALLOW_PICKLE_KEY, False):
        message = (f'{ALLOW_PICKLE_KEY}=True: local checkpoints are loaded with full '
                   'unpickling, which runs any code they carry')
        if warn is None:
            print_log(message, logger='current', level=logging.WARNING)
        else:
            warn(message)
        return pickled_checkpoint_loading()
    return weights_only_loading()
