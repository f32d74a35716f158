from .checkpoint import (AtomicLocalBackend, ResumableCheckpointHook, atomic_write,
                         get_rng_states, load_local_checkpoint, remove_stale_temp_files,
                         set_rng_states)

__all__ = ['AtomicLocalBackend', 'ResumableCheckpointHook', 'atomic_write', 'get_rng_states',
           'load_local_checkpoint', 'remove_stale_temp_files', 'set_rng_states']
