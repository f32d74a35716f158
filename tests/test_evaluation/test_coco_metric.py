"""mmdet's CocoMetric (as configured in the NYUv2 base config) equals pycocotools' COCOeval;
mmrock's ZeroOnEmptyCocoMetric scores a model without detections as 0."""
import json
import math

import numpy as np
import pytest
import torch
from mmdet.evaluation import CocoMetric
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmrock.evaluation import ZeroOnEmptyCocoMetric
from mmrock_data.nyuv2_meta import DETECTION_CLASSES

H, W = 60, 80


@pytest.fixture
def gt_and_dets(tmp_path):
    """A few images with boxes of 3 classes; detections jittered, some missed, some false."""
    rng = np.random.default_rng(0)
    images, anns, dets = [], [], []
    for img_id in range(1, 5):
        images.append(dict(id=img_id, file_name=f'{img_id:04d}.png', height=H, width=W))
        for _ in range(rng.integers(1, 5)):
            x, y = rng.uniform(0, 40), rng.uniform(0, 30)
            w, h = rng.uniform(8, 35), rng.uniform(8, 25)
            cat = int(rng.choice([5, 14, 17]))  # chair, pillow, table
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=img_id,
                    category_id=cat,
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=0))
            if rng.uniform() < 0.8:  # detected, with localisation noise
                jitter = rng.normal(0, 1., 4)
                dets.append(
                    dict(
                        image_id=img_id,
                        category_id=cat,
                        score=float(rng.uniform(0.3, 1)),
                        bbox=[x + jitter[0], y + jitter[1], w + jitter[2], h + jitter[3]]))
        for _ in range(2):  # false positives
            dets.append(
                dict(
                    image_id=img_id,
                    category_id=int(rng.choice([5, 14, 17])),
                    score=float(rng.uniform(0, 0.6)),
                    bbox=[rng.uniform(0, 60), rng.uniform(0, 40), 15., 12.]))
    ann_file = tmp_path / 'gt.json'
    ann_file.write_text(
        json.dumps(
            dict(
                images=images,
                annotations=anns,
                categories=[dict(id=i + 1, name=n) for i, n in enumerate(DETECTION_CLASSES)])))
    return str(ann_file), dets


def test_coco_metric_equals_cocoeval(gt_and_dets):
    ann_file, dets = gt_and_dets
    coco_gt = COCO(ann_file)
    coco_eval = COCOeval(coco_gt, coco_gt.loadRes(dets), 'bbox')
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()

    metric = CocoMetric(ann_file=ann_file, metric='bbox', classwise=True)
    metric.dataset_meta = dict(classes=DETECTION_CLASSES)
    for img_id in coco_gt.getImgIds():
        mine = [d for d in dets if d['image_id'] == img_id]
        xywh = np.array([d['bbox'] for d in mine], np.float32).reshape(-1, 4)
        pred = dict(
            bboxes=torch.from_numpy(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)),
            scores=torch.tensor([d['score'] for d in mine]),
            labels=torch.tensor([d['category_id'] - 1 for d in mine]))
        metric.process({}, [dict(img_id=img_id, ori_shape=(H, W), pred_instances=pred)])
    results = metric.evaluate(size=len(coco_gt.getImgIds()))

    # CocoMetric rounds to 3 decimals
    for key, idx in (('bbox_mAP', 0), ('bbox_mAP_50', 1), ('bbox_mAP_75', 2)):
        assert results[f'coco/{key}'] == round(coco_eval.stats[idx], 3), key
    assert 0.2 < results['coco/bbox_mAP'] < 0.9  # a non-trivial case
    for name in ('chair', 'pillow', 'table'):
        assert f'coco/{name}_precision' in results  # per-class AP


def _evaluate(metric_cls, ann_file, dets_per_image):
    metric = metric_cls(ann_file=ann_file, metric='bbox', classwise=True)
    metric.dataset_meta = dict(classes=DETECTION_CLASSES)
    for img_id, mine in dets_per_image.items():
        xywh = np.array([d['bbox'] for d in mine], np.float32).reshape(-1, 4)
        pred = dict(
            bboxes=torch.from_numpy(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)),
            scores=torch.tensor([d['score'] for d in mine], dtype=torch.float32),
            labels=torch.tensor([d['category_id'] - 1 for d in mine], dtype=torch.long))
        metric.process({}, [dict(img_id=img_id, ori_shape=(H, W), pred_instances=pred)])
    return metric.evaluate(size=len(dets_per_image))


def test_zero_on_empty_coco_metric(gt_and_dets):
    """No detection at all: mmdet's CocoMetric returns no bbox result (save_best then crashes);
    ZeroOnEmptyCocoMetric gives 0 where there is ground truth to score, as COCO would."""
    ann_file, dets = gt_and_dets
    img_ids = COCO(ann_file).getImgIds()
    nothing = {img_id: [] for img_id in img_ids}
    assert 'coco/bbox_mAP' not in _evaluate(CocoMetric, ann_file, nothing)  # the upstream gap

    results = _evaluate(ZeroOnEmptyCocoMetric, ann_file, nothing)
    assert results['coco/bbox_mAP'] == results['coco/bbox_mAP_50'] == 0.
    assert results['coco/chair_precision'] == 0. and results['coco/table_precision'] == 0.
    assert math.isnan(results['coco/bathtub_precision'])  # no bathtub in the ground truth
    # what COCOeval itself gives when nothing is found: one false detection, of a class
    # without ground truth, has the same scores as no detection at all
    false_bathtub = {**nothing, img_ids[0]: [dict(category_id=1, score=.5, bbox=[0., 0., 5., 5.])]}
    expected = _evaluate(CocoMetric, ann_file, false_bathtub)
    assert results == pytest.approx(expected, nan_ok=True)

    # with detections it is mmdet's CocoMetric, unchanged
    per_image = {img_id: [d for d in dets if d['image_id'] == img_id] for img_id in img_ids}
    assert (_evaluate(ZeroOnEmptyCocoMetric, ann_file, per_image) == pytest.approx(
        _evaluate(CocoMetric, ann_file, per_image), nan_ok=True))
