"""tools/deployment/deploy.py: a ROCK model converted by mmdeploy's own ``torch2onnx`` (through
mmrock.deploy's rewrite and configs/deploy/) gives, in ONNX Runtime, PyTorch's detections."""
import numpy as np
import pytest
import torch

from conftest import REPO, check_ok, run_python

pytest.importorskip('mmdeploy', reason='requirements/deploy.txt (make install) installs mmdeploy')
ort = pytest.importorskip('onnxruntime', reason='requirements/deploy.txt installs onnxruntime')
DEPLOY = REPO / 'configs' / 'deploy'
EVERY_ANCHOR = 1 << 30


def pytorch_detections(model, images: torch.Tensor) -> list:
    """PyTorch's (boxes, scores, labels) per image of a preprocessed (B, 3, H, W) batch, in
    input pixels, highest score first."""
    from mmdet.structures import DetDataSample
    h, w = images.shape[-2:]
    samples = [
        DetDataSample(
            metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), batch_input_shape=(h, w), scale_factor=(1.,
                                                                                            1.)))
        for _ in images
    ]
    with torch.no_grad():
        results = model.predict(images, samples, rescale=False)
    out = []
    for result in results:
        pred = result.pred_instances.numpy()
        order = np.argsort(-pred.scores, kind='stable')
        out.append((pred.bboxes[order], pred.scores[order], pred.labels[order]))
    return out


def onnx_detections(session, images: torch.Tensor) -> tuple:
    """ONNX Runtime's (per image (boxes, scores, labels), {output name: array})."""
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, {'input': images.numpy()})))
    per_image = []
    for dets, labels in zip(outputs['dets'], outputs['labels']):
        keep = dets[:, 4] > 0  # padding rows
        order = np.argsort(-dets[keep, 4], kind='stable')
        per_image.append((dets[keep][order, :4], dets[keep][order, 4], labels[keep][order]))
    return per_image, outputs


@pytest.fixture(scope='module')
def pytorch_model(tiny_rock_config, tiny_trained):
    from mmengine.config import Config

    from mmrock.apis import init_detector
    cfg = Config.fromfile(str(tiny_rock_config))
    cfg.model.test_cfg.nms_pre = EVERY_ANCHOR  # what the deploy configs' nms_pre=-1 means
    return init_detector(cfg, str(tiny_trained['checkpoint']), device='cpu').eval()


@pytest.mark.slow
@pytest.mark.parametrize('deploy_cfg, trace_hw, run_hw, batch', [
    ('detection_onnxruntime_static-480x640.py', (480, 640), (480, 640), 1),
    ('detection_onnxruntime_dynamic.py', (96, 128), (128, 160), 2),
])
def test_mmdeploy_matches_pytorch(pytorch_model, tiny_rock_config, tiny_trained, tmp_path,
                                  deploy_cfg, trace_hw, run_hw, batch):
    work_dir = tmp_path / 'deploy'
    proc = check_ok(
        run_python('tools/deployment/deploy.py', DEPLOY / deploy_cfg, tiny_rock_config,
                   tiny_trained['checkpoint'], '--work-dir', work_dir, '--with-aux', '--verify'))
    onnx_file = work_dir / 'end2end.onnx'
    assert sorted(p.name for p in work_dir.iterdir()) == ['end2end.onnx']  # nothing half-made
    assert 'outputs dets, labels, scene_logits, depth, normals' in proc.stdout
    assert 'ONNX Runtime vs PyTorch: 50 vs 50 detections' in proc.stdout
    session = ort.InferenceSession(str(onnx_file), providers=['CPUExecutionProvider'])
    input_dims = session.get_inputs()[0].shape
    if 'static' in deploy_cfg:
        assert input_dims == [1, 3, *trace_hw]  # the deploy config's shape, not the model's
    else:
        assert isinstance(input_dims[0], str) and isinstance(input_dims[2], str)
    images = torch.randn(batch, 3, *run_hw, generator=torch.Generator().manual_seed(0))
    found, outputs = onnx_detections(session, images)
    expected = pytorch_detections(pytorch_model, images)
    for (boxes, scores, labels), (ref_boxes, ref_scores, ref_labels) in zip(found, expected):
        assert len(boxes) == len(ref_boxes) == 50  # max_per_img, score_thr 0
        np.testing.assert_array_equal(labels, ref_labels)  # rank by rank
        np.testing.assert_allclose(boxes, ref_boxes, atol=1e-3, rtol=0)
        np.testing.assert_allclose(scores, ref_scores, atol=1e-5, rtol=0)
        assert len(np.unique(ref_labels)) > 1 and np.ptp(ref_boxes[:, 0]) > 1  # not trivial
    with torch.no_grad():
        _, task_maps = pytorch_model.extract_feat(images)
        aux = pytorch_model.rock.predict_tensors(task_maps)
    assert list(aux) == ['scene_logits', 'depth', 'normals']
    for name, ref in aux.items():
        np.testing.assert_allclose(outputs[name], ref.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.slow
def test_refuses_nms_pre_that_loses_a_class(tiny_rock_config, tiny_trained, tmp_path):
    """mmdeploy 1.3.1 ranks SSD's anchors for nms_pre without its last class: a model whose
    nms_pre is below its largest level's anchors (6 x 8 cells x 4 = 192) is refused."""
    work_dir = tmp_path / 'deploy'
    proc = run_python('tools/deployment/deploy.py', DEPLOY / 'detection_onnxruntime_dynamic.py',
                      tiny_rock_config, tiny_trained['checkpoint'], '--work-dir', work_dir,
                      '--cfg-options', 'model.test_cfg.nms_pre=100')
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f'{tiny_rock_config}: test_cfg.nms_pre=100 is below the largest feature level\'s 192 '
        'anchors: mmdeploy 1.3.1 would drop every detection of class 18 '
        '(open-mmlab/mmdeploy#2787); use mmrock\'s deploy configs (they set nms_pre) or give '
        'model.test_cfg.nms_pre >= 192')
    assert list(work_dir.iterdir()) == []


