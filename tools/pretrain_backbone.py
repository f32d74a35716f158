#!/usr/bin/env python
"""Pretrain a ResNet backbone by object-crop classification and write torchvision-format weights.

    # the ImageNet stand-in of the demo's backbone (half-width ResNet-18), on 4,000 synthetic
    # room images rendered from seed 1 (the demo's and the ablation's rooms are seed 0)
    python tools/pretrain_backbone.py --out work_dirs/pretrain/resnet18-w32_rooms.pth
    # any COCO-format detection set, any ResNet (ResNet-50 here)
    python tools/pretrain_backbone.py --ann-file ANN.json --img-dir IMAGES/ --depth 50 \
        --base-channels 64 --out work_dirs/pretrain/resnet50_mydata.pth

The task is RGB-only and image-level: each box (with context) is an example of its class, windows
away from every box are examples of a background class; nothing but the images, boxes and
categories is read. OUT holds the backbone's weights under torchvision's names plus the
classifier (``fc.*``); a config loads it as it loads torchvision's ImageNet file:
``backbone.init_cfg=dict(type='Pretrained', checkpoint=OUT)`` (the classifier is reported as
unexpected and ignored). OUT's ``.json`` sibling records the corpus, per-epoch loss and val
top-1, and the time taken. Exit status 1 with one line ``error: ...`` for bad input, and no OUT.
"""
import argparse
import json
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

DEMO_ROOMS_SEED = 0  # tools/demo.py's rooms, which the ablation uses too
CORPUS_RECORD = 'corpus.json'


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', required=True, help='the weights file to write (.pth)')
    data = p.add_argument_group('corpus (default: synthetic rooms)')
    data.add_argument('--ann-file', help='a COCO-format detection json to pretrain on')
    data.add_argument('--img-dir', help='the folder its file_names are relative to')
    data.add_argument(
        '--synthetic-rooms',
        type=int,
        default=4000,
        help='without --ann-file: synthetic room images to render (default 4000)')
    data.add_argument(
        '--corpus',
        default='data/synthetic_rgb_rooms',
        help='without --ann-file: where the rendered corpus is kept and reused')
    data.add_argument(
        '--seed',
        type=int,
        default=1,
        help='seed of the synthetic rooms (default 1; 0 is the demo\'s rooms)')
    data.add_argument('--height', type=int, default=240, help='synthetic image height')
    data.add_argument('--width', type=int, default=320, help='synthetic image width')
    model = p.add_argument_group('network and training')
    model.add_argument('--depth', type=int, default=18, help='ResNet depth (default 18)')
    model.add_argument(
        '--base-channels',
        type=int,
        default=32,
        help='first-stage width (default 32, the demo\'s; torchvision: 64)')
    model.add_argument('--size', type=int, default=64, help='input side of the crops (px)')
    model.add_argument('--epochs', type=int, default=16)
    model.add_argument('--batch-size', type=int, default=128)
    model.add_argument('--lr', type=float, default=0.1, help='SGD peak learning rate')
    model.add_argument(
        '--val-fraction',
        type=float,
        default=0.1,
        help='share of the images whose crops measure the accuracy')
    model.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    model.add_argument('--iters', type=int, default=None, help=argparse.SUPPRESS)  # tests
    p.add_argument('--no-progress', action='store_true', help='no progress bars')
    return p.parse_args(argv)


