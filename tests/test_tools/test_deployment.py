"""tools/deployment/export_onnx.py: the exported network, run by onnxruntime on CPU, gives
PyTorch's raw outputs."""
import numpy as np
import pytest
import torch
from mmdet.apis import init_detector

from conftest import check_ok, run_python

ort = pytest.importorskip('onnxruntime', reason='requirements/tests.txt installs onnxruntime')
LEVELS = 7  # the tiny SSD's feature levels


@pytest.fixture(scope='module')
def pytorch_model(tiny_rock_config, tiny_trained):
    return init_detector(str(tiny_rock_config), str(tiny_trained['checkpoint']), device='cpu')


def run_onnx(path, images: torch.Tensor):
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {'input': images.numpy()})))


@pytest.mark.slow
def test_export_matches_pytorch(pytorch_model, tiny_rock_config, tiny_trained, tmp_path):
    out = tmp_path / 'rock.onnx'
    proc = check_ok(
        run_python('tools/deployment/export_onnx.py', tiny_rock_config, tiny_trained['checkpoint'],
                   '--out', out, '--verify'))
    assert f'{out}: input (B, 3, 96, 128)' in proc.stdout
    assert 'onnxruntime vs PyTorch on a random (2, 3, 96, 128) batch: largest difference' \
        in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ['rock.onnx']  # weights in the file
    images = torch.randn(2, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    onnx_outs = run_onnx(out, images)  # batch 2 through a graph traced with batch 1
    assert list(onnx_outs) == [f'cls_score_{i}' for i in range(LEVELS)] + \
        [f'bbox_pred_{i}' for i in range(LEVELS)]  # the auxiliary poolings are dropped
    with torch.no_grad():
        (cls_scores, bbox_preds), _ = pytorch_model._forward(images)
    for i in range(LEVELS):
        for name, ref in ((f'cls_score_{i}', cls_scores[i]), (f'bbox_pred_{i}', bbox_preds[i])):
            assert onnx_outs[name].shape == tuple(ref.shape), name
            np.testing.assert_allclose(
                onnx_outs[name], ref.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)
    assert cls_scores[0].abs().max() > 1e-3  # a real comparison, not of zeros


@pytest.mark.slow
def test_export_with_aux(pytorch_model, tiny_rock_config, tiny_trained, tmp_path):
    out = tmp_path / 'rock_aux.onnx'
    check_ok(
        run_python('tools/deployment/export_onnx.py', tiny_rock_config, tiny_trained['checkpoint'],
                   '--out', out, '--with-aux', '--shape', 96, 128))
    images = torch.randn(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    onnx_outs = run_onnx(out, images)
    assert list(onnx_outs)[2 * LEVELS:] == ['scene_logits', 'depth', 'normals']
    with torch.no_grad():
        _, task_maps = pytorch_model.extract_feat(images)
    heads = pytorch_model.rock.aux_heads
    expected = dict(
        scene_logits=heads['scene'](task_maps['scene']),
        depth=heads['depth'].decode_pred(heads['depth'](task_maps['depth'])),
        normals=heads['normals'].decode_pred(heads['normals'](task_maps['normals'])))
    for name, ref in expected.items():
        np.testing.assert_allclose(onnx_outs[name], ref.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)
    assert onnx_outs['depth'].shape == (1, 1, 6, 8) and (onnx_outs['depth'] >= 0).all()
    assert onnx_outs['depth'].max() > 0 and np.abs(onnx_outs['scene_logits']).max() > 0


@pytest.mark.slow
def test_refuses_what_it_cannot_export(tiny_rock_config, tiny_trained, tmp_path):
    proc = run_python('tools/deployment/export_onnx.py', tiny_rock_config,
                      tiny_trained['checkpoint'], '--out', tmp_path / 'x.onnx', '--cfg-options',
                      'img_scale=None')
    assert proc.returncode != 0 and 'give the input size with --shape H W' in proc.stderr
    assert not (tmp_path / 'x.onnx').exists()
