#!/usr/bin/env python
"""Convert the official NYUv2 files into mmrock's dataset folder.

    python tools/dataset_converters/nyuv2.py --mat nyu_depth_v2_labeled.mat --splits splits.mat \
        (--normals normals_gt/ | --normals-from-depth) [--val-split FILE|auto] --out data/nyuv2 \
        [--overwrite] [--nproc N]

Layout and json fields: mmrock_data/converters/nyuv2_mat.py. Exit status 1 with one line
``error: <file>: <problem>`` on stderr for a bad input; no output folder is left behind then.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock_data.converters.nyuv2_mat import (  # noqa: E402
NYUv2ConversionError, convert_nyuv2)
from mmrock_data.converters.output_dir import add_output_args  # noqa: E402
from mmrock_data.converters.parallel import add_nproc_arg  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--mat', required=True, help='nyu_depth_v2_labeled.mat (MATLAB v7.3)')
    parser.add_argument('--splits', required=True, help='splits.mat (1-based trainNdxs/testNdxs)')
    normals = parser.add_mutually_exclusive_group()
    normals.add_argument('--normals', help='normals_gt/ folder (normals/ and masks/, 0-based '
                         'NNNN.png): the precomputed surface normals')
    normals.add_argument('--normals-from-depth', action='store_true',
                         help='compute the surface normals from the depth maps instead (Kinect '
                         'intrinsics)')
    parser.add_argument('--val-split', help='text file of scene names (one a line) whose train '
                        'images go to a val split, or "auto": whole scenes chosen at random '
                        '(--val-seed) until 122/795 of the train images (the paper\'s count; '
                        'not the re-implementation\'s list), recorded in '
                        'annotations/val_scenes_auto.txt')
    parser.add_argument('--val-seed', type=int, default=0, help='seed of --val-split auto')
    add_nproc_arg(parser)
    add_output_args(parser, 'data/nyuv2')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        counts = convert_nyuv2(args.mat, args.splits, args.out, normals_dir=args.normals,
                               compute_normals=args.normals_from_depth,
                               val_split=args.val_split, val_seed=args.val_seed,
                               overwrite=args.overwrite,
                               nproc=args.nproc, progress=not args.no_progress)
    except NYUv2ConversionError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    for split in ('train', 'val', 'test'):
        if split in counts:
            print(f'{split}: {counts[split]} images, {counts[split + "_boxes"]} boxes')
    print(f'written: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
