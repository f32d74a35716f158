"""NYUv2MultiTaskDataset parsing, LoadMultiTaskAnnotations decoding and packing, on a tiny
dataset written here in the converter's layout (no dependency on the converter)."""
import json
import os.path as osp
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS
from mmengine.config import Config

import mmrock.datasets  # noqa: F401  (registers the dataset and transforms)
from mmrock.datasets import LoadMultiTaskAnnotations, NYUv2MultiTaskDataset, pack_split
from mmrock_data.nyuv2_meta import DETECTION_CLASSES, SCENE_CLASSES

H, W = 60, 80
BASE_CONFIG = Path(__file__).parents[2] / 'configs' / '_base_' / 'datasets' / 'nyuv2_multitask.py'
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations', with_bbox=True),
    dict(type='PackMultiTaskInputs')
]


def depth_mm(i):
    d = (1000 + 10 * np.arange(H * W).reshape(H, W) + 100 * i).astype(np.uint16)
    d[:5] = 0  # invalid rows
    return d


def normals_png(i):
    """RGB uint8 encoding of normals (2v/255 - 1), plus the valid mask."""
    v = np.zeros((H, W, 3), np.uint8)
    v[..., 0] = np.linspace(30, 220, W).astype(np.uint8)[None]
    v[..., 1] = 100 + i
    v[..., 2] = 40
    mask = np.full((H, W), 255, np.uint8)
    mask[:, :7] = 0
    return v, mask


def write_image_entry(root, i, with_aux):
    name = f'{i:04d}.png'
    img = np.random.RandomState(i).randint(0, 255, (H, W, 3), np.uint8)
    cv2.imwrite(str(root / 'images' / name), img)
    entry = dict(
        id=i + 1,
        file_name=name,
        height=H,
        width=W,
        nyu_index=i,
        scene='bedroom_0001',
        scene_name='bedroom')
    if with_aux:
        cv2.imwrite(str(root / 'depth' / name), depth_mm(i))
        v, mask = normals_png(i)
        cv2.imwrite(str(root / 'normals' / name), v[..., ::-1])  # cv2 writes BGR
        cv2.imwrite(str(root / 'normal_masks' / name), mask)
        entry.update(
            scene_id=SCENE_CLASSES.index('bedroom'),
            depth_file=name,
            normal_file=name,
            normal_mask_file=name)
    return entry


@pytest.fixture
def nyu_root(tmp_path):
    """Three images: 0 = all labels + 2 boxes, 1 = all labels, no box, 2 = no aux label, 1 box."""
    for folder in ('images', 'depth', 'normals', 'normal_masks', 'annotations'):
        (tmp_path / folder).mkdir()
    images = [write_image_entry(tmp_path, i, with_aux=i < 2) for i in range(3)]
    cat = {name: i + 1 for i, name in enumerate(DETECTION_CLASSES)}
    anns = [
        dict(
            id=1, image_id=1, category_id=cat['chair'], bbox=[10, 12, 20, 25], area=500, iscrowd=0),
        dict(id=2, image_id=1, category_id=cat['table'], bbox=[40, 5, 30, 20], area=600, iscrowd=0),
        dict(id=3, image_id=3, category_id=cat['bed'], bbox=[5, 5, 50, 40], area=2000, iscrowd=0),
    ]
    coco = dict(
        images=images,
        annotations=anns,
        categories=[dict(id=i, name=n) for n, i in cat.items()],
        scene_classes=list(SCENE_CLASSES))  # as the converter writes them
    for split in ('train', 'val', 'test'):
        (tmp_path / 'annotations' / f'nyuv2_{split}.json').write_text(json.dumps(coco))
    return tmp_path


def build(root, **kwargs):
    return NYUv2MultiTaskDataset(
        data_root=str(root), ann_file='annotations/nyuv2_train.json', pipeline=PIPELINE, **kwargs)


def test_parse_data_info(nyu_root):
    dataset = build(nyu_root)
    assert len(dataset) == 3  # the image without boxes is kept
    assert dataset.metainfo['classes'] == DETECTION_CLASSES
    assert dataset.metainfo['scene_classes'] == SCENE_CLASSES
    full, empty, bare = (dataset.get_data_info(i) for i in range(3))
    root = str(nyu_root)
    assert full['img_path'] == osp.join(root, 'images', '0000.png')
    assert full['depth_path'] == osp.join(root, 'depth', '0000.png')
    assert full['normal_path'] == osp.join(root, 'normals', '0000.png')
    assert full['normal_mask_path'] == osp.join(root, 'normal_masks', '0000.png')
    assert full['scene_label'] == SCENE_CLASSES.index('bedroom') == 2
    assert [i['bbox_label'] for i in full['instances']] == [4, 16]  # chair, table
    assert full['instances'][0]['bbox'] == [10, 12, 30, 37]
    assert empty['instances'] == [] and 'depth_path' in empty
    for key in ('depth_path', 'normal_path', 'normal_mask_path', 'scene_label'):
        assert key not in bare
    assert len(bare['instances']) == 1


