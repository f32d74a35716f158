from .checkpoint import (AtomicLocalBackend, atomic_write, get_rng_states, remove_stale_temp_files,
                         set_rng_states)
from .safe_checkpoint import (PickledCheckpointError, checkpoint_loading_for, from_plain,
                              pickled_checkpoint_loading, to_plain, weights_only_loading)

__all__ = [
    'AtomicLocalBackend', 'PickledCheckpointError', 'atomic_write', 'checkpoint_loading_for',
    'from_plain', 'get_rng_states', 'pickled_checkpoint_loading', 'remove_stale_temp_files',
    'set_rng_states', 'to_plain', 'weights_only_loading'
]
