"""Convert an mmrock model to ONNX with mmdeploy (ONNX Runtime), as mmdeploy's tools/deploy.py
does, on the torch versions mmrock runs on (``pip install -r requirements/deploy.txt``).

    python tools/deployment/deploy.py DEPLOY_CFG MODEL_CFG CHECKPOINT [IMG] [--work-dir DIR]
        [--device cpu] [--with-aux] [--verify] [--cfg-options ...]

DEPLOY_CFG: one of configs/deploy/ (ONNX Runtime, static 480x640 or dynamic). Writes
``WORK_DIR/end2end.onnx`` (only once complete): input ``input`` (B, 3, H, W), the image after
the model's data preprocessor; outputs ``dets`` (B, N, 5: x1, y1, x2, y2, score in input pixels)
and ``labels`` (B, N), NMS included; with ``--with-aux`` (ROCK models) also ``scene_logits``
(B, S), ``depth`` (B, 1, h, w) metres and ``normals`` (B, 3, h, w) at the refined level's grid.
mmdeploy's detection model and SDK read ``dets`` and ``labels`` only (a third output is taken
for masks), so run a ``--with-aux`` file with ONNX Runtime itself.

Two things differ from mmdeploy's tools/deploy.py, both for this conversion only:
- torch >= 2.9 exports with the dynamo exporter unless told otherwise, and mmdeploy 1.3.1's
  rewriters need the TorchScript one, which it does not ask for: it is selected here;
- the deploy config's ``model_test_cfg`` is merged into the model's ``test_cfg`` (mmrock's set
  ``nms_pre=-1``: mmdeploy 1.3.1 ranks SSD's anchors without its last class, #2787).
IMG (any image; default random pixels of the input size) drives the trace and ``--verify``.
"""
import argparse
import contextlib
import copy
import functools
import inspect
import os
import os.path as osp
import shutil
import sys
import tempfile

import numpy as np
import torch
from mmengine.config import DictAction

EVERY_ANCHOR = 1 << 30  # mmdet's nms_pre meaning "keep all" (its -1 drops one candidate)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('deploy_cfg', help='mmdeploy deploy config (configs/deploy/)')
    parser.add_argument('model_cfg', help='the model config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('img', nargs='?', help='image to trace with (default: random pixels)')
    parser.add_argument(
        '--work-dir', default='work_dirs/deploy', help='where end2end.onnx is written')
    parser.add_argument('--device', default='cpu', help='device to convert on')
    parser.add_argument(
        '--with-aux',
        action='store_true',
        help='also output ROCK\'s scene logits, depth and normals')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='run the file with ONNX Runtime on IMG and compare the detections '
        'with PyTorch\'s (exit 1 unless equal: labels, boxes within 1e-3 px)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override model config settings, key=value')
    return parser.parse_args()


@contextlib.contextmanager
def torchscript_onnx_exporter():
    """``torch.onnx.export`` with ``dynamo=False`` as its default inside the block (torch >= 2.9
    defaults to the dynamo exporter, which mmdeploy 1.3.1's rewriters cannot drive)."""
    export = torch.onnx.export
    if 'dynamo' not in inspect.signature(export).parameters:
        yield
        return
    torch.onnx.export = functools.partial(export, dynamo=False)
    try:
        yield
    finally:
        torch.onnx.export = export


