"""Test (and evaluate) a detector (mmdet's tools/test.py interface); prints one metric table
(detection mAPs, auxiliary tasks; CocoMetric logs the per-class AP) and writes the metrics as
JSON in the work dir."""
import argparse
import os.path as osp
import sys

import mmrock  # noqa: F401  (registers models, datasets, metrics)
from mmrock.engine.runner_cfg import (build_runner, finish_distributed, load_checked_config,
                                      parse_tool_args, setup_distributed)
from mmrock.utils import PickledCheckpointError, checkpoint_loading_for
from mmrock_data.converters.errors import DataFormatError

METRICS_JSON = 'metrics.json'


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector (mmrock)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save logs and the metrics JSON '
        f'({METRICS_JSON})')
    parser.add_argument(
        '--out',
        type=str,
        help='dump predictions to a pickle file for offline evaluation: per '
        'image the detections, scene probabilities and depth / normal maps '
        'at the prediction grid (float16)')
    parser.add_argument(
        '--out-no-aux', action='store_true', help='with --out: store the detections only')
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test-time augmentation: the config's tta_model and tta_pipeline")
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir', help='save painted images to this folder, inside '
        'work_dir/<timestamp>/')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    return parse_tool_args(parser)


def use_tta(cfg) -> None:
    """mmdet's ``--tta``: wrap the model in ``tta_model`` and test on ``tta_pipeline``. Exits
    when the config lacks either (mmdet would fall back to a pipeline that drops the auxiliary
    labels, so their metrics would be missing)."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if not cfg.get(key)]
    if missing:
        sys.exit(f'--tta needs {" and ".join(missing)} in the config; see '
                 'configs/rock/ssd_r50_rock_nyuv2.py')
    from mmengine.config import ConfigDict
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    dataset.pipeline = cfg.tta_pipeline


def main():
    args = parse_args()
    cfg = load_checked_config(args, 'test')
    if args.out_no_aux and args.out is None:
        sys.exit('--out-no-aux goes with --out FILE.pkl')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        sys.exit(f'--out must be a .pkl or .pickle file, got {args.out}')
    cfg.load_from = args.checkpoint
    if args.tta:
        use_tta(cfg)
    if args.show or args.show_dir:
        from mmdet.engine.hooks.utils import trigger_visualization_hook
        cfg = trigger_visualization_hook(cfg, args)
    setup_distributed(cfg)

    from mmengine.dist import is_main_process
    runner = build_runner(cfg)
    if args.out is not None:
        from mmrock.evaluation import DumpMultiTaskResults
        runner.test_evaluator.metrics.append(
            DumpMultiTaskResults(out_file_path=args.out, with_aux=not args.out_no_aux))
    reports = is_main_process()  # asked before the process group is gone (then every rank is 0)
    try:
        with checkpoint_loading_for(cfg):  # weights_only unless the config opts in
            metrics = runner.test()
    except (PickledCheckpointError, DataFormatError) as exc:
        sys.exit(str(exc))
    finally:
        finish_distributed(runner)

    if reports:
        from mmrock.evaluation.report import dump_metrics_json, format_metric_table
        title = f'{osp.basename(args.config)} @ {osp.basename(args.checkpoint)}'
        table = format_metric_table(metrics, title=title)
        path = dump_metrics_json(metrics, osp.join(cfg.work_dir, METRICS_JSON))
        runner.logger.info(f'Metrics written to {path}')
        print(table, flush=True)


if __name__ == '__main__':
    main()
