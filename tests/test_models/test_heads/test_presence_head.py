"""PresenceHead (class presence from the boxes alone) and its metric, on hand-computed examples;
then ROCK(presence) in mmdet's stock RetinaNet config on a COCO-format dataset with boxes only
(no depth, no normals, no scene), trained and validated through tools/train.py."""
import json
import math
import re

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmrock.evaluation.metrics.auxiliary_metric import AuxiliaryTaskMetric, average_precision
from mmrock_data.nyuv2_meta import DETECTION_CLASSES
from conftest import REPO, check_ok, run_python
from weights_factory import write_torchvision_resnet50


def sample_with_labels(labels, crowd=()):
    sample = DetDataSample()
    sample.gt_instances = InstanceData(
        labels=torch.tensor(labels, dtype=torch.long), bboxes=torch.zeros(len(labels), 4))
    if crowd:
        sample.ignored_instances = InstanceData(
            labels=torch.tensor(crowd, dtype=torch.long), bboxes=torch.zeros(len(crowd), 4))
    return sample


def test_targets_and_loss_by_hand():
    head = MODELS.build(dict(type='PresenceHead', num_classes=3))
    samples = [
        sample_with_labels([2, 2, 0]),
        sample_with_labels([]),
        sample_with_labels([1], crowd=[0])
    ]
    assert head.targets(samples).tolist() == [[1, 0, 1], [0, 0, 0], [1, 1, 0]]
    maps = torch.zeros(3, 3, 2, 2)
    maps[0, 0] = 2.  # logit 2 for class 0 of image 0
    maps[2, 2] = torch.tensor([[-4., 0.], [0., 0.]])  # mean -1 for class 2 of image 2
    loss = head.loss(maps, samples)['loss_presence']
    logits = [[2, 0, 0], [0, 0, 0], [0, 0, -1]]
    targets = [[1, 0, 1], [0, 0, 0], [1, 1, 0]]
    bce = [
        -math.log(1 / (1 + math.exp(-z))) if t else -math.log(1 - 1 / (1 + math.exp(-z)))
        for row, trow in zip(logits, targets) for z, t in zip(row, trow)
    ]
    assert loss.item() == pytest.approx(sum(bce) / 9, rel=1e-6)
    head.predict(maps, samples)
    assert samples[0].pred_presence_scores[0].item() == pytest.approx(1 / (1 + math.exp(-2)))


def test_labels_beyond_num_classes_are_refused():
    head = MODELS.build(dict(type='PresenceHead', num_classes=3))
    with pytest.raises(ValueError, match=r'outside 0\.\.2 \(num_classes=3\)'):
        head.targets([sample_with_labels([3])])
    with pytest.raises(ValueError, match='num_classes must be'):
        MODELS.build(dict(type='PresenceHead', num_classes=None))


def test_average_precision_by_hand():
    # positives at ranks 1 and 3: (1/1 + 2/3) / 2
    assert average_precision(np.array([.9, .8, .7, .6]), np.array([1, 0, 1, 0], bool)) == \
        pytest.approx((1 + 2 / 3) / 2)
    # a tie is one threshold: both images at once, precision 1/2
    assert average_precision(np.array([.5, .5]), np.array([0, 1], bool)) == pytest.approx(.5)
    assert average_precision(np.array([.5, .5]), np.array([1, 0], bool)) == pytest.approx(.5)
    assert math.isnan(average_precision(np.array([.1]), np.array([False])))


