#!/usr/bin/env python
"""Learning curves on the val split, and the iteration at which the baseline's val mAP@0.5 has
plateaued (the schedule for an ablation).

    python tools/analysis_tools/learning_curves.py CONFIG [CONFIG ...] --data-root DIR \
        [--max-iters 4000] [--val-interval 200] [--baseline NAME] [--window 3] \
        [--tolerance 1.0] [--seed 0] [--jobs 1] [--out DIR] [--cfg-options KEY=VALUE ...]

DIR must hold a val split (annotations/nyuv2_val.json: convert with --val-split). Writes
OUT/curves.{json,md,png}; the json names the rule, the plateau and the schedule it gives.
Calling it again continues interrupted trainings, and finished ones given a larger --max-iters.
Details: mmrock/engine/learning_curves.py.
"""
import argparse
import os.path as osp
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock.engine.ablation import AblationError, threads_per_job
from mmrock.engine.learning_curves import curve_options, read_curves, report, run_curve


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('configs', nargs='+', help='configs (the first is the baseline by default)')
    p.add_argument('--data-root', required=True, help='converted data with a val split')
    p.add_argument('--max-iters', type=int, default=4000)
    p.add_argument('--val-interval', type=int, default=200)
    p.add_argument('--baseline', help='config name whose plateau sets the schedule')
    p.add_argument('--window', type=int, default=3, help='validations in the trailing mean')
    p.add_argument('--tolerance', type=float, default=1.0, help='points of val mAP@0.5')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='work_dirs/learning_curves')
    p.add_argument('--only', help='train only this config name now (others: read if there)')
    p.add_argument(
        '--report-only',
        action='store_true',
        help='train nothing: write the curves of what has been trained so far')
    p.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='trainings side by side, the CPU cores shared out (default 1)')
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    missing = [c for c in args.configs if not osp.isfile(c)]
    if missing:
        print(f'error: config not found: {missing[0]}', file=sys.stderr)
        return 1
    names = [osp.splitext(osp.basename(c))[0] for c in args.configs]
    baseline = args.baseline or names[0]
    for flag, name in (('--baseline', baseline), ('--only', args.only)):
        if name is not None and name not in names:
            print(f'error: {flag} {name} is not among the configs {names}', file=sys.stderr)
            return 1
    work_dirs = {name: Path(args.out).resolve() / name / f'seed{args.seed}' for name in names}
    threads = threads_per_job(args.jobs)

    def train(config_and_name):
        config, name = config_and_name
        options = curve_options(
            osp.abspath(config), osp.abspath(args.data_root), args.max_iters, args.val_interval,
            args.seed) + args.cfg_options
        print(
            f'{name}: training to {args.max_iters} iterations in {work_dirs[name]} ...', flush=True)
        run_curve(osp.abspath(config), work_dirs[name], options, args.max_iters, threads)
        print(f'{name}: done', flush=True)

    todo = [(c, n) for c, n in zip(args.configs, names)
            if args.only in (None, n) and not args.report_only]
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(train, todo))
    except AblationError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    curves = {name: read_curves(work_dirs[name]) for name in names}
    result = report(curves, baseline, args.window, args.tolerance, Path(args.out), args.max_iters)
    print(Path(args.out, 'curves.md').read_text())
    print(f'plateau: {result["plateau_iter"]}; written: {args.out}/curves.{{json,md,png}}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
