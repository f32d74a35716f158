"""The converters' per-image work, in this process or in worker processes, results in order."""
import os
import signal
from typing import Callable, Iterable, Iterator, Optional, TypeVar

Item = TypeVar('Item')
Result = TypeVar('Result')

_work: Optional[Callable] = None


def _init_worker(work: Callable) -> None:
    global _work
    _work = work
    # the main process cleans up on SIGTERM (output_dir.sigterm_raises); its workers just end
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _call(item):
    return _work(item)


def map_in_order(work: Callable[[Item], Result], items: Iterable[Item],
                 nproc: int) -> Iterator[Result]:
    """``work(item)`` for each of ``items``, in order: in this process (``nproc`` <= 1) or by
    ``nproc`` worker processes, each given ``work`` once (picklable; a few items in flight per
    worker, so memory stays bounded). ``work.close()``, when it has one, is called once this
    process is done with it. Close the iterator (``contextlib.closing``) to stop the workers
    early, e.g. before removing what they write into.

    Args:
        work (Callable[[Item], Result]): The per-item work (picklable for workers).
        items (Iterable[Item]): The items.
        nproc (int): Worker processes (<= 1: this process).

    Yields:
        Result: ``work(item)`` of each item, in order.
    """
    if nproc <= 1:
        try:
            yield from map(work, items)
        finally:
            if hasattr(work, 'close'):
                work.close()
        return
    import multiprocessing
    with multiprocessing.Pool(nproc, _init_worker, (work, )) as pool:
        yield from pool.imap(_call, items, chunksize=2)


def add_nproc_arg(parser) -> None:
    """Add the converters' ``--nproc`` flag (worker processes for :func:`map_in_order`).

    Args:
        parser (argparse.ArgumentParser): The converter's parser, edited in place.
    """
    parser.add_argument(
        '--nproc',
        type=int,
        default=min(4,
                    os.cpu_count() or 1),
        help='worker processes (default: the CPUs, at most 4)')