def test_presence_map_by_hand():
    metric = AuxiliaryTaskMetric()
    # class 0 present in images 0 and 2, class 1 in image 1, class 2 nowhere (left out)
    labels = [[0], [1], [0, 0]]
    scores = [[.9, .2, .5], [.3, .8, .1], [.4, .1, .9]]
    metric.process({}, [
        dict(gt_instances=dict(labels=torch.tensor(lab)), pred_presence_scores=torch.tensor(s))
        for lab, s in zip(labels, scores)
    ])
    # class 0: ranking .9 (pos), .4 (pos), .3 -> AP 1; class 1: .8 (pos) first -> AP 1
    assert metric.compute_metrics(metric.results)['presence_mAP'] == pytest.approx(100.)
    metric = AuxiliaryTaskMetric()
    scores[1][0] = .95  # image 1 (no class 0) now ranks first for class 0: AP (1/2 + 2/3) / 2
    metric.process({}, [
        dict(gt_instances=dict(labels=torch.tensor(lab)), pred_presence_scores=torch.tensor(s))
        for lab, s in zip(labels, scores)
    ])
    assert metric.compute_metrics(metric.results)['presence_mAP'] == \
        pytest.approx(100 * ((1 / 2 + 2 / 3) / 2 + 1) / 2)


USER_COCO_CONFIG = '''
# a user's COCO-format data (boxes only) on mmrock's RetinaNet + ROCK(presence) config
_base_ = [{base!r}]
data_root = {data_root!r}
metainfo = dict(classes={classes!r})
model = dict(bbox_head=dict(num_classes=19),
             rock=dict(aux_heads=dict(presence=dict(num_classes=19))))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(160, 120), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(160, 120), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor'))
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(
    data_root=data_root, ann_file='annotations/train.json', data_prefix=dict(img='images/'),
    metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False, dataset=dict(
    data_root=data_root, ann_file='annotations/test.json', data_prefix=dict(img='images/'),
    metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='CocoMetric', ann_file=data_root + 'annotations/test.json',
                      metric='bbox'), dict(type='AuxiliaryTaskMetric')]
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
'''


@pytest.fixture(scope='module')
def boxes_only_coco(tiny_nyuv2, tmp_path_factory):
    """The tiny rooms as a plain COCO dataset: images and boxes, nothing else (the extra fields
    of the NYUv2 json dropped)."""
    root = tmp_path_factory.mktemp('coco_boxes_only')
    (root / 'annotations').mkdir()
    (root / 'images').symlink_to(tiny_nyuv2 / 'images')
    for split in ('train', 'test'):
        ann = json.loads((tiny_nyuv2 / 'annotations' / f'nyuv2_{split}.json').read_text())
        images = [{
            k: im[k]
            for k in ('id', 'file_name', 'height', 'width')
        } for im in ann['images']]
        anns = [{
            k: a[k]
            for k in ('id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd')
        } for a in ann['annotations']]
        (root / 'annotations' / f'{split}.json').write_text(
            json.dumps(dict(images=images, annotations=anns, categories=ann['categories'])))
    return root


@pytest.mark.slow
def test_stock_retinanet_with_presence_trains_on_boxes_only(boxes_only_coco, tmp_path):
    config = tmp_path / 'my_retinanet_rock_presence.py'
    config.write_text(
        USER_COCO_CONFIG.format(
            base=str(REPO / 'configs/rock/retinanet_r50_fpn_rock-presence_1x_coco.py'),
            data_root=f'{boxes_only_coco}/',
            classes=tuple(DETECTION_CLASSES)))
    weights = tmp_path / 'resnet50-0676ba61.pth'
    write_torchvision_resnet50(weights)
    proc = check_ok(
        run_python('tools/train.py', config, '--work-dir', tmp_path / 'work', '--cfg-options',
                   f'model.backbone.init_cfg.checkpoint={weights}'))
    log = proc.stdout + proc.stderr
    losses = [float(v) for v in re.findall(r'loss_presence: ([0-9.]+)', log)]
    assert losses and all(v > 0 for v in losses)
    assert 'presence_labelled: 1.0000' in log and 'received no' not in log
    assert re.search(r'aux/presence_mAP: [0-9.]+', log)  # validated: presence scored
    assert 'loss_depth' not in log and 'loss_scene' not in log
    assert list((tmp_path / 'work').glob('epoch_1.pth'))