def test_nms_pre_problem_spares_what_cannot_lose_a_class():
    from mmdet.registry import MODELS

    from mmrock.deploy import nms_pre_problem
    feats = [torch.zeros(1, 8, 6, 8), torch.zeros(1, 8, 3, 4)]
    ssd = dict(
        type='SSDHead',
        num_classes=3,
        in_channels=(8, 8),
        anchor_generator=dict(
            type='SSDAnchorGenerator',
            scale_major=False,
            input_size=96,
            strides=[16, 32],
            ratios=([2], [2]),
            min_sizes=[10, 20],
            max_sizes=[20, 40]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2]))
    head = MODELS.build(dict(ssd, test_cfg=dict(nms_pre=191)))  # 6 x 8 x 4 anchors = 192
    assert 'nms_pre=191' in nms_pre_problem(head, feats)
    for nms_pre in (192, -1):
        head = MODELS.build(dict(ssd, test_cfg=dict(nms_pre=nms_pre)))
        assert nms_pre_problem(head, feats) is None
    retina = MODELS.build(
        dict(
            type='RetinaHead',
            num_classes=3,
            in_channels=8,
            feat_channels=8,
            stacked_convs=1,
            test_cfg=dict(nms_pre=10),
            anchor_generator=dict(
                type='AnchorGenerator',
                octave_base_scale=4,
                scales_per_octave=1,
                ratios=[1.0],
                strides=[16, 32])))
    assert nms_pre_problem(retina, feats) is None  # sigmoid scores: nothing dropped


@pytest.mark.slow
def test_with_aux_needs_rock(tmp_path):
    proc = run_python('tools/deployment/deploy.py', DEPLOY / 'detection_onnxruntime_dynamic.py',
                      REPO / 'configs/rock/ssd_r50_nyuv2.py', tmp_path / 'none.pth', '--work-dir',
                      tmp_path / 'd', '--with-aux')
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].endswith(
        'ssd_r50_nyuv2.py: --with-aux needs a ROCK model (model.type=ROCKDetector)')


def test_torchscript_exporter_only_inside_the_block():
    import importlib.util
    spec = importlib.util.spec_from_file_location('deploy_tool',
                                                  REPO / 'tools/deployment/deploy.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    export = torch.onnx.export
    with tool.torchscript_onnx_exporter():
        assert torch.onnx.export.keywords == dict(dynamo=False)
    assert torch.onnx.export is export
    with pytest.raises(RuntimeError), tool.torchscript_onnx_exporter():
        raise RuntimeError
    assert torch.onnx.export is export
