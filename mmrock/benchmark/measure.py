"""Timing and peak-memory probes for the benchmarks (CPU and CUDA)."""
import ctypes
import gc
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional

import torch

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def synchronize(device: str) -> None:
    """Wait for the device's queued kernels (no-op on CPU), so that wall-clock time covers them.

    Args:
        device (str): The device (``'cpu'``, ``'cuda:0'``...).
    """
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: str) -> float:
    """Time one call, the device synchronised before the clock starts and before it stops (so
    that the time covers the kernels the call queued).

    Args:
        fn (Callable[[], object]): The call.
        device (str): The device.

    Returns:
        float: Seconds taken.
    """
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def _proc_status_mib(key: str) -> Optional[float]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _glibc() -> Optional[ctypes.CDLL]:
    try:
        return ctypes.CDLL('libc.so.6')
    except OSError:
        return None


def release_freed_memory_to_os() -> bool:
    """Make glibc hand freed tensor memory back to the OS at once (fixed mmap/trim thresholds of
    128 KiB, then ``malloc_trim``), so that the resident set size follows live memory. Done only
    for the (untimed) CPU memory pass: it makes large allocations slower.

    Returns:
        bool: False where not glibc, else True.
    """
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    libc.mallopt(_M_TRIM_THRESHOLD, 128 * 1024)
    libc.malloc_trim(0)
    return True


@contextmanager
def peak_memory(device: str) -> Iterator[Dict[str, Optional[float]]]:
    """Measures the block's peak memory into the yielded dict (MiB):

    - CUDA: ``peak`` = ``torch.cuda.max_memory_allocated`` (weights and optimiser state
      included), ``growth`` = peak minus what was allocated when the block started;
    - CPU (Linux): ``growth`` = the kernel's peak resident set size (VmHWM, reset through
      ``/proc/self/clear_refs``) minus the resident set size at the start; ``peak`` = None.
      Accurate only after :func:`release_freed_memory_to_os`. None where /proc is unavailable.

    Args:
        device (str): The device.

    Yields:
        dict[str, float | None]: ``peak`` and ``growth``, filled when the block ends.
    """
    out: Dict[str, Optional[float]] = dict(peak=None, growth=None)
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        yield out
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
        out.update(peak=peak / 2**20, growth=(peak - start) / 2**20)
        return
    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current RSS
        start = _proc_status_mib('VmRSS')
    except OSError:
        start = None
    yield out
    hwm = _proc_status_mib('VmHWM')
    if start is not None and hwm is not None:
        out['growth'] = hwm - start
