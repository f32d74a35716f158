"""Train a detector (mmdet's tools/train.py interface) with mmrock's modules registered."""
import argparse
import sys

import mmrock  # noqa: F401  (registers models, datasets, hooks; torch>=2.6 resume)
from mmrock.engine import NonFiniteLossError
from mmrock.engine.runner_cfg import (apply_resume, build_runner, enable_amp, enable_auto_scale_lr,
                                      finish_distributed, load_checked_config, parse_tool_args,
                                      prepare_pretrained_or_exit, setup_distributed)
from mmrock.models.heads import MissingAuxiliaryLabelError
from mmrock.utils import PickledCheckpointError, checkpoint_loading_for
from mmrock_data.converters.errors import DataFormatError


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector (mmrock)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='automatic mixed precision: float16 with dynamic loss scaling on '
        'CUDA, bfloat16 on CPU (optim_wrapper.dtype in the config overrides)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr with the total batch size (auto_scale_lr)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or without a value from the '
        'latest checkpoint of the work dir')
    return parse_tool_args(parser)


def main():
    args = parse_args()
    cfg = load_checked_config(args, 'train')
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    apply_resume(cfg, args.resume)
    prepare_pretrained_or_exit(cfg)  # ImageNet / COCO weights fetched and verified, or one line
    setup_distributed(cfg)

    runner = build_runner(cfg)
    try:
        with checkpoint_loading_for(cfg):  # load_from / --resume: weights_only unless opted in
            runner.train()
    except (NonFiniteLossError, MissingAuxiliaryLabelError, PickledCheckpointError,
            DataFormatError) as exc:  # DataFormatError: an annotation file the dataset refuses
        sys.exit(str(exc))
    finally:
        finish_distributed(runner)


if __name__ == '__main__':
    main()
