"""Figure-1 visualisations (ROCK supplementary) of a trained model on its config's test set:
one PNG per image with the image, baseline detections (--baseline), ROCK detections, the
ground-truth scene's heat-map, and the depth and normals predictions."""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

import mmrock  # noqa: F401


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config of the ROCK model')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--out', required=True, help='folder of the PNGs')
    parser.add_argument(
        '--baseline',
        nargs=2,
        metavar=('CONFIG', 'CHECKPOINT'),
        help='a baseline detector, drawn beside ROCK')
    parser.add_argument('--num', type=int, default=8, help='images (the first of the test set)')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='detections scoring at most this are not drawn')
    parser.add_argument('--device', default=None, help='cuda:0, cpu... (default: cuda if any)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of both configs (data paths...), key=value')
    return parser.parse_args()


def load(config, checkpoint, cfg_options, device):
    """(model, test dataset) of a config; exits with a one-line message when its data is
    missing."""
    from mmdet.registry import DATASETS

    from mmrock.apis import init_detector  # the checkpoint: weights_only unless opted in
    from mmrock.engine import data_check_message
    from mmrock.engine.runner_cfg import load_tool_config
    cfg = load_tool_config(config, cfg_options)
    message = data_check_message(cfg, 'test')
    if message:
        raise SystemExit(message)
    model = init_detector(cfg, checkpoint, device=device)
    return model, DATASETS.build(cfg.test_dataloader.dataset)


def main():
    args = parse_args()
    import mmcv
    import torch
    from mmengine.dataset import pseudo_collate

    from mmrock.visualization import ROCKLocalVisualizer, predict_with_scene_maps, save_figure1

    device = args.device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
    model, dataset = load(args.config, args.checkpoint, args.cfg_options, device)
    baseline_model = baseline_index = None
    if args.baseline:
        baseline_model, baseline_dataset = load(*args.baseline, args.cfg_options, device)
        baseline_index = {
            baseline_dataset.get_data_info(i)['img_path']: i
            for i in range(len(baseline_dataset))
        }
    visualizer = ROCKLocalVisualizer.get_instance('mmrock_figure1')
    visualizer.dataset_meta = dataset.metainfo
    os.makedirs(args.out, exist_ok=True)
    for i in range(min(args.num, len(dataset))):
        data = dataset[i]
        img_path = data['data_samples'].img_path
        [sample], [scene_maps] = predict_with_scene_maps(model, pseudo_collate([data]))
        baseline = None
        if baseline_model is not None:
            j = baseline_index.get(img_path)
            if j is None:
                raise SystemExit(f'{img_path} is not in the baseline config\'s test set')
            with torch.no_grad():
                baseline = baseline_model.test_step(pseudo_collate([baseline_dataset[j]]))[0]
        scene_label = sample.get('gt_scene_label')
        path = osp.join(args.out, osp.splitext(osp.basename(img_path))[0] + '.png')
        save_figure1(
            path,
            visualizer,
            mmcv.imread(img_path, channel_order='rgb'),
            sample,
            scene_maps=scene_maps,
            baseline=baseline,
            score_thr=args.score_thr,
            scene_label=None if scene_label is None else int(scene_label),
            name=osp.basename(img_path))
        print(path, flush=True)


if __name__ == '__main__':
    main()
