#!/usr/bin/env python
"""Convert the official NYUv2 files into mmrock's dataset folder.

    python tools/dataset_converters/nyuv2.py --mat nyu_depth_v2_labeled.mat --splits splits.mat \
        (--normals normals_gt/ | --normals-from-depth) [--val-split FILE|auto] --out data/nyuv2 \
        [--overwrite] [--nproc N] [--no-pack]

Then the train (and val) split's decode-free pack, ``packed/nyuv2_{split}/``, that the NYUv2
configs train from (tools/dataset_converters/pack_split.py; ~2.8 MB an image, 2.2 GB for the 795
training images of NYUv2): packing decodes with the training pipeline's loaders, so it needs
mmrock installed; ``--no-pack`` skips it (train with configs/rock/ssd_r50_rock_nyuv2_png.py).

Layout and json fields: mmrock_data/converters/nyuv2_mat.py. Exit status 1 with one line
``error: <file>: <problem>`` on stderr for a bad input; no output folder is left behind then.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock_data.converters.errors import ConversionError
from mmrock_data.converters.nyuv2_mat import NYUv2ConversionError, convert_nyuv2
from mmrock_data.converters.output_dir import add_output_args
from mmrock_data.converters.parallel import add_nproc_arg


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--mat', required=True, help='nyu_depth_v2_labeled.mat (MATLAB v7.3)')
    parser.add_argument('--splits', required=True, help='splits.mat (1-based trainNdxs/testNdxs)')
    normals = parser.add_mutually_exclusive_group()
    normals.add_argument(
        '--normals',
        help='normals_gt/ folder (normals/ and masks/, 0-based '
        'NNNN.png): the precomputed surface normals')
    normals.add_argument(
        '--normals-from-depth',
        action='store_true',
        help='compute the surface normals from the depth maps instead (Kinect '
        'intrinsics)')
    parser.add_argument(
        '--val-split',
        help='text file of scene names (one a line) whose train '
        'images go to a val split, or "auto": whole scenes chosen at random '
        '(--val-seed) until 122/795 of the train images (the paper\'s count; '
        'not the re-implementation\'s list), recorded in '
        'annotations/val_scenes_auto.txt')
    parser.add_argument('--val-seed', type=int, default=0, help='seed of --val-split auto')
    parser.add_argument(
        '--no-pack',
        action='store_true',
        help='do not write the train / val packs (packed/nyuv2_{split}/)')
    add_nproc_arg(parser)
    add_output_args(parser, 'data/nyuv2')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        counts = convert_nyuv2(
            args.mat,
            args.splits,
            args.out,
            normals_dir=args.normals,
            compute_normals=args.normals_from_depth,
            val_split=args.val_split,
            val_seed=args.val_seed,
            overwrite=args.overwrite,
            nproc=args.nproc,
            progress=not args.no_progress)
    except NYUv2ConversionError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    for split in ('train', 'val', 'test'):
        if split in counts:
            print(f'{split}: {counts[split]} images, {counts[split + "_boxes"]} boxes')
    print(f'written: {args.out}')
    if args.no_pack:
        return 0
    return pack_trained_splits(
        args.out, [s for s in ('train', 'val') if s in counts], progress=not args.no_progress)


def pack_trained_splits(out: str, splits, progress: bool) -> int:
    """Pack each split of ``splits`` of the converted folder ``out`` into
    ``out/packed/nyuv2_{split}``; 0, or 1 after one line on stderr."""
    # the training pipeline's own loaders decode (mmcv, mmrock): imported only now
    try:
        from mmrock.datasets.packed_split import pack_split
    except ImportError as exc:
        print(
            f'error: {out}: converted, but not packed: mmrock is not importable ({exc}); '
            'install it and run tools/dataset_converters/pack_split.py, or convert with '
            '--no-pack',
            file=sys.stderr)
        return 1
    for split in splits:
        pack_dir = osp.join(out, 'packed', f'nyuv2_{split}')
        try:
            count = pack_split(
                f'annotations/nyuv2_{split}.json',
                pack_dir,
                data_root=out,
                overwrite=True,
                progress=progress)
        except ConversionError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 1
        print(f'{split}: {count} images packed into {pack_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
