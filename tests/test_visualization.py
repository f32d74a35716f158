"""Figure-1 visualisations: the drawing library (panels, titles, PNG), the scene task maps taken
in the model's own forward pass, tools/analysis_tools/visualize_outputs.py and demo/image_demo.py
on a trained tiny model."""
import shutil

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData, PixelData
from PIL import Image

from conftest import check_ok, run_python
from mmrock.datasets.nyuv2_meta import DETECTION_CLASSES, SCENE_CLASSES
from mmrock.visualization import (capture_task_maps, predict_with_scene_maps, save_figure1,
                                  save_sample_figure1)
from mmrock.visualization.figure1 import DPI, NUM_COLUMNS, PANEL_WIDTH_IN
from sample_factory import make_sample

H, W = 120, 160


def grid_size(num_panels: int, h: int = H, w: int = W):
    """(width, height) in pixels of a Figure-1 PNG of ``num_panels`` panels, with a title."""
    cols = min(num_panels, NUM_COLUMNS)
    rows = -(-num_panels // NUM_COLUMNS)
    return (round(PANEL_WIDTH_IN * cols * 1.15 * DPI),
            round(((PANEL_WIDTH_IN * h / w + 0.6) * rows + 0.4) * DPI))


def fake_output(seed: int = 0) -> DetDataSample:
    g = torch.Generator().manual_seed(seed)
    sample = DetDataSample(metainfo=dict(ori_shape=(H, W), img_shape=(H, W)))
    xy = torch.rand(5, 2, generator=g) * torch.tensor([W / 2, H / 2])
    sample.pred_instances = InstanceData(
        bboxes=torch.cat([xy, xy + 30], dim=1), scores=torch.linspace(0.1, 0.9, 5),
        labels=torch.randint(0, 19, (5, ), generator=g))
    sample.pred_scene_scores = torch.softmax(torch.randn(27, generator=g), 0)
    sample.pred_depth = PixelData(data=1 + 3 * torch.rand(1, H, W, generator=g))
    sample.pred_normals = PixelData(data=torch.randn(3, H, W, generator=g))
    return sample


def assert_png(path, size):
    with Image.open(path) as im:
        assert im.format == 'PNG' and im.size == size
        pixels = np.asarray(im.convert('RGB'))
    assert pixels.std() > 10  # drawn, not blank


def test_figure1_all_panels(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    rock, baseline = fake_output(0), fake_output(1)
    rock.gt_scene_label = torch.tensor(16)
    titles = save_sample_figure1(str(tmp_path / 'f.png'), image, rock,
                                 np.random.rand(27, H, W).astype(np.float32), DETECTION_CLASSES,
                                 SCENE_CLASSES, baseline=baseline, score_thr=0.5, title='x.png')
    assert len(titles) == 6
    assert titles[0] == 'Image'
    assert titles[1] == 'Baseline detections (3 with score >= 0.5)'
    assert titles[2] == 'ROCK detections (3 with score >= 0.5)'
    assert titles[3].startswith('Scene heat-map: kitchen (ground truth)\npredicted: ')
    assert titles[4:] == ['Depth prediction', 'Surface normals prediction']
    assert_png(tmp_path / 'f.png', grid_size(6))


def test_figure1_without_labels_or_baseline(tmp_path):
    """image_demo's case: no baseline, the top predicted scene; missing predictions: no panel."""
    image = np.full((H, W, 3), 128, np.uint8)
    rock = fake_output()
    top = SCENE_CLASSES[int(rock.pred_scene_scores.argmax())]
    titles = save_sample_figure1(str(tmp_path / 'a.png'), image, rock,
                                 np.random.rand(27, H, W), DETECTION_CLASSES, SCENE_CLASSES,
                                 use_gt_scene=False, score_thr=0.)
    assert len(titles) == 5 and titles[1] == 'ROCK detections (5 with score >= 0)'
    assert titles[2].startswith(f'Scene heat-map: {top} (predicted, p=')
    titles = save_figure1(str(tmp_path / 'b.png'), image, rock, DETECTION_CLASSES, SCENE_CLASSES,
                          score_thr=0.6)
    assert titles == ['Image', 'ROCK detections (2 with score >= 0.6)']


@pytest.fixture(scope='module')
def tiny_model(tiny_rock_config):
    cfg = Config.fromfile(str(tiny_rock_config))
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def test_scene_maps_come_from_the_same_forward_pass(tiny_model):
    samples = [make_sample((90, 120), pad_hw=(96, 128), seed=i) for i in range(2)]
    for s in samples:
        s.set_metainfo(dict(ori_shape=(120, 160)))
    data = dict(inputs=[torch.randint(0, 255, (3, 90, 120), dtype=torch.uint8)] * 2,
                data_samples=samples)
    calls = []
    original = tiny_model.detector.backbone.forward
    tiny_model.detector.backbone.forward = lambda x: calls.append(1) or original(x)
    try:
        results, scene_maps = predict_with_scene_maps(tiny_model, data)
    finally:
        del tiny_model.detector.backbone.forward
    assert len(calls) == 1  # one backbone pass for detections, aux outputs and the maps
    assert 'extract_feat' not in vars(tiny_model)  # the model is left as it was
    assert [m.shape for m in scene_maps] == [(27, 120, 160)] * 2
    with torch.no_grad(), capture_task_maps(tiny_model) as maps:
        tiny_model.test_step(data)
    assert set(maps) == {'scene', 'depth', 'normals'} and maps['scene'].shape == (2, 27, 6, 8)
    # the predicted scene scores are the softmax of the spatial means of these very maps
    scores = torch.softmax(maps['scene'].mean(dim=(2, 3)), dim=1)
    torch.testing.assert_close(torch.stack([r.pred_scene_scores for r in results]), scores)


def test_visualize_outputs_tool(tiny_trained, tiny_rock_config, tmp_path):
    out = tmp_path / 'figs'
    proc = check_ok(run_python(
        'tools/analysis_tools/visualize_outputs.py', tiny_rock_config, tiny_trained['checkpoint'],
        '--out', out, '--baseline', tiny_rock_config, tiny_trained['checkpoint'],
        '--num', 2, '--score-thr', 0))
    pngs = sorted(out.glob('*.png'))
    assert len(pngs) == 2 and all(str(p) in proc.stdout.splitlines() for p in pngs)
    for png in pngs:
        assert_png(png, grid_size(6))


def test_image_demo(tiny_trained, tiny_rock_config, tiny_nyuv2, tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    for name in ('0000.png', '0007.png'):
        shutil.copy(tiny_nyuv2 / 'images' / name, images / f'room_{name}')
    out = tmp_path / 'out'
    check_ok(run_python('demo/image_demo.py', images, tiny_rock_config,
                        tiny_trained['checkpoint'], '--out-dir', out, '--score-thr', 0.01))
    assert sorted(p.name for p in out.iterdir()) == ['room_0000.png', 'room_0007.png']
    for png in out.iterdir():
        assert_png(png, grid_size(5))
