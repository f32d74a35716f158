"""Resume on torch >= 2.6: ``torch.load`` then defaults to ``weights_only=True``, which refuses the
Python objects an mmengine checkpoint holds (message-hub ``HistoryBuffer``s, whose pickle uses
``getattr``, numpy arrays, scheduler counters), so mmengine 0.10.7's ``--resume`` fails.
Allow-listing cannot fix it safely (``getattr`` would open the unpickler), so local checkpoint files
are loaded as with torch < 2.6. Like any pickle: load only checkpoints you trust."""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_local_checkpoint(filename: str, map_location=None) -> dict:
    """Load a local mmengine checkpoint (replaces mmengine's loader for paths without a scheme)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)
