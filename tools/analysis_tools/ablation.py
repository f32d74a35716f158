#!/usr/bin/env python
"""Train each config with each seed on one dataset, test each, and summarise (mean ± std, and
paired differences with 95 % confidence intervals).

    python tools/analysis_tools/ablation.py CONFIG [CONFIG ...] [--seeds 3] [--out DIR] \
        [--data-root data/synthetic_nyuv2] [--pairs A:B ...] [--schedule-from curves.json] \
        [--cfg-options KEY=VALUE ...]

Without CONFIG: the default set at demo scale (SSD, flat MTL, ROCK, ROCK with each single task;
`make ablation`). Writes DIR/ablation.md (table), DIR/ablation.json (summary and every run's
metrics) and DIR/ablation.png (bar chart). Runs already finished in DIR are not redone, an
interrupted one resumes from its last checkpoint: call it again with the same arguments.
Details: mmrock/engine/ablation.py.
"""
import argparse
import os.path as osp
import sys
from pathlib import Path

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock.engine.ablation import (DEFAULT_CONFIGS, AblationError, data_root_options, plan,
                                    run_all, write_report)
from mmrock.engine.learning_curves import schedule_options


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument(
        'configs',
        nargs='*',
        default=list(DEFAULT_CONFIGS),
        help='configs to compare (default: the demo-scale set)')
    p.add_argument('--seeds', type=int, default=3, help='seeds 0..N-1 per config (default 3)')
    p.add_argument('--out', default='work_dirs/ablation', help='output folder')
    p.add_argument('--data-root', help='a converted NYUv2-format folder for every config')
    p.add_argument(
        '--pairs',
        nargs='+',
        metavar='A:B',
        help='config names (file names without .py) compared seed by seed as A - B '
        '(default: each config against each earlier one when there are at most '
        'five, else against the first)')
    p.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='runs side by side, the CPU cores shared out (default 1)')
    p.add_argument(
        '--schedule-from',
        metavar='CURVES_JSON',
        help="train every run on the schedule of learning_curves.py's plateau "
        '(its curves.json)')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='config overrides for every run, passed on to tools/train.py and test.py')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.seeds < 1:
        print('error: --seeds must be >= 1', file=sys.stderr)
        return 1
    missing = [c for c in args.configs if not osp.isfile(c)]
    if missing:
        print(f'error: config not found: {missing[0]}', file=sys.stderr)
        return 1
    configs = [osp.abspath(c) for c in args.configs]
    names = [osp.splitext(osp.basename(c))[0] for c in configs]
    pairs = None
    if args.pairs:
        pairs = [tuple(pair.split(':', 1)) for pair in args.pairs]
        wrong = [
            p for p, pair in zip(args.pairs, pairs) if len(pair) != 2 or not set(pair) <= set(names)
        ]
        if wrong:
            print(
                f'error: --pairs {wrong[0]}: give A:B with A and B among the configs\' '
                f'names {names}',
                file=sys.stderr)
            return 1
    runs = plan(configs, range(args.seeds), Path(args.out))
    try:
        schedule = schedule_options(args.schedule_from) if args.schedule_from else []
        options = {
            c: (data_root_options(c, args.data_root) if args.data_root else []) + schedule +
            args.cfg_options
            for c in configs
        }
        results = run_all(runs, options, jobs=args.jobs)
    except AblationError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    paths = write_report(results, Path(args.out), pairs)
    print(paths['markdown'].read_text())
    print('Written: ' + ', '.join(str(p) for p in paths.values()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
