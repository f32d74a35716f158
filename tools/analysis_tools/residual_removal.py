#!/usr/bin/env python
"""Test a ROCK checkpoint with each auxiliary task's residual removed (one at a time, then all):
how much does the detector rely on its auxiliary features?

    python tools/analysis_tools/residual_removal.py CONFIG CHECKPOINT \
        [--work-dir work_dirs/residual_removal] [--cfg-options KEY=VALUE ...]

Writes WORK_DIR/residual_removal.{md,json}; with every residual removed the detector sees the
backbone's unrefined features exactly. Details: mmrock/engine/residual_removal.py.
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import Path

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock.engine.ablation import AblationError
from mmrock.engine.residual_removal import run_variants, to_markdown


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--work-dir', default='work_dirs/residual_removal')
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    args = p.parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            print(f'error: {path}: no such file', file=sys.stderr)
            return 1
    work_dir = Path(args.work_dir).resolve()
    try:
        results = run_variants(
            osp.abspath(args.config), osp.abspath(args.checkpoint), work_dir, args.cfg_options)
    except AblationError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    table = to_markdown(results)
    (work_dir / 'residual_removal.md').write_text(table)
    (work_dir / 'residual_removal.json').write_text(json.dumps(results, indent=2))
    print(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
