"""Export a detector's network to ONNX: backbone, ROCK, neck and head raw outputs (needs
``pip install onnx onnxscript``; run the file with ``onnxruntime``).

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT [--out FILE] [--shape H W]
        [--with-aux] [--opset N] [--verify]

Input ``input``: (B, 3, H, W) float32, the image after the model's data preprocessor (resized to
H x W, RGB, ``(pixel - mean) / std`` with the config's ``model.data_preprocessor`` values); B is
dynamic. Outputs: ``cls_score_<l>`` (B, A_l * (num_classes + 1), H_l, W_l) and ``bbox_pred_<l>``
(B, A_l * 4, H_l, W_l) per level l, i.e. what the head's ``forward`` returns; anchors, decoding
and NMS stay outside the graph (mmdet's ``predict_by_feat`` or a deployment runtime). ROCK's
refinement is in the graph; its parameter-free predictors (scene: global average pooling, depth
and normals: channel-group means) are left out unless ``--with-aux`` adds ``scene_logits``
(B, S), ``depth`` (B, 1, h, w) metres and ``normals`` (B, 3, h, w) unit vectors at the C5
grid.
"""
import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction
from torch import nn


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--out', help='the ONNX file (default: CHECKPOINT with .onnx)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input size (default: the config\'s img_scale)')
    parser.add_argument(
        '--with-aux', action='store_true', help='also output the scene logits, depth and normals')
    parser.add_argument('--opset', type=int, default=18, help='ONNX opset version')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='run the file with onnxruntime (CPU) on a random batch of 2 and '
        'compare every output with PyTorch\'s (fails beyond 1e-4)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config settings, key=value')
    return parser.parse_args()


class DetectionNetwork(nn.Module):
    """A detector's network as one module: (B, 3, H, W) preprocessed images -> the flat tuple
    (cls scores per level, bbox preds per level[, auxiliary predictions]).

    Args:
        model (nn.Module): An mmdet single-stage detector, or a ``ROCKDetector`` wrapping one.
        with_aux (bool): Append ROCK's auxiliary predictions, in ``aux_names`` order: scene
            logits, depth (metres), normals (unit vectors), at the C5 grid.
    """

    def __init__(self, model: nn.Module, with_aux: bool = False) -> None:
        super().__init__()
        self.model = model
        self.is_rock = hasattr(model, 'rock')
        self.detector = model.detector if self.is_rock else model
        if not hasattr(self.detector, 'bbox_head') or hasattr(self.detector, 'roi_head'):
            raise ValueError(f'{type(self.detector).__name__}: only single-stage detectors '
                             '(SSD, RetinaNet...) are exported')
        if with_aux and not self.is_rock:
            raise ValueError('--with-aux needs a ROCK model (model.type=ROCKDetector)')
        self.aux_names = model.rock.export_names if with_aux else []

    def forward(self, images: torch.Tensor) -> tuple:
        if self.is_rock:
            feats, task_maps = self.model.extract_feat(images)
        else:
            feats, task_maps = self.model.extract_feat(images), {}
        cls_scores, bbox_preds = self.detector.bbox_head(feats)
        aux = self.model.rock.predict_tensors(task_maps) if self.aux_names else {}
        return (*cls_scores, *bbox_preds, *aux.values())


def output_names(num_levels: int, aux_names) -> list:
    return [f'cls_score_{i}' for i in range(num_levels)] + \
        [f'bbox_pred_{i}' for i in range(num_levels)] + list(aux_names)


def main():
    args = parse_args()
    from mmrock.apis import init_detector  # SceneHead.num_classes, weights_only loading
    from mmrock.engine.runner_cfg import load_tool_config
    cfg = load_tool_config(args.config, args.cfg_options)
    if args.shape is None and cfg.get('img_scale') is None:
        sys.exit(f'{args.config} has no img_scale: give the input size with --shape H W')
    h, w = args.shape or cfg.img_scale[::-1]
    model = init_detector(cfg, args.checkpoint, device='cpu').eval()
    try:
        network = DetectionNetwork(model, args.with_aux).eval()
    except ValueError as err:
        sys.exit(f'{args.config}: {err}')
    images = torch.zeros(1, 3, h, w)
    with torch.no_grad():
        num_outputs = len(network(images))
    num_levels = (num_outputs - len(network.aux_names)) // 2
    names = output_names(num_levels, network.aux_names)
    out = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = f'{out}.part'  # renamed once complete: a failed export leaves no file behind
    try:
        # torch.export-based exporter (needs onnxscript), batch size left dynamic, weights
        # inside the one file (a ResNet-50 ROCK model is ~150 MB, below protobuf's 2 GB)
        torch.onnx.export(
            network, (images, ),
            tmp,
            input_names=['input'],
            output_names=names,
            dynamic_shapes=({
                0: torch.export.Dim('batch', min=1, max=1024)
            }, ),
            opset_version=args.opset,
            dynamo=True,
            external_data=False)
        os.replace(tmp, out)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    print(f'{out}: input (B, 3, {h}, {w}); outputs {", ".join(names)}')
    if args.verify:
        verify(out, network, names, (h, w))


def verify(path: str, network: nn.Module, names: list, hw) -> None:
    """Run ``path`` with onnxruntime on a random (2, 3, H, W) batch; print the largest
    difference from PyTorch's outputs, exit non-zero beyond ``|d| <= 1e-4 + 1e-4 |ref|``."""
    import numpy as np
    import onnxruntime
    images = torch.randn(2, 3, *hw, generator=torch.Generator().manual_seed(0))
    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    outputs = session.run(names, {'input': images.numpy()})
    with torch.no_grad():
        refs = [r.numpy() for r in network(images)]
    diff = max(float(np.abs(o - r).max()) for o, r in zip(outputs, refs))
    scale = max(float(np.abs(r).max()) for r in refs)
    print(f'onnxruntime vs PyTorch on a random (2, 3, {hw[0]}, {hw[1]}) batch: largest '
          f'difference {diff:.2e} over {len(names)} outputs (largest |output| {scale:.2f})')
    if not all(np.allclose(o, r, rtol=1e-4, atol=1e-4) for o, r in zip(outputs, refs)):
        sys.exit(f'{path}: onnxruntime differs from PyTorch beyond 1e-4; do not deploy it')


if __name__ == '__main__':
    main()
