#!/usr/bin/env python
"""Training and inference speed, peak memory, parameters and multiply-adds of detector configs.

    python tools/analysis_tools/benchmark.py CONFIG [CONFIG ...] [--device cpu|cuda] \
        [--batch-size N] [--infer-batch-sizes 1 N] [--amp] [--channels-last] [--iters N] \
        [--warmup N] [--repeats N] [--out results.json] [--markdown results.md]

All configs are measured in one process, interleaved, on synthetic in-memory 480x640 batches
(data loading excluded: see benchmark_pipeline.py), with random weights. Prints the extra time
per image of each config over the baseline (the first config without ROCK, or --baseline).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock.benchmark import BenchSettings, build_report, run_model_benchmark, to_markdown
from mmrock.benchmark.cli import add_output_args, command_line, write_outputs
from mmrock.benchmark.env_info import environment
from mmrock.benchmark.report import overhead_lines


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('configs', nargs='+', help='config files (distinct file names)')
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda[:N]' (default cpu)")
    p.add_argument('--batch-size', type=int, default=2, help='training batch size (default 2)')
    p.add_argument(
        '--infer-batch-sizes',
        type=int,
        nargs='+',
        help='inference batch sizes (default: 1 and --batch-size)')
    p.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        default=(480, 640),
        metavar=('H', 'W'),
        help='image height and width (default 480 640)')
    p.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision (AmpOptimWrapper on '
        'CUDA, bfloat16 autocast on CPU)')
    p.add_argument(
        '--amp-dtype',
        choices=['float16', 'bfloat16'],
        help='autocast dtype (default float16 on CUDA, bfloat16 on CPU)')
    p.add_argument('--channels-last', action='store_true', help='channels_last memory format')
    p.add_argument(
        '--fuse-conv-bn',
        action='store_true',
        help='inference with BatchNorm folded into the convolutions (exact in eval)')
    p.add_argument('--iters', type=int, default=5, help='timed iterations per block (default 5)')
    p.add_argument('--warmup', type=int, default=2, help='untimed iterations before each block')
    p.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='interleaved repeats per config and block; the median is reported')
    p.add_argument(
        '--phases',
        nargs='+',
        default=['train', 'predict', 'tensor'],
        choices=['train', 'predict', 'tensor'],
        help='what to time')
    p.add_argument('--no-macs', action='store_true', help='skip counting multiply-adds')
    p.add_argument('--no-memory', action='store_true', help='skip the peak-memory pass')
    p.add_argument(
        '--baseline',
        help='config name (file name without .py) the overheads refer '
        'to (default: the first config without ROCK)')
    p.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    add_output_args(p, 'override settings of every config, key=value')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        print('error: --device cuda but CUDA is not available', file=sys.stderr)
        return 1
    settings = BenchSettings(
        device=args.device,
        batch_size=args.batch_size,
        infer_batch_sizes=tuple(args.infer_batch_sizes or sorted({1, args.batch_size})),
        input_hw=tuple(args.input_size),
        amp=args.amp,
        amp_dtype=args.amp_dtype,
        channels_last=args.channels_last,
        fuse_conv_bn=args.fuse_conv_bn,
        iters=args.iters,
        warmup=args.warmup,
        repeats=args.repeats,
        phases=tuple(args.phases),
        macs=not args.no_macs,
        memory=not args.no_memory,
        cfg_options=args.cfg_options)
    load_start = environment(args.device)['load_average']
    records = run_model_benchmark(args.configs, settings)
    env = dict(environment(args.device), load_average_start=load_start)
    report = build_report(records, vars(settings), env,
                          command_line('tools/analysis_tools/benchmark.py', argv), args.baseline)
    write_outputs(report, to_markdown(report), args)
    for line in overhead_lines(report):
        print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
