"""Test-time augmentation (ROCKTTAModel, ``tools/test.py --tta``) and the compact ``--out``."""
import json
import math
import pickle

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData, PixelData

from mmrock.evaluation import compact_prediction
from mmrock.models.test_time_augs import ROCKTTAModel
from conftest import check_ok, run_python, split_size, write_tiny_config

H, W = 4, 6


def normals_field() -> torch.Tensor:
    """Unit normals (3, H, W) that vary across the image: the left half faces right (+x), the
    right half faces the camera and up a little."""
    n = torch.zeros(3, H, W)
    n[0, :, :W // 2] = 1.
    n[1, :, W // 2:], n[2, :, W // 2:] = -0.6, 0.8
    return n


def view(flip: bool, depth: torch.Tensor, normals: torch.Tensor, scene: torch.Tensor,
         box: list) -> DetDataSample:
    sample = DetDataSample(
        metainfo=dict(
            ori_shape=(H, W),
            img_shape=(H, W),
            flip=flip,
            flip_direction='horizontal' if flip else None))
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([box]), scores=torch.tensor([.9]), labels=torch.tensor([2]))
    sample.pred_depth = PixelData(data=depth)
    sample.pred_normals = PixelData(data=normals)
    sample.pred_scene_scores = scene
    return sample


class NotRun(torch.nn.Module):
    """The wrapped detector (merge_preds does not run it)."""

    def test_step(self, data):
        raise AssertionError('not expected to run')


def tta_model() -> ROCKTTAModel:
    return ROCKTTAModel(
        module=NotRun(),
        tta_cfg=ConfigDict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))


def test_merged_normals_point_the_right_way():
    """A perfect model seen through mmdet's flip-first TTA: the mirrored view predicts the
    mirrored scene (maps mirrored, normals' x negated). The merge gives back the scene."""
    depth = torch.arange(H * W, dtype=torch.float32).view(1, H, W) + 1
    normals = normals_field()
    mirrored_normals = normals.flip(-1) * torch.tensor([-1., 1., 1.]).view(3, 1, 1)
    scene_a, scene_b = torch.tensor([.6, .4, 0.]), torch.tensor([.2, .6, .2])
    views = [
        view(True, depth.flip(-1), mirrored_normals, scene_b, [4., 0., 6., 2.]),
        view(False, depth, normals, scene_a, [0., 0., 2., 2.])
    ]
    merged = tta_model().merge_preds([views])[0]

    assert torch.allclose(merged.pred_normals.data, normals, atol=1e-6)
    assert merged.pred_normals.data[0, 0, 0] == 1.  # left half still faces +x
    assert torch.allclose(merged.pred_depth.data, depth)
    assert torch.allclose(merged.pred_scene_scores, torch.tensor([.4, .5, .1]))
    # mmdet's box merge: the mirrored box maps onto the other one, NMS keeps one
    assert merged.pred_instances.bboxes.tolist() == [[0., 0., 2., 2.]]
    assert merged.metainfo['flip'] is False


def test_views_without_detections_give_an_empty_prediction():
    empty = view(False, torch.ones(1, H, W), normals_field(), torch.ones(3) / 3, [0., 0., 1., 1.])
    empty.pred_instances = InstanceData(
        bboxes=torch.zeros(0, 4), scores=torch.zeros(0), labels=torch.zeros(0, dtype=torch.long))
    merged = tta_model().merge_preds([[empty, empty.clone()]])[0]
    assert isinstance(merged, DetDataSample) and len(merged.pred_instances) == 0
    assert merged.pred_depth.data.shape == (1, H, W)


# ------------------------------------------------------------------------------------------------
# compact --out


