"""All-or-nothing output folders of the converters: written in a sibling temporary folder that
replaces ``out`` only once complete, removed on any failure (SIGTERM included)."""
import os
import os.path as osp
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

from .errors import ConversionError


def absolute_out_dir(out_dir, overwrite: bool) -> str:
    """An output folder as an absolute path, checked before any input is read.

    Args:
        out_dir (str | os.PathLike): The output folder.
        overwrite (bool): Whether an existing one may be replaced.

    Returns:
        str: The absolute path.

    Raises:
        ConversionError: It exists and not ``overwrite``.
    """
    out = osp.abspath(os.fspath(out_dir)).rstrip(os.sep)
    if osp.lexists(out) and not overwrite:
        raise ConversionError(f'{out}: exists already (pass --overwrite to replace it)')
    return out


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM (``kill``, ``timeout``, a job scheduler's stop) raises
    ``SystemExit(143)`` in the main thread instead of ending the process on the spot, so that
    the cleanup of the enclosing blocks runs. The previous handler is restored after. Nothing
    changes off the main thread (where Python cannot set handlers).

    Yields:
        None
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _replace_dir(tmp: str, out: str, overwrite: bool) -> None:
    old = None
    if osp.lexists(out):
        if not overwrite:
            raise ConversionError(f'{out}: exists already (pass --overwrite to replace it)')
        if osp.isdir(out) and not osp.islink(out):
            old = tempfile.mkdtemp(prefix=osp.basename(out) + '.old-', dir=osp.dirname(out))
            os.rmdir(old)
            os.rename(out, old)
        else:
            os.unlink(out)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_output_dir(out: str, subdirs: Sequence[str], overwrite: bool) -> Iterator[str]:
    """A temporary folder ``<out>.tmp-XXXX`` next to ``out`` that replaces ``out`` when the block
    ends normally and is removed when it raises or the process gets SIGTERM
    (:func:`sigterm_raises`).

    Args:
        out (str): The output folder (absolute, :func:`absolute_out_dir`).
        subdirs (Sequence[str]): Subfolders made in the temporary folder.
        overwrite (bool): Whether an existing ``out`` may be replaced.

    Yields:
        str: The temporary folder.

    Raises:
        ConversionError: An ``OSError`` while writing, naming ``out``.
    """
    parent = osp.dirname(out) or '.'
    with sigterm_raises():
        try:
            os.makedirs(parent, exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=osp.basename(out) + '.tmp-', dir=parent)
        except OSError as exc:
            raise ConversionError(f'{out}: cannot create the output folder ({exc})')
        try:
            for sub in subdirs:
                os.mkdir(osp.join(tmp, sub))
            yield tmp
            _replace_dir(tmp, out, overwrite)
        except OSError as exc:  # reading errors are DataFormatErrors: this is writing
            shutil.rmtree(tmp, ignore_errors=True)
            raise ConversionError(f'{out}: cannot write ({exc})') from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def add_output_args(parser, example: str) -> None:
    """Add the converters' output flags: ``--out``, ``--overwrite``, ``--no-progress``.

    Args:
        parser (argparse.ArgumentParser): The converter's parser, edited in place.
        example (str): An example ``--out``, for the help.
    """
    parser.add_argument('--out', required=True, help=f'output folder, e.g. {example}')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
