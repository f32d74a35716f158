"""ROCKLocalVisualizer and where mmdet's tools use it: the panels it draws, the visualisation hook
(tools/test.py --show-dir, validation images sent to the vis backends), DetInferencer and
ROCKInferencer, mmdet's browse_dataset, the Figure-1 tool and demo/image_demo.py."""
import json
import shutil

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS, VISUALIZERS
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer
from mmengine.config import Config
from mmengine.structures import InstanceData, PixelData
from PIL import Image

from mmrock.visualization import (ROCKLocalVisualizer, capture_task_maps, depth_range, depth_to_rgb,
                                  normals_to_rgb, predict_with_scene_maps, save_figure1)
from mmrock_data.nyuv2_meta import DETECTION_CLASSES, SCENE_CLASSES
from conftest import check_ok, run_python, split_size
from sample_factory import make_sample

H, W = 120, 160
GAP = 4  # between cells, as tile() draws them
META = dict(classes=DETECTION_CLASSES, scene_classes=SCENE_CLASSES)


def strip_height(w: int = W, lines: int = 1) -> int:
    """Height of the title strip above each panel (tile()'s layout)."""
    return max(14, round(w / 28)) * lines + 4


def grid_size(rows: int, cols: int, h: int = H, w: int = W, lines: int = 2):
    """(width, height) of a grid of ``rows`` x ``cols`` (h, w) panels under titles of ``lines``
    lines (2 with a scene: it has a line of its own)."""
    return cols * w + (cols - 1) * GAP, rows * (h + strip_height(w, lines)) + (rows - 1) * GAP


def cell(image: np.ndarray, row: int, col: int, h: int = H, w: int = W, lines: int = 2):
    """The (h, w, 3) panel of ``image`` (the drawn grid) at ``row``, ``col``, title excluded."""
    top = row * (h + strip_height(w, lines) + GAP) + strip_height(w, lines)
    left = col * (w + GAP)
    return image[top:top + h, left:left + w]


def read_rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert('RGB'))


