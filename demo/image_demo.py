"""Run a trained ROCK model on arbitrary images and write Figure-1 style grids: the image, the
detections, the heat-map of the top predicted scene, and the depth and normals predictions.

    python demo/image_demo.py IMAGES_DIR_OR_FILE CONFIG CHECKPOINT --out-dir DIR [--score-thr]
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

import mmrock  # noqa: F401

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('images', help='an image file, or a folder of images')
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--out-dir', required=True, help='folder of the PNGs')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detections below it are not drawn')
    parser.add_argument('--device', default=None, help='cuda:0, cpu... (default: cuda if any)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def list_images(path: str):
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise SystemExit(f'{path}: no such file or folder')
    images = sorted(osp.join(path, f) for f in os.listdir(path)
                    if f.lower().endswith(IMAGE_EXTENSIONS))
    if not images:
        raise SystemExit(f'{path}: no image ({", ".join(IMAGE_EXTENSIONS)})')
    return images


def main():
    args = parse_args()
    import mmcv
    import torch
    from mmcv.transforms import Compose
    from mmdet.apis import inference_detector, init_detector

    from mmrock.datasets.nyuv2_meta import DETECTION_CLASSES, SCENE_CLASSES
    from mmrock.engine.runner_cfg import load_tool_config
    from mmrock.visualization import (capture_task_maps, inference_pipeline,
                                      save_sample_figure1, to_original)

    images = list_images(args.images)
    cfg = load_tool_config(args.config, args.cfg_options)
    device = args.device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
    model = init_detector(cfg, args.checkpoint, device=device)
    # the test pipeline without its annotation loaders; init_detector set mmdet's default scope
    pipeline = Compose(inference_pipeline(cfg.test_dataloader.dataset.pipeline))
    meta = model.dataset_meta or {}
    classes = meta.get('classes') or DETECTION_CLASSES
    scene_classes = meta.get('scene_classes') or SCENE_CLASSES
    os.makedirs(args.out_dir, exist_ok=True)
    for img_path in images:
        with capture_task_maps(model) as maps:
            sample = inference_detector(model, img_path, test_pipeline=pipeline)
        scene_maps = to_original(maps['scene'][0], sample, True) if 'scene' in maps else None
        name = osp.splitext(osp.basename(img_path))[0]
        path = osp.join(args.out_dir, f'{name}.png')
        save_sample_figure1(path, mmcv.imread(img_path, channel_order='rgb'), sample, scene_maps,
                            classes, scene_classes, use_gt_scene=False,
                            score_thr=args.score_thr, title=osp.basename(img_path))
        print(path, flush=True)


if __name__ == '__main__':
    main()
