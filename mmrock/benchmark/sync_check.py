"""Find the host-device synchronisation points of a piece of code, on CPU.

``torch.cuda.set_sync_debug_mode`` needs a GPU. Without one, the operators that force a CUDA
synchronisation can still be seen: they are the ones that read a device value on the host
(``Tensor.item()``, ``bool(t)``, ``int(t)``, Python ``if t:``: ``aten._local_scalar_dense``)
or whose output size depends on the data (``nonzero``, boolean-mask indexing, ``masked_select``,
``unique``, ``repeat_interleave`` without ``output_size``...), which the GPU must report to the
host before the next allocation. :class:`SyncOpRecorder` intercepts every operator below
autograd (a ``TorchDispatchMode``) and records those, with the innermost source line outside
torch that issued each. Tensors built from Python data (``torch.tensor([...])``,
``aten.lift_fresh``) are recorded too: on a GPU they are a host-to-device copy.
"""
import os.path as osp
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode

SYNC_OPS = {
    '_local_scalar_dense': 'reads a value on the host (item/bool/int/float)',
    'nonzero': 'data-dependent output size',
    'argwhere': 'data-dependent output size',
    'masked_select': 'data-dependent output size',
    '_unique': 'data-dependent output size',
    '_unique2': 'data-dependent output size',
    'unique_dim': 'data-dependent output size',
    'unique_consecutive': 'data-dependent output size',
    'equal': 'reads a value on the host',
    'is_nonzero': 'reads a value on the host',
    'bincount': 'data-dependent output size',
    'histc': 'reads min/max on the host when no range is given',
    'lift_fresh': 'tensor from Python data (a host-to-device copy on a GPU)',
}
_TORCH_DIR = osp.dirname(torch.__file__)


@dataclass
class SyncEvent:
    """One synchronising operator call.

    Args:
        op (str): The operator's name.
        reason (str): Why it synchronises.
        where (str): ``'path:line in function'`` of the innermost frame outside torch.
    """
    op: str
    reason: str
    where: str  # 'path:line in function' of the innermost frame outside torch


def _caller() -> str:
    for frame in reversed(traceback.extract_stack()[:-3]):
        if not frame.filename.startswith(_TORCH_DIR) and frame.filename != __file__:
            return f'{frame.filename}:{frame.lineno} in {frame.name}'
    return '?'


class SyncOpRecorder(TorchDispatchMode):
    """``with SyncOpRecorder() as rec: ...`` then ``rec.events``: the synchronising operators run
    inside the block (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: List[SyncEvent] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        """Record the call when it synchronises, then run it."""
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        reason = SYNC_OPS.get(name)
        if reason is None and name == 'repeat_interleave' and kwargs.get('output_size') is None \
                and args and isinstance(args[0], torch.Tensor) and len(args) < 3:
            reason = 'data-dependent output size (no output_size)'
        if reason is None and name in ('index', 'index_put', 'index_put_'):
            indices = args[1] if len(args) > 1 else kwargs.get('indices', ())
            if any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices or ()):
                reason = 'boolean-mask indexing: data-dependent output size'
        if reason is not None:
            self.events.append(SyncEvent(name, reason, _caller()))
        return func(*args, **kwargs)

    def summary(self, only_under: Optional[Sequence[str]] = None) -> Counter:
        """Counts of the recorded events.

        Args:
            only_under (Sequence[str], optional): Keep only events whose source file is under
                these folders. Defaults to None (all).

        Returns:
            Counter: ``{(op, where): count}``.
        """
        events = self.events
        if only_under is not None:
            dirs = tuple(osp.abspath(d) for d in only_under)
            events = [e for e in events if osp.abspath(e.where.split(':')[0]).startswith(dirs)]
        return Counter((e.op, e.where) for e in events)