def fake_output(seed: int = 0, pred_hw=(H // 2, W // 2)) -> DetDataSample:
    """A ROCK test output on an (H, W) image: ground truth at full size, predictions at
    ``pred_hw`` (the resized input, as the model writes them)."""
    sample = make_sample((H, W), seed=seed)
    sample.set_metainfo(dict(img_shape=pred_hw, ori_shape=(H, W)))
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(5, 2, generator=g) * torch.tensor([W / 2, H / 2])
    sample.pred_instances = InstanceData(
        bboxes=torch.cat([xy, xy + 30], dim=1),
        scores=torch.linspace(0.1, 0.9, 5),
        labels=torch.randint(0, 19, (5, ), generator=g))
    sample.pred_scene_scores = torch.softmax(torch.randn(27, generator=g), 0)
    sample.pred_depth = PixelData(data=1 + 3 * torch.rand(1, *pred_hw, generator=g))
    sample.pred_normals = PixelData(data=torch.randn(3, *pred_hw, generator=g))
    return sample


@pytest.fixture
def visualizer():
    vis = ROCKLocalVisualizer.get_instance('test_rock_visualizer')
    vis.dataset_meta = META
    return vis


@pytest.mark.slow
def test_registered_by_import_mmrock():
    """What a config's ``custom_imports = dict(imports=['mmrock'])`` does."""
    assert VISUALIZERS.get('ROCKLocalVisualizer') is ROCKLocalVisualizer
    check_ok(
        run_python(
            '-c', 'import mmrock; from mmdet.registry import VISUALIZERS; '
            'assert VISUALIZERS.get("ROCKLocalVisualizer")'))


def test_ground_truth_and_prediction_panels(visualizer, tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    sample = fake_output()
    out = tmp_path / 'grid.png'
    visualizer.add_datasample('x', image, sample, pred_score_thr=0.5, out_file=str(out))
    drawn = read_rgb(out)
    assert drawn.shape[1::-1] == grid_size(2, 3)  # rows GT / prediction; boxes, depth, normals
    np.testing.assert_array_equal(visualizer.get_image(), drawn)
    gt_depth = sample.gt_depth.data[0].numpy()
    pred_depth = torch.nn.functional.interpolate(
        sample.pred_depth.data[None], (H, W), mode='bilinear', align_corners=False)[0, 0].numpy()
    vrange = depth_range(gt_depth, pred_depth)  # one colour scale for both rows
    np.testing.assert_array_equal(cell(drawn, 0, 1), depth_to_rgb(gt_depth, vrange))
    np.testing.assert_array_equal(cell(drawn, 0, 2), normals_to_rgb(sample.gt_normals.data.numpy()))
    assert (cell(drawn, 0, 1)[:H // 4] == 0).all()  # invalid ground-truth depth: black
    assert (cell(drawn, 0, 2)[:, :W // 4] == 0).all()  # invalid ground-truth normals: black
    pred_normals = torch.nn.functional.interpolate(
        sample.pred_normals.data[None], (H, W), mode='bilinear', align_corners=False)[0].numpy()
    assert np.abs(cell(drawn, 1, 1).astype(int) - depth_to_rgb(pred_depth, vrange)).max() <= 2
    assert np.abs(cell(drawn, 1, 2).astype(int) - normals_to_rgb(pred_normals)).max() <= 2
    assert not np.array_equal(cell(drawn, 1, 0), image)  # boxes drawn on the prediction panel
    # the scene on a line of its own in each boxes panel's title
    rows = visualizer.sample_rows(image, sample, pred_score_thr=0.5)
    top = int(sample.pred_scene_scores.argmax())
    gt_scene = SCENE_CLASSES[int(sample.gt_scene_label)]
    assert rows[0][0][0] == f'Ground truth: 2 boxes\nscene {gt_scene}'
    assert rows[1][0][0] == (f'Prediction: 2 boxes > 0.5\nscene {SCENE_CLASSES[top]} '
                             f'({float(sample.pred_scene_scores[top]):.2f})')
    assert [t for t, _ in rows[1][1:]
            ] == [f'depth {vrange[0]:.2f}-{vrange[1]:.2f} m', 'surface normals']


def test_only_the_rows_and_columns_present(visualizer, tmp_path):
    image = np.full((H, W, 3), 100, np.uint8)
    sample = fake_output()
    del sample.gt_normals
    visualizer.add_datasample('p', image, sample, draw_gt=False, out_file=str(tmp_path / 'p.png'))
    assert read_rgb(tmp_path / 'p.png').shape[1::-1] == grid_size(1, 3)
    # ground truth without normals: an empty (white) cell keeps the columns aligned
    visualizer.add_datasample('g', image, sample, out_file=str(tmp_path / 'g.png'))
    assert (cell(read_rgb(tmp_path / 'g.png'), 0, 2) == 255).all()
    del sample.pred_depth, sample.gt_depth
    visualizer.add_datasample('n', image, sample, out_file=str(tmp_path / 'n.png'))
    assert read_rgb(tmp_path / 'n.png').shape[1::-1] == grid_size(2, 2)  # no depth column
    del sample.pred_scene_scores, sample.gt_scene_label
    visualizer.add_datasample('s', image, sample, out_file=str(tmp_path / 's.png'))
    assert read_rgb(tmp_path / 's.png').shape[1::-1] == grid_size(2, 2, lines=1)  # no scene


def test_stock_sample_drawn_as_mmdet_does(visualizer, tmp_path):
    image = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8)
    sample = DetDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
    sample.gt_instances = fake_output().gt_instances
    sample.pred_instances = fake_output(1).pred_instances
    stock = DetLocalVisualizer.get_instance('test_stock_visualizer')
    stock.dataset_meta = META
    stock.add_datasample('s', image, sample, out_file=str(tmp_path / 'stock.png'))
    visualizer.add_datasample('s', image, sample, out_file=str(tmp_path / 'rock.png'))
    np.testing.assert_array_equal(read_rgb(tmp_path / 'rock.png'), read_rgb(tmp_path / 'stock.png'))


def test_sends_the_grid_to_the_vis_backends(tmp_path):
    vis = ROCKLocalVisualizer.get_instance(
        'test_backend_visualizer',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    vis.dataset_meta = META
    vis.add_datasample('val_img', np.zeros((H, W, 3), np.uint8), fake_output(), step=3)
    [png] = (tmp_path / 'vis_data' / 'vis_image').glob('*.png')
    assert png.name == 'val_img_3.png' and read_rgb(png).shape[1::-1] == grid_size(2, 3)


# ------------------------------------------------------------------------------------------------
# the scene task maps (Figure-1 heat-map), taken in the model's own forward pass


@pytest.fixture(scope='module')
def tiny_model(tiny_rock_config):
    cfg = Config.fromfile(str(tiny_rock_config))
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


@pytest.mark.slow
def test_scene_maps_come_from_the_same_forward_pass(tiny_model):
    samples = [make_sample((90, 120), pad_hw=(96, 128), seed=i) for i in range(2)]
    for s in samples:
        s.set_metainfo(dict(ori_shape=(120, 160)))
    data = dict(
        inputs=[torch.randint(0, 255, (3, 90, 120), dtype=torch.uint8)] * 2, data_samples=samples)
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


def test_figure1_panels(visualizer, tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    rock, baseline = fake_output(0), fake_output(1)
    rock.set_metainfo(dict(img_shape=(H, W)))
    rock.pred_depth = PixelData(data=1 + 3 * torch.rand(1, H, W))
    rock.pred_normals = PixelData(data=torch.randn(3, H, W))
    scene_maps = np.random.rand(27, H, W).astype(np.float32)
    path = tmp_path / 'f.png'
    titles = save_figure1(
        str(path),
        visualizer,
        image,
        rock,
        scene_maps=scene_maps,
        scene_label=16,
        baseline=baseline,
        score_thr=0.5,
        name='x.png')
    assert titles[:3] == [
        'Image x.png', 'Baseline detections (2 with score > 0.5)',
        'ROCK detections (2 with score > 0.5)'
    ]
    assert titles[3].startswith('Scene heat-map: kitchen (ground truth)\npredicted: ')
    assert titles[4].startswith('Depth prediction (') and titles[5] == 'Surface normals prediction'
    drawn = read_rgb(path)
    assert drawn.shape[1::-1] == grid_size(2, 3)
    np.testing.assert_array_equal(cell(drawn, 0, 0), image)
    np.testing.assert_array_equal(cell(drawn, 1, 2), normals_to_rgb(rock.pred_normals.data.numpy()))
    # no labels, no baseline: the top predicted scene; missing predictions: no panel
    top = SCENE_CLASSES[int(rock.pred_scene_scores.argmax())]
    titles = save_figure1(
        str(tmp_path / 'a.png'), visualizer, image, rock, scene_maps=scene_maps, score_thr=0.)
    assert len(titles) == 5 and titles[2].startswith(f'Scene heat-map: {top} (predicted, p=')
    del rock.pred_depth, rock.pred_normals
    assert save_figure1(str(tmp_path / 'b.png'), visualizer, image, rock, score_thr=0.6) == \
        ['Image', 'ROCK detections (2 with score > 0.6)']


# ------------------------------------------------------------------------------------------------
# mmdet's tools and the project's, on the tiny trained model


@pytest.mark.slow
def test_show_dir_images_hold_the_panels(tiny_trained, tiny_rock_config, tiny_nyuv2, tmp_path):
    work_dir = tmp_path / 'test'
    check_ok(
        run_python('tools/test.py', tiny_rock_config, tiny_trained['checkpoint'], '--work-dir',
                   work_dir, '--show-dir', 'painted'))
    pngs = sorted(work_dir.glob('*/painted/*.png'))
    assert len(pngs) == split_size(tiny_nyuv2, 'test')  # the test rooms
    for png in pngs:
        drawn = read_rgb(png)
        assert drawn.shape[1::-1] == grid_size(2, 3)  # GT and prediction rows at 120x160
        gt_normals, pred_normals = cell(drawn, 0, 2), cell(drawn, 1, 2)
        for panel in (cell(drawn, 0, 1), cell(drawn, 1, 1), gt_normals, pred_normals):
            assert panel.std() > 5  # drawn, not an empty cell
        # predicted normals are unit vectors: every pixel's colour decodes to norm ~1
        n = pred_normals.astype(np.float32) / 255 * 2 - 1
        assert np.abs(np.linalg.norm(n, axis=2) - 1).max() < 0.05


@pytest.mark.slow
def test_depth_and_normals_logged_at_validation(tiny_rock_config, tmp_path):
    work_dir = tmp_path / 'train'
    check_ok(
        run_python('tools/train.py', tiny_rock_config, '--work-dir', work_dir, '--cfg-options',
                   'train_cfg.max_iters=1', 'train_cfg.val_interval=1',
                   'default_hooks.visualization.draw=True',
                   'default_hooks.visualization.interval=1',
                   'default_hooks.checkpoint.interval=1000'))
    pngs = sorted(work_dir.glob('*/vis_data/vis_image/val_img_*.png'))
    assert pngs, sorted(p.name for p in work_dir.rglob('*'))
    assert read_rgb(pngs[0]).shape[1::-1] == grid_size(2, 3)


@pytest.mark.slow
def test_det_inferencer_draws_the_panels(tiny_trained, tiny_rock_config, tiny_nyuv2):
    from mmdet.apis import DetInferencer
    image = str(tiny_nyuv2 / 'images' / '0000.png')
    inferencer = DetInferencer(
        model=str(tiny_rock_config),
        weights=str(tiny_trained['checkpoint']),
        device='cpu',
        show_progress=False)
    out = inferencer(image, return_vis=True, pred_score_thr=0.)
    assert out['visualization'][0].shape[1::-1] == grid_size(1, 3)  # boxes, depth, normals


@pytest.mark.slow
def test_rock_inferencer_returns_and_saves_aux_outputs(tiny_trained, tiny_rock_config, tiny_nyuv2,
                                                       tmp_path):
    from mmrock.apis import ROCKInferencer
    images = [str(tiny_nyuv2 / 'images' / f'{i:04d}.png') for i in (0, 7)]
    inferencer = ROCKInferencer(
        model=str(tiny_rock_config),
        weights=str(tiny_trained['checkpoint']),
        device='cpu',
        show_progress=False)
    [pred] = inferencer(images[0])['predictions']  # nothing saved: arrays in the dict
    assert len(pred['scene_scores']) == 27 and sum(pred['scene_scores']) == pytest.approx(1, 1e-5)
    assert pred['scene_class'] == SCENE_CLASSES[pred['scene_label']]
    assert pred['scene_label'] == int(np.argmax(pred['scene_scores']))
    assert pred['depth'].shape == (1, H, W) and (pred['depth'] >= 0).all()  # metres
    assert np.linalg.norm(pred['normals'], axis=0) == pytest.approx(1, abs=1e-3)
    assert len(pred['bboxes']) == len(pred['scores']) == len(pred['labels']) > 0

    out_dir = tmp_path / 'out'
    preds = inferencer(images, out_dir=str(out_dir), no_save_pred=False)['predictions']
    for img, saved in zip(images, preds):
        stem = out_dir / 'preds' / img.rsplit('/', 1)[1][:-4]
        on_disk = json.loads(stem.with_suffix('.json').read_text())
        assert on_disk == saved and on_disk['scene_scores'] == pytest.approx(saved['scene_scores'])
        depth, normals = np.load(saved['depth_path']), np.load(saved['normals_path'])
        assert saved['depth_path'] == f'{stem}_depth.npy' and depth.shape == (1, H, W)
        assert depth.dtype == np.float32 and normals.shape == (3, H, W)
        assert read_rgb(saved['depth_image_path']).shape == (H, W, 3)
        assert read_rgb(saved['normals_image_path']).shape == (H, W, 3)
        vis = read_rgb(out_dir / 'vis' / img.rsplit('/', 1)[1])
        assert vis.shape[1::-1] == grid_size(1, 4)  # boxes, scene heat-map, depth, normals
    np.testing.assert_allclose(np.load(preds[0]['depth_path']), pred['depth'], rtol=1e-5)


@pytest.mark.slow
def test_browse_dataset(tiny_rock_config, tiny_nyuv2, tmp_path):
    out = tmp_path / 'browse'
    check_ok(
        run_python('tools/analysis_tools/browse_dataset.py', tiny_rock_config, '--output-dir', out,
                   '--not-show'))
    pngs = sorted(out.glob('*.png'))
    assert len(pngs) == split_size(tiny_nyuv2, 'train')  # the training rooms, at the 96x128 input
    for png in pngs:
        drawn = read_rgb(png)
        assert drawn.shape[1::-1] == grid_size(1, 3, h=96, w=128)  # ground truth only
        assert cell(drawn, 0, 1, h=96, w=128).std() > 5  # depth
        assert cell(drawn, 0, 2, h=96, w=128).std() > 5  # normals


@pytest.mark.slow
def test_visualize_outputs_tool(tiny_trained, tiny_rock_config, tmp_path):
    out = tmp_path / 'figs'
    proc = check_ok(
        run_python('tools/analysis_tools/visualize_outputs.py', tiny_rock_config,
                   tiny_trained['checkpoint'], '--out', out, '--baseline', tiny_rock_config,
                   tiny_trained['checkpoint'], '--num', 2, '--score-thr', 0))
    pngs = sorted(out.glob('*.png'))
    assert len(pngs) == 2 and all(str(p) in proc.stdout.splitlines() for p in pngs)
    for png in pngs:
        assert read_rgb(png).shape[1::-1] == grid_size(2, 3)


@pytest.mark.slow
def test_image_demo(tiny_trained, tiny_rock_config, tiny_nyuv2, tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    for name in ('0000.png', '0007.png'):
        shutil.copy(tiny_nyuv2 / 'images' / name, images / f'room_{name}')
    out = tmp_path / 'out'
    check_ok(
        run_python('demo/image_demo.py', images, tiny_rock_config, tiny_trained['checkpoint'],
                   '--out-dir', out, '--score-thr', 0.01))
    assert sorted(p.name for p in (out / 'vis').iterdir()) == ['room_0000.png', 'room_0007.png']
    for png in (out / 'vis').iterdir():
        assert read_rgb(png).shape[1::-1] == grid_size(1, 4)
    assert {p.name
            for p in (out / 'preds').iterdir()
            } >= {'room_0000.json', 'room_0000_depth.npy', 'room_0000_normals.png'}