def test_filter_empty_gt_is_opt_in(nyu_root):
    assert len(build(nyu_root, filter_cfg=dict(filter_empty_gt=True))) == 2
    assert len(build(nyu_root, filter_cfg=dict(filter_empty_gt=False))) == 3


def test_load_and_pack(nyu_root):
    dataset = build(nyu_root)
    sample = dataset[0]['data_samples']
    depth = sample.gt_depth.data
    assert depth.dtype == torch.float32 and depth.shape == (1, H, W)
    np.testing.assert_allclose(depth[0].numpy(), depth_mm(0) / 1000., rtol=1e-6)
    assert (depth[0, :5] == 0).all()  # 0 mm = invalid stays 0
    normals = sample.gt_normals.data
    assert normals.dtype == torch.float32 and normals.shape == (3, H, W)
    v, mask = normals_png(0)
    n = v.astype(np.float64) * 2 / 255 - 1
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    n[mask == 0] = 0  # the mask folded in as zero vectors
    np.testing.assert_allclose(normals.permute(1, 2, 0).numpy(), n, atol=1e-6)
    assert sample.gt_scene_label.dtype == torch.long and sample.gt_scene_label.dim() == 0
    assert int(sample.gt_scene_label) == 2
    np.testing.assert_allclose(sample.gt_instances.bboxes.numpy(),
                               [[10, 12, 30, 37], [40, 5, 70, 25]])
    assert sample.gt_instances.labels.tolist() == [4, 16]

    empty = dataset[1]['data_samples']
    assert len(empty.gt_instances.bboxes) == 0 and 'gt_depth' in empty

    bare = dataset[2]['data_samples']
    for field in ('gt_depth', 'gt_normals', 'gt_scene_label'):
        assert field not in bare  # missing label = absent field, never a zero target
    assert len(bare.gt_instances.bboxes) == 1


def test_depth_invalid_values_and_flags(nyu_root, monkeypatch):
    results = build(nyu_root).get_data_info(0)
    out = LoadMultiTaskAnnotations(
        with_depth=False, with_normals=False, with_scene=False)(
            dict(results))
    assert not {'gt_depth', 'gt_normals', 'gt_scene_label'} & set(out)
    # a float depth file (other datasets) with non-finite / negative values
    loader = LoadMultiTaskAnnotations(depth_scale=1.)
    monkeypatch.setattr(loader, '_read',
                        lambda path, flag: np.array([[np.nan, -1.], [np.inf, 2.5]], np.float32))
    out = loader(dict(depth_path='any.tiff'))
    assert out['gt_depth'].dtype == np.float32
    np.testing.assert_array_equal(out['gt_depth'], [[0, 0], [0, 2.5]])


@pytest.mark.parametrize('split', ['train_dataloader', 'val_dataloader', 'test_dataloader'])
def test_base_config_pipelines(nyu_root, split):
    cfg = Config.fromfile(str(BASE_CONFIG))
    dataset_cfg = cfg[split].dataset
    dataset_cfg.data_root = str(nyu_root)
    if split == 'train_dataloader':  # it trains from the split's pack, as the converter writes
        pack_split(
            dataset_cfg.ann_file,
            nyu_root / dataset_cfg.pack,
            data_root=str(nyu_root),
            progress=False)
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 3
    np.random.seed(0)
    for i in range(3):
        for _ in range(3 if split == 'train_dataloader' else 1):
            packed = dataset[i]
            sample = packed['data_samples']
            assert packed['inputs'].shape == (3, 480, 640)
            assert sample.img_shape == (480, 640)
            if i < 2:
                # train: dense labels follow the image; test: loaded after Resize (original size)
                size = (480, 640) if split == 'train_dataloader' else (H, W)
                assert sample.gt_depth.shape == sample.gt_normals.shape == size
            else:
                assert 'gt_depth' not in sample and 'gt_scene_label' not in sample