def deploy_configs(args):
    """(deploy config, model config) as mmdeploy loads them, with the deploy config's
    ``model_test_cfg`` merged (single-stage models), then ``--cfg-options``, the scene head
    completed from the checkpoint and, with ``--with-aux``, ROCK's auxiliary outputs added. Exits
    with one line where the model cannot be deployed."""
    from mmdeploy.utils import get_input_shape, get_onnx_config, is_dynamic_shape, load_config

    from mmrock.apis.model_config import complete_scene_head
    from mmrock.utils import checkpoint_loading_for
    deploy_cfg, model_cfg = load_config(args.deploy_cfg, args.model_cfg)
    test_cfg = model_cfg.model.get('test_cfg') or {}
    if 'rpn' not in test_cfg:  # single-stage: nms_pre is the dense head's
        test_cfg.update(deploy_cfg.get('model_test_cfg', {}))
        model_cfg.model.test_cfg = test_cfg
    if args.cfg_options:  # the user's word last
        model_cfg.merge_from_dict(args.cfg_options)
    with checkpoint_loading_for(model_cfg):
        try:
            complete_scene_head(model_cfg, args.checkpoint)
        except ValueError as err:
            sys.exit(f'{args.model_cfg}: {err}')
    fix_input_shape(model_cfg, get_input_shape(deploy_cfg), args.model_cfg)
    if args.with_aux:
        if model_cfg.model.get('type') != 'ROCKDetector':
            sys.exit(f'{args.model_cfg}: --with-aux needs a ROCK model (model.type=ROCKDetector)')
        onnx_cfg = get_onnx_config(deploy_cfg)
        aux = aux_output_names(model_cfg)
        onnx_cfg.output_names = list(onnx_cfg.output_names) + aux
        if is_dynamic_shape(deploy_cfg):
            onnx_cfg.dynamic_axes.update({name: {0: 'batch'} for name in aux})
    return deploy_cfg, model_cfg


def fix_input_shape(model_cfg, input_shape, name: str) -> None:
    """The model config's ``test_pipeline`` (the test dataloader's if it has none), which
    mmdeploy traces with, resizing to ``input_shape`` (W, H) without keeping the ratio where the
    deploy config fixes it. mmdeploy does this for steps of type ``Resize`` only; mmrock's
    ``MultiTaskResize`` (a subclass) counts too. Exits when there is no resize step to fix."""
    from mmdet.datasets.transforms import Resize
    from mmdet.registry import TRANSFORMS
    if 'test_pipeline' not in model_cfg:
        model_cfg.test_pipeline = copy.deepcopy(model_cfg.test_dataloader.dataset.pipeline)
    if input_shape is None:
        return
    resizes = [
        step for step in model_cfg.test_pipeline
        if issubclass(TRANSFORMS.get(step['type']) or object, Resize)
    ]
    if not resizes:
        sys.exit(f'{name}: the test pipeline has no Resize step to give the deploy config\'s '
                 f'input shape {tuple(input_shape)} (W, H)')
    for step in resizes:
        step.update(scale=tuple(input_shape), keep_ratio=False)
        step.pop('scale_factor', None)


def aux_output_names(model_cfg) -> list:
    """ROCK's auxiliary output names for ``model_cfg`` (``ROCKNeck.export_names``)."""
    from mmrock.models.necks.rock_neck import DEFAULT_AUX_HEADS, aux_export_names
    return aux_export_names(model_cfg.model.rock.get('aux_heads', DEFAULT_AUX_HEADS))


def trace_image(img, deploy_cfg, model_cfg):
    """``img`` (a path), or random pixels (seed 0) as an (H, W, 3) uint8 image of the deploy
    config's input shape, else of the model config's ``img_scale`` (no two anchors alike, unlike
    a flat image)."""
    from mmdeploy.utils import get_input_shape
    if img is not None:
        if not osp.isfile(img):
            sys.exit(f'{img}: no such image')
        return img
    w, h = get_input_shape(deploy_cfg) or model_cfg.get('img_scale') or (640, 480)
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def main():
    args = parse_args()
    try:
        from mmdeploy.apis import torch2onnx
    except ImportError:
        sys.exit('mmdeploy is not installed: pip install -r requirements/deploy.txt')
    import mmrock.deploy  # noqa: F401  (the deploy configs import it too)
    from mmrock.utils import checkpoint_loading_for
    deploy_cfg, model_cfg = deploy_configs(args)
    img = trace_image(args.img, deploy_cfg, model_cfg)
    os.makedirs(args.work_dir, exist_ok=True)
    out = osp.join(args.work_dir, 'end2end.onnx')
    tmp_dir = tempfile.mkdtemp(prefix='.deploy-', dir=args.work_dir)
    try:
        with torchscript_onnx_exporter(), checkpoint_loading_for(model_cfg):
            torch2onnx(
                img,
                tmp_dir,
                'end2end.onnx',
                deploy_cfg,
                model_cfg,
                args.checkpoint,
                device=args.device)
        os.replace(osp.join(tmp_dir, 'end2end.onnx'), out)
    except ValueError as err:  # mmrock.deploy's one-line refusals
        sys.exit(f'{args.model_cfg}: {err}')
    except ImportError as err:  # e.g. its RoIAlign export needs a torch.onnx function removed
        sys.exit(f'{args.model_cfg}: mmdeploy {mmdeploy_version()} cannot export this model '
                 f'with torch {torch.__version__}: {err}')
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    import onnx
    graph = onnx.load(out, load_external_data=False).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    print(f'{out}: input {graph.input[0].name} ({", ".join(map(str, dims))}); outputs '
          f'{", ".join(o.name for o in graph.output)}')
    if args.verify:
        verify(out, img, deploy_cfg, model_cfg, args)


