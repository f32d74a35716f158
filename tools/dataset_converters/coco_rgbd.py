#!/usr/bin/env python
"""Convert your RGB-D detection data (COCO json + depth images) into mmrock's dataset folder.

    python tools/dataset_converters/coco_rgbd.py --coco-json train.json [val.json ...] \
        --images IMAGES --depth DEPTHS --depth-scale 1000 [--allow-8bit-depth] \
        (--normals NORMALS | --intrinsics FX FY CX CY) [--scenes scenes.csv] \
        --out data/my_rgbd [--overwrite] [--nproc N]

Layout and json fields: mmrock_data/converters/coco_rgbd.py. Exit status 1 with one line
``error: <file>: <problem>`` on stderr for a bad input; no output folder is left behind then.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock_data.converters.coco_rgbd import convert_coco_rgbd
from mmrock_data.converters.errors import ConversionError
from mmrock_data.converters.output_dir import add_output_args
from mmrock_data.converters.parallel import add_nproc_arg


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--coco-json',
        nargs='+',
        required=True,
        help='COCO annotation file(s) of the images (e.g. train.json val.json)')
    parser.add_argument('--images', required=True, help='folder of the json files\' file_name')
    parser.add_argument(
        '--depth', required=True, help='folder of one-channel depth images <file_name stem>.png')
    parser.add_argument(
        '--depth-scale',
        type=float,
        required=True,
        help='depth image units per metre (1000: millimetres)')
    parser.add_argument(
        '--allow-8bit-depth',
        action='store_true',
        help='accept 8-bit depth images too (in --depth-scale units); by default '
        'a depth image that is not 16-bit single-channel is an error')
    parser.add_argument(
        '--normals',
        help='folder of normal PNGs <stem>.png (v = (n + 1) / 2 * '
        '255); default: computed from the depth with --intrinsics')
    parser.add_argument(
        '--intrinsics',
        nargs=4,
        type=float,
        metavar=('FX', 'FY', 'CX', 'CY'),
        help='camera intrinsics in pixels of the images (without --normals)')
    parser.add_argument('--scenes', help='CSV of "image_id,scene" rows (scene labels)')
    add_nproc_arg(parser)
    add_output_args(parser, 'data/my_rgbd')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        counts = convert_coco_rgbd(
            args.coco_json,
            args.images,
            args.depth,
            args.depth_scale,
            args.out,
            normals_dir=args.normals,
            intrinsics=args.intrinsics,
            scenes_csv=args.scenes,
            overwrite=args.overwrite,
            nproc=args.nproc,
            progress=not args.no_progress,
            allow_8bit_depth=args.allow_8bit_depth)
    except ConversionError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    for path in args.coco_json:
        name = osp.basename(path)
        print(f'{name}: {counts[name]} images, {counts[name + "_boxes"]} boxes')
    print(f'written: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
