#!/usr/bin/env python
"""Write the decode-free pack of one converted split (memory-mapped arrays, no PNG decoding).

    python tools/dataset_converters/pack_split.py --data-root data/nyuv2 \
        --ann-file annotations/nyuv2_train.json --out data/nyuv2/packed/nyuv2_train [--overwrite]

The PNG layout stays as it is (the reference); the pack holds the same arrays, decoded once by
the pipeline's own loaders (format: mmrock/datasets/packed_split.py). A config reads it with the
dataset's ``pack`` (configs/_base_/datasets/nyuv2_multitask.py). The NYUv2 converter writes the
packs of its train and val splits itself (unless ``--no-pack``). Exit status 1 with one
line ``error: <file>: <problem>`` on stderr for a bad input; no output folder is left behind then.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmrock_data.converters.errors import ConversionError
from mmrock_data.converters.output_dir import add_output_args


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', required=True, help='converted dataset, e.g. data/nyuv2')
    parser.add_argument(
        '--ann-file',
        required=True,
        help='its split, relative to --data-root, e.g. '
        'annotations/nyuv2_train.json')
    add_output_args(parser, 'data/nyuv2/packed/nyuv2_train')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # Packing decodes with the training pipeline's own loaders (mmcv): imported only now, so
    # that --help and argument errors start without torch.
    from mmrock.datasets.packed_split import pack_split
    try:
        count = pack_split(
            args.ann_file,
            args.out,
            data_root=args.data_root,
            overwrite=args.overwrite,
            progress=not args.no_progress)
    except ConversionError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    print(f'{count} images packed into {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
