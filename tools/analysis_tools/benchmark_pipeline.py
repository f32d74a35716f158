#!/usr/bin/env python
"""Throughput of a config's data pipeline alone, per worker process, with a per-transform profile.

    python tools/analysis_tools/benchmark_pipeline.py CONFIG [--num-images N] [--workers K ...] \
        [--split train|test] [--synthetic-images N] [--synthetic-dir DIR] [--out results.json] \
        [--markdown FILE] [--baseline CONFIG2 [--rounds N]] \
        [--cfg-options train_dataloader.dataset.data_root=data/nyuv2/]

Reads the config's dataset (images, depth, normals from disk, the full augmentation chain).
Without its annotation file (no NYUv2 converted yet) a synthetic NYUv2 is generated and used
(packed too for a packed config). A missing data file (a pack not written...) exits with status 1
and one line naming it.
Also prints how many workers reach --target img/s (default 400) at the measured rate. Times are
wall-clock and CPU time of the process (the latter less sensitive to a loaded machine). With
--baseline, both configs' pipelines are first profiled alternately on the same data.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock.benchmark.cli import add_output_args, command_line, write_outputs
from mmrock.benchmark.env_info import environment
from mmrock.benchmark.pipeline_bench import pipeline_markdown, run_pipeline_benchmark
from mmrock_data.converters.errors import DataFormatError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('--num-images', type=int, default=50, help='timed samples per run')
    p.add_argument(
        '--workers',
        type=int,
        nargs='+',
        default=[0, 1, 2],
        help='DataLoader worker counts to time (0 = in the main process)')
    p.add_argument('--split', choices=['train', 'val', 'test'], default='train')
    p.add_argument(
        '--synthetic-images',
        type=int,
        default=48,
        help='size of the synthetic NYUv2 generated when the data is missing')
    p.add_argument(
        '--synthetic-dir',
        help='where to generate it (default '
        'work_dirs/benchmark_pipeline_data)')
    p.add_argument('--target', type=float, default=400., help='img/s to size the workers for')
    p.add_argument(
        '--baseline',
        help='a second config whose pipeline is profiled too, '
        'alternating with CONFIG in this process (ratio of img/s)')
    p.add_argument('--rounds', type=int, default=3, help='alternating rounds with --baseline')
    add_output_args(
        p, 'override config settings, key=value, e.g. '
        'train_dataloader.dataset.data_root=data/nyuv2/')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        result = run_pipeline_benchmark(
            args.config,
            split=args.split,
            num_images=args.num_images,
            workers=args.workers,
            cfg_options=args.cfg_options,
            synthetic_dir=args.synthetic_dir,
            synthetic_images=args.synthetic_images,
            target_img_per_s=args.target,
            baseline=args.baseline,
            rounds=args.rounds)
    except DataFormatError as exc:  # e.g. a packed config whose pack was not written
        print(f'error: {exc}', file=sys.stderr)
        return 1
    result['environment'] = environment('cpu')
    result['command'] = command_line('tools/analysis_tools/benchmark_pipeline.py', argv)
    write_outputs(result, pipeline_markdown(result), args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
