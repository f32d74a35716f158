"""The data check before a tool builds its runner, on a hand-written COCO json: an instance
without a mask, when the pipeline loads masks, is one line naming the file and the image (mmdet's
loader would stop on ``KeyError('mask')`` at that image, once training has started); the
instances mmdet drops, or a boxes-only pipeline, need none. End to end through tools/train.py:
tests/test_models/test_heads/test_segmentation_head.py."""
import json

import pytest
from mmdet.datasets.transforms import LoadAnnotations
from mmengine.config import Config

from mmrock.engine.data_check import (data_check_message, loads_instance_masks,
                                      unmasked_instances_message)

SQUARE = [[2, 2, 12, 2, 12, 12, 2, 12]]


def write_coco(root, drop_mask_of=(), ignore=()):
    """Two 16x16 images with two boxes each (annotation ids 1..4), polygons unless dropped."""
    anns = []
    for image_id in (1, 2):
        for _ in range(2):
            ann_id = len(anns) + 1
            ann = dict(
                id=ann_id,
                image_id=image_id,
                category_id=1,
                bbox=[2, 2, 10, 10],
                area=100,
                iscrowd=0)
            if ann_id not in drop_mask_of:
                ann['segmentation'] = SQUARE
            if ann_id in ignore:
                ann['ignore'] = True
            anns.append(ann)
    images = [dict(id=i, file_name=f'{i}.png', height=16, width=16) for i in (1, 2)]
    path = root / 'train.json'
    path.write_text(
        json.dumps(dict(images=images, annotations=anns, categories=[dict(id=1, name='box')])))
    return path


def config(path, with_mask=True, dataset='CocoDataset', val=False):
    """A config whose train (and val) dataset reads ``path`` through LoadAnnotations."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask)
    ]
    data = dict(
        dataset=dict(
            type=dataset, ann_file=str(path), metainfo=dict(classes=('box', )), pipeline=pipeline))
    cfg = dict(
        train_dataloader=dict(
            dataset=dict(type='CocoDataset', ann_file=str(path), pipeline=[]))) if val else dict(
                train_dataloader=data)
    if val:
        cfg.update(val_cfg=dict(type='ValLoop'), val_dataloader=data)
    return Config(cfg)


@pytest.mark.parametrize('dataset, val', [('CocoDataset', False), ('MultiTaskCocoDataset', False),
                                          ('CocoDataset', True)])
def test_instance_without_mask_is_one_line(tmp_path, dataset, val):
    path = write_coco(tmp_path, drop_mask_of=(3, ))
    message = (
        f"{path}: 1 of the 2 annotations of image 2 (2.png) have no 'segmentation', but the "
        f'{dataset} pipeline loads instance masks (LoadAnnotations with_mask=True): give every '
        "annotation a polygon or RLE mask, or load boxes only (with_mask=False; ROCK's presence "
        'head needs no mask, docs/without_depth.md)')
    assert unmasked_instances_message(config(path, dataset=dataset, val=val), 'train') == message
    assert data_check_message(config(path, dataset=dataset, val=val), 'train') == message


@pytest.mark.parametrize('with_mask, drop, ignore, classes', [
    (True, (), (), ('box', )),
    (False, (1, 3), (), ('box', )),
    (True, (3, ), (3, ), ('box', )),
    (True, (3, ), (), ('other', )),
])
def test_what_needs_no_mask(tmp_path, with_mask, drop, ignore, classes):
    """Every instance masked; a boxes-only pipeline; an instance mmdet drops (``ignore``, or a
    category that is not one of the dataset's classes)."""
    cfg = config(write_coco(tmp_path, drop, ignore), with_mask=with_mask)
    cfg.train_dataloader.dataset.metainfo.classes = classes
    assert unmasked_instances_message(cfg, 'train') is None


def test_the_instances_the_check_keeps_are_those_mmdet_keeps(tmp_path):
    """Degenerate boxes, boxes outside the image, zero area: the check's rule against
    CocoDataset's own parsing."""
    from mmdet.datasets import CocoDataset

    from mmrock.engine.data_check import _kept_by_coco_dataset
    image = dict(id=1, file_name='1.png', height=16, width=16)
    boxes = [[2, 2, 10, 10], [2, 2, 0.5, 10], [2, 2, 10, 0], [20, 2, 5, 5], [-8, -8, 8, 8],
             [-4, -4, 8, 8], [15, 15, 4, 4], [16, 0, 4, 4]]
    anns = [
        dict(
            id=i + 1,
            image_id=1,
            category_id=1,
            bbox=b,
            area=b[2] * b[3],
            iscrowd=0,
            segmentation=SQUARE) for i, b in enumerate(boxes)
    ]
    anns.append(dict(id=99, image_id=1, category_id=1, bbox=[2, 2, 4, 4], area=0, iscrowd=0))
    path = tmp_path / 'train.json'
    path.write_text(
        json.dumps(dict(images=[image], annotations=anns, categories=[dict(id=1, name='box')])))
    dataset = CocoDataset(
        ann_file=str(path), metainfo=dict(classes=('box', )), data_prefix=dict(img=''))
    kept_by_mmdet = [inst['bbox'] for inst in dataset.get_data_info(0)['instances']]
    kept_by_check = [[
        a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]
    ] for a in anns if _kept_by_coco_dataset(a, image, {1})]
    assert kept_by_check == kept_by_mmdet and 0 < len(kept_by_mmdet) < len(anns)


def test_loads_instance_masks():
    assert loads_instance_masks(dict(type='LoadAnnotations', with_mask=True))
    assert loads_instance_masks(dict(type='LoadMultiTaskAnnotations', with_mask=True))
    assert loads_instance_masks(LoadAnnotations(with_mask=True))
    assert not loads_instance_masks(dict(type='LoadAnnotations'))
    assert not loads_instance_masks(dict(type='LoadAnnotations', with_mask=False, with_seg=True))
    assert not loads_instance_masks(dict(type='LoadImageFromFile', with_mask=True))
    assert not loads_instance_masks(LoadAnnotations(with_mask=False))