def mmdeploy_version() -> str:
    from mmdeploy import __version__
    return __version__


def detections(dets: np.ndarray, labels: np.ndarray) -> tuple:
    """(boxes (N, 4), scores (N,), labels (N,)) of one image, padding (score 0) dropped,
    highest score first."""
    keep = dets[:, 4] > 0
    dets, labels = dets[keep], labels[keep]
    order = np.argsort(-dets[:, 4], kind='stable')
    return dets[order, :4], dets[order, 4], labels[order]


def same_detections(found: tuple,
                    expected: tuple,
                    box_tol: float = 1e-3,
                    score_tol: float = 1e-4) -> tuple:
    """(equal, largest box difference) of two :func:`detections` results: the same count, rank
    by rank the same score (within ``score_tol``), label and box (within ``box_tol`` px).
    Detections whose expected scores tie (within 1e-6) may come in any order among themselves."""
    if len(found[0]) != len(expected[0]):
        return False, None
    if not len(found[0]):
        return True, 0.0
    boxes, scores, labels = found
    ref_boxes, ref_scores, ref_labels = expected
    if np.abs(scores - ref_scores).max(initial=0) > score_tol:
        return False, None
    # tie groups of the expected ranking, each put in one canonical order in both lists
    group = np.concatenate([[0], np.cumsum(np.abs(np.diff(ref_scores)) > 1e-6)])
    order = np.lexsort((boxes[:, 1], boxes[:, 0], labels, group))
    ref_order = np.lexsort((ref_boxes[:, 1], ref_boxes[:, 0], ref_labels, group))
    diff = float(np.abs(boxes[order] - ref_boxes[ref_order]).max(initial=0))
    return bool((labels[order] == ref_labels[ref_order]).all() and diff <= box_tol), diff


def verify(path: str, img, deploy_cfg, model_cfg, args) -> None:
    """The detections of ``path`` (ONNX Runtime) on ``img`` against the PyTorch model's on the
    same preprocessed input: same count, rank by rank the same label, boxes within 1e-3 px,
    scores within 1e-4; exits 1 otherwise."""
    import onnxruntime
    from mmdeploy.apis import build_task_processor
    from mmdeploy.utils import get_input_shape

    from mmrock.utils import checkpoint_loading_for
    reference_cfg = copy.deepcopy(model_cfg)
    if reference_cfg.model.test_cfg.get('nms_pre') == -1:
        reference_cfg.model.test_cfg.nms_pre = EVERY_ANCHOR
    processor = build_task_processor(reference_cfg, deploy_cfg, args.device)
    with checkpoint_loading_for(model_cfg):
        model = processor.build_pytorch_model(args.checkpoint)
    data, inputs = processor.create_input(img, get_input_shape(deploy_cfg), model.data_preprocessor)
    with torch.no_grad():
        result = model.predict(inputs, data['data_samples'], rescale=False)[0].pred_instances
    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    dets, labels = session.run(['dets', 'labels'], {'input': inputs.cpu().numpy()})
    found = detections(dets[0], labels[0])
    result = result.numpy()
    expected = detections(np.c_[result.bboxes, result.scores], result.labels)
    same, diff = same_detections(found, expected)
    print(f'ONNX Runtime vs PyTorch: {len(found[0])} vs {len(expected[0])} detections' +
          (f', largest box difference {diff:.2e} px' if diff is not None else ''))
    if not same:
        sys.exit(f'{path}: ONNX Runtime detections differ from PyTorch\'s; do not deploy it')


if __name__ == '__main__':
    main()