def nyuv2_prediction(batch: int = 1) -> dict:
    """An evaluator's dict of one NYUv2-sized prediction (480x640, 100 boxes), its dense maps
    views into a batch of ``batch`` images, as the heads cut them."""
    depth = torch.rand(batch, 1, 480, 640)
    normals = torch.nn.functional.normalize(torch.randn(batch, 3, 480, 640), dim=1)
    return dict(
        img_id=0,
        img_path='x.png',
        ori_shape=(480, 640),
        img_shape=(480, 640),
        scale_factor=(1., 1.),
        batch_input_shape=(480, 640),
        aux_grid_shape=(30, 40),
        pred_instances=dict(
            bboxes=torch.rand(100, 4) * 400,
            scores=torch.rand(100),
            labels=torch.randint(19, (100, ))),
        pred_scene_scores=torch.rand(27).softmax(0),
        pred_depth=dict(data=depth[0]),
        pred_normals=dict(data=normals[0]),
        gt_depth=dict(data=torch.rand(1, 480, 640)))


BYTES_PER_NYUV2_IMAGE = 16_000


def test_compact_prediction_of_a_nyuv2_image():
    compact = compact_prediction(nyuv2_prediction(batch=8))
    assert compact['pred_depth']['data'].shape == (1, 30, 40)
    assert compact['pred_normals']['data'].shape == (3, 30, 40)
    assert compact['pred_depth']['data'].dtype == torch.float16
    assert 'gt_depth' not in compact and 'batch_input_shape' not in compact
    size = len(pickle.dumps(compact))
    assert size < BYTES_PER_NYUV2_IMAGE, size
    # no batch storage carried along: the same size whatever the batch the maps came from
    assert len(pickle.dumps(compact_prediction(nyuv2_prediction(batch=1)))) == size
    norms = compact['pred_normals']['data'].float().norm(dim=0)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-2)

    detections_only = compact_prediction(nyuv2_prediction(), with_aux=False)
    assert set(detections_only) == {
        'img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pred_instances'
    }


def test_dense_heads_record_the_grid_covering_the_image():
    """A 30x45 image padded to 32x48, predicted on a 2x3 grid (stride 16): the image covers
    2x3 cells."""
    head = MODELS.build(dict(type='DepthHead', maps_per_out_channel=2))
    sample = DetDataSample(metainfo=dict(img_shape=(30, 45), batch_input_shape=(32, 48)))
    head.predict(torch.rand(1, 2, 2, 3), [sample])
    assert sample.metainfo['aux_grid_shape'] == (2, 3)
    assert sample.pred_depth.data.shape == (1, 30, 45)


def test_compact_dense_maps_are_the_block_means():
    sample = nyuv2_prediction()
    compact = compact_prediction(sample)
    block = sample['pred_depth']['data'][0, 16:32, 32:48].mean()
    assert float(compact['pred_depth']['data'][0, 1, 2]) == pytest.approx(float(block), rel=1e-3)


# ------------------------------------------------------------------------------------------------
# tools/test.py --tta (the tiny config overrides the test pipeline, so it sets its TTA pipeline
# from it as configs/rock/ssd_r18_rock_demo.py does)

TTA_EXTRA = "\ntta_pipeline = [*test_pipeline[:2], _base_.tta_pipeline[-1]]\n"


@pytest.mark.slow
def test_tools_test_tta(tiny_trained, tiny_nyuv2, tmp_path):
    config = write_tiny_config(tmp_path / 'tiny_rock_tta.py', tiny_nyuv2, TTA_EXTRA)
    work_dir, dump = tmp_path / 'tta', tmp_path / 'tta.pkl'
    check_ok(
        run_python('tools/test.py', config, tiny_trained['checkpoint'], '--tta', '--work-dir',
                   work_dir, '--out', dump))
    metrics = json.loads((work_dir / 'metrics.json').read_text())
    for key in ('coco/bbox_mAP', 'aux/scene_acc', 'aux/depth_abs_rel', 'aux/normal_mean'):
        assert math.isfinite(metrics[key]), key
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == split_size(tiny_nyuv2, 'test')
    assert preds[0]['pred_normals']['data'].shape == (3, 6, 8)


@pytest.mark.slow
def test_tta_needs_the_config_keys(tiny_trained, tiny_rock_config, tmp_path):
    proc = run_python('tools/test.py', tiny_rock_config, tiny_trained['checkpoint'], '--tta',
                      '--work-dir', tmp_path, '--cfg-options', 'tta_pipeline=None')
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        '--tta needs tta_pipeline in the config; see configs/rock/ssd_r50_rock_nyuv2.py')
