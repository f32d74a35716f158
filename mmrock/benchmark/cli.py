"""What the benchmark tools share: output options, the command line recorded, the output files."""
import argparse
import shlex
import sys
from typing import Optional, Sequence

from mmengine.config import DictAction

from .report import write_json


def add_output_args(parser: argparse.ArgumentParser, cfg_options_help: str) -> None:
    """Add ``--out``, ``--markdown`` and ``--cfg-options`` to a benchmark tool's parser.

    Args:
        parser (argparse.ArgumentParser): The tool's parser, edited in place.
        cfg_options_help (str): Help of ``--cfg-options``.
    """
    parser.add_argument('--out', help='JSON results file')
    parser.add_argument('--markdown', help='markdown results file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=cfg_options_help)


def command_line(tool: str, argv: Optional[Sequence[str]] = None) -> str:
    """The command line of a tool, as run.

    Args:
        tool (str): The tool's path.
        argv (Sequence[str], optional): Its arguments when called from Python. Defaults to
            None (``sys.argv``).

    Returns:
        str: ``python <tool> <arguments>``, shell-quoted.
    """
    args = sys.argv[1:] if argv is None else argv
    return ' '.join(shlex.quote(a) for a in ['python', tool, *args])


def write_outputs(result: dict, markdown: str, args: argparse.Namespace) -> None:
    """Print the markdown, write ``--out`` (JSON) and ``--markdown`` when given.

    Args:
        result (dict): The results, for ``--out``.
        markdown (str): The summary.
        args (argparse.Namespace): The tool's arguments (``out``, ``markdown``).
    """
    print(markdown)
    if args.out:
        write_json(result, args.out)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(markdown)
