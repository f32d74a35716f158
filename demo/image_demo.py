"""Run a trained ROCK model on arbitrary images with mmdet's inferencer (:class:`ROCKInferencer`).

Writes, per image, ``OUT_DIR/vis/<name>.png`` (drawn by the config's visualiser: the detections
titled with the predicted scene, the scene heat-map, the depth and the normals) and
``OUT_DIR/preds/<name>.json`` (boxes, scene probabilities) with the depth and normals as
``.npy`` arrays and ``.png`` images.

    python demo/image_demo.py IMAGES_DIR_OR_FILE CONFIG CHECKPOINT --out-dir DIR [--score-thr]
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('images', help='an image file, or a folder of images')
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--out-dir', required=True, help='folder of the outputs')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detections scoring at most this are not drawn')
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
    from mmrock.apis import ROCKInferencer
    from mmrock.engine.runner_cfg import load_tool_config

    images = list_images(args.images)
    cfg = load_tool_config(args.config, args.cfg_options)
    inferencer = ROCKInferencer(model=cfg, weights=args.checkpoint, device=args.device,
                                show_progress=False)
    inferencer(images, out_dir=args.out_dir, no_save_pred=False,
               pred_score_thr=args.score_thr)
    for img_path in images:
        name = osp.splitext(osp.basename(img_path))[0]
        print(osp.join(args.out_dir, 'vis', osp.basename(img_path)),
              osp.join(args.out_dir, 'preds', f'{name}.json'), flush=True)


if __name__ == '__main__':
    main()