def synthetic_corpus(args) -> tuple:
    """(ann_file, img_dir) of the synthetic corpus, rendered unless the one kept in
    ``args.corpus`` was made with the same settings."""
    from mmrock_data.converters.synthetic_rooms import ROOMS_VERSION
    from mmrock_data.converters.synthetic_rooms.rgb_corpus import (ANNOTATION_FILE, IMAGE_DIR,
                                                                   make_rgb_corpus)
    wanted = dict(
        generator=ROOMS_VERSION,
        num_images=args.synthetic_rooms,
        seed=args.seed,
        height=args.height,
        width=args.width)
    record = osp.join(args.corpus, CORPUS_RECORD)
    try:
        with open(record) as f:
            reuse = json.load(f) == wanted
    except (OSError, ValueError):
        reuse = False
    if reuse:
        print(f'Reusing the synthetic corpus in {args.corpus}/.')
    else:
        if osp.exists(args.corpus):
            print(f'The corpus in {args.corpus}/ was made otherwise: replacing it.')
        print(f'Rendering {args.synthetic_rooms} synthetic room images (seed {args.seed}, '
              f'{args.height}x{args.width}, RGB and boxes only) into {args.corpus}/.')
        make_rgb_corpus(
            args.corpus,
            args.synthetic_rooms,
            args.seed,
            args.height,
            args.width,
            overwrite=True,
            progress=not args.no_progress)
        with open(record, 'w') as f:
            json.dump(wanted, f)
    return osp.join(args.corpus, ANNOTATION_FILE), osp.join(args.corpus, IMAGE_DIR)


def main(argv=None) -> int:
    args = parse_args(argv)
    if (args.ann_file is None) != (args.img_dir is None):
        print('error: --ann-file and --img-dir go together', file=sys.stderr)
        return 1
    if args.ann_file is None and args.seed == DEMO_ROOMS_SEED:
        print(
            f'error: --seed {DEMO_ROOMS_SEED} renders the demo\'s and the ablation\'s own '
            'rooms: pretraining must not see them (use another seed)',
            file=sys.stderr)
        return 1
    if not args.out.endswith('.pth'):
        print(f'error: {args.out}: the weights file must end in .pth', file=sys.stderr)
        return 1
    import torch

    from mmrock.datasets.object_crops import CropsError, ObjectCrops
    from mmrock.engine.backbone_pretraining import (BackboneClassifier, class_counts, pretrain,
                                                    save_torchvision_checkpoint)
    if args.threads:
        torch.set_num_threads(args.threads)
    start_wall, start_cpu = time.time(), time.process_time()
    if args.ann_file is None:
        ann_file, img_dir = synthetic_corpus(args)
    else:
        ann_file, img_dir = args.ann_file, args.img_dir
    stored = args.size + max(2, args.size // 8)  # room for the random training windows
    try:
        data = ObjectCrops(ann_file, img_dir, size=stored, progress=not args.no_progress)
    except CropsError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    corpus_s = time.time() - start_wall
    train_index, val_index = data.split(args.val_fraction, seed=0)
    print(f'{len(data.labels)} crops of {len(data.classes)} classes '
          f'({len(train_index)} train, {len(val_index)} val by image): '
          f'{class_counts(data.labels, data.classes)}')
    model = BackboneClassifier(args.depth, args.base_channels, len(data.classes))
    result = pretrain(
        model,
        data.crops,
        data.labels,
        train_index,
        val_index,
        args.size,
        args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        iters=args.iters)
    save_torchvision_checkpoint(model.torchvision_state_dict(), args.out)
    report = dict(
        weights=args.out,
        format='torchvision ResNet state dict (backbone + fc)',
        network=dict(type='ResNet', depth=args.depth, base_channels=args.base_channels),
        corpus=dict(
            ann_file=ann_file,
            img_dir=img_dir,
            crops=len(data.labels),
            train_crops=len(train_index),
            val_crops=len(val_index),
            classes=class_counts(data.labels, data.classes),
            synthetic=None if args.ann_file else dict(
                images=args.synthetic_rooms, seed=args.seed, height=args.height, width=args.width)),
        training=dict(
            size=args.size,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            threads=torch.get_num_threads()),
        train_loss=result.train_loss,
        val_top1=result.val_top1,
        final_val_top1=result.val_top1[-1] if result.val_top1 else None,
        time=dict(
            corpus_wall_s=round(corpus_s, 1),
            train_wall_s=round(result.wall_s, 1),
            total_wall_s=round(time.time() - start_wall, 1),
            total_cpu_s=round(time.process_time() - start_cpu, 1)),
        finished=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))
    with open(osp.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump(report, f, indent=2)
    print(f'val top-1 {report["final_val_top1"]:.2f} % after {args.epochs} epochs; '
          f'{report["time"]["total_wall_s"] / 60:.1f} min. Written: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
