#!/usr/bin/env python
"""Write a synthetic NYUv2 in the official files' layout (procedural furnished rooms).

    python tools/dataset_converters/make_synthetic_nyuv2.py --out DIR --num N [--seed S] \
        [--height 480 --width 640]

Writes DIR/nyu_depth_v2_labeled.mat, DIR/splits.mat, DIR/normals_gt/{normals,masks}/NNNN.png and
DIR/val_scenes.txt; convert them with tools/dataset_converters/nyuv2.py. Details:
mmrock_data/converters/synthetic_rooms/.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock_data.converters.synthetic_rooms import make_synthetic_nyuv2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--num', type=int, required=True, help='number of images')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--height', type=int, default=480, help='image height (default 480)')
    parser.add_argument('--width', type=int, default=640, help='image width (default 640)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.num < 1 or args.height < 8 or args.width < 8:
        print('error: --num must be >= 1 and --height/--width >= 8', file=sys.stderr)
        return 1
    info = make_synthetic_nyuv2(
        args.out,
        args.num,
        seed=args.seed,
        height=args.height,
        width=args.width,
        progress=not args.no_progress)
    print(f"{args.num} images ({len(info['train'])} train, {len(info['test'])} test, "
          f"{len(set(info['scenes']))} scenes) written to {args.out}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
