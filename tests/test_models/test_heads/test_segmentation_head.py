"""SegmentationHead (per-cell classes from instance masks or a seg map) and its mIoU, on
hand-computed examples; labels from masks under every supported geometric transform; then
ROCK(presence + segmentation) in mmdet's stock RetinaNet config (docs/without_depth.md) on
a COCO-format dataset with boxes and masks, trained and validated through tools/train.py, and
the one-line stop of a dataset with neither masks nor seg maps."""
import json
import math
import re
import shutil

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData, PixelData

from mmrock.evaluation.metrics.auxiliary_metric import AuxiliaryTaskMetric, mean_iou
from mmrock.models.utils.seg_targets import majority_grid, rasterise_instances
from conftest import REPO, check_ok, run_python

I = 255  # noqa: E741  the ignore index


def rect(h, w, y0, y1, x0, x1):
    """(h, w) bool mask of rows y0..y1-1, cols x0..x1-1."""
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


# 4 x 6: A (class 1, 12 px), B (class 0, 6 px) overlapping A, a crowd region partly under B
MASK_A, MASK_B = rect(4, 6, 0, 3, 0, 4), rect(4, 6, 1, 3, 2, 5)
CROWD = rect(4, 6, 2, 4, 4, 6)
BY_HAND = [
    [1, 1, 1, 1, 3, 3],
    [1, 1, 0, 0, 0, 3],
    [1, 1, 0, 0, 0, I],
    [3, 3, 3, 3, I, I],
]


def test_rasterise_instances_by_hand():
    # background 3 where no instance; the smaller B on top of A; crowd ignored but under B
    for order in ((0, 1), (1, 0)):
        masks = np.stack([(MASK_A, MASK_B)[k] for k in order])
        labels = np.array([(1, 0)[k] for k in order])
        out = rasterise_instances(masks, labels, background=3, crowd_masks=CROWD[None])
        assert out.tolist() == BY_HAND
    assert rasterise_instances(np.zeros((0, 2, 3), bool), np.zeros(0), 3).tolist() == [[3] * 3] * 2


def test_majority_grid_by_hand():
    labels = torch.tensor(BY_HAND)[None]
    # 2 x 2 pixels per cell: [1 1 1 1] -> 1; [1 1 0 0] tie -> 0; [3 3 0 3] -> 3;
    # [1 1 3 3] tie -> 1; [0 0 3 3] tie -> 0; [0 I I I] -> 0 (ignored pixels do not count)
    assert majority_grid(labels, (2, 3), 4).tolist() == [[[1, 0, 3], [1, 0, 0]]]
    # one cell of the whole map; a cell of ignored pixels only is ignored
    assert majority_grid(labels, (1, 1), 4).tolist() == [[[1]]]
    assert majority_grid(torch.full((1, 2, 2), I), (1, 1), 4).tolist() == [[[I]]]


def seg_sample(img_shape, pad_shape, masks=None, labels=(), crowd=None, sem_seg=None, ori=None):
    sample = DetDataSample(
        metainfo=dict(
            img_shape=img_shape,
            batch_input_shape=pad_shape,
            ori_shape=ori or img_shape,
            img_path='x.png'))
    if masks is not None:
        h, w = masks.shape[1:]
        sample.gt_instances = InstanceData(
            masks=BitmapMasks(masks, h, w),
            labels=torch.tensor(labels, dtype=torch.long),
            bboxes=torch.zeros(len(masks), 4))
        if crowd is not None:
            sample.ignored_instances = InstanceData(
                masks=BitmapMasks(crowd, h, w),
                labels=torch.zeros(len(crowd), dtype=torch.long),
                bboxes=torch.zeros(len(crowd), 4))
    if sem_seg is not None:
        sample.gt_sem_seg = PixelData(sem_seg=torch.tensor(sem_seg, dtype=torch.uint8)[None])
    return sample


# the 4 x 6 image in a 6 x 6 batch, a 3 x 3 grid (2 x 2 pixels a cell): the padded rows ignored
GRID_BY_HAND = [[1, 0, 3], [1, 0, 0], [I, I, I]]


def test_targets_from_masks_and_from_a_seg_map():
    head = MODELS.build(dict(type='SegmentationHead', num_classes=3))
    from_masks = seg_sample((4, 6), (6, 6), np.stack([MASK_A, MASK_B]), [1, 0], CROWD[None])
    from_map = seg_sample((4, 6), (6, 6), sem_seg=BY_HAND)
    for sample in (from_masks, from_map):
        assert head.grid_targets([sample], (3, 3)).tolist() == [GRID_BY_HAND]
    # the seg map is preferred when a sample has both
    both = seg_sample((4, 6), (6, 6), np.stack([MASK_A]), [2], sem_seg=BY_HAND)
    assert head.grid_targets([both], (3, 3)).tolist() == [GRID_BY_HAND]


def test_loss_by_hand():
    head = MODELS.build(dict(type='SegmentationHead', num_classes=3, maps_per_out_channel=2))
    maps = torch.zeros(2, 8, 3, 3)
    maps[:, 2:4] = 1.  # class 1 logit 1 everywhere (group of maps 2 and 3)
    maps[0, 0, 0, 1] = 4.  # class 0 logit (4 + 0) / 2 = 2 at cell (0, 1) of image 0
    samples = [
        seg_sample((4, 6), (6, 6), np.stack([MASK_A, MASK_B]), [1, 0], CROWD[None]),
        seg_sample((4, 6), (6, 6))  # no label: no loss
    ]
    loss = head.loss(maps, samples)['loss_seg']

    def ce(logits, target):
        return math.log(sum(math.exp(z) for z in logits)) - logits[target]

    base, cell01 = [0, 1, 0, 0], [2, 1, 0, 0]
    valid = [(1, base), (0, cell01), (3, base), (1, base), (0, base), (0, base)]
    assert loss.item() == pytest.approx(sum(ce(z, t) for t, z in valid) / 6, rel=1e-6)
    assert head.seen_labels == 1 and head.seen_samples == 2


def test_predict_and_miou_by_hand():
    head = MODELS.build(dict(type='SegmentationHead', num_classes=3))
    # labels at the original 4 x 6 image, the image resized to 8 x 12 (a test pipeline)
    sample = seg_sample((8, 12), (8, 12),
                        np.stack([MASK_A, MASK_B]), [1, 0],
                        CROWD[None],
                        ori=(4, 6))
    maps = torch.zeros(1, 4, 4, 6)
    maps[0, 3] = 1.  # background everywhere
    head.predict(maps, [sample])
    assert sample.gt_seg_grid.tolist() == BY_HAND  # 2 x 2 pixels of the resized map per cell
    assert sample.pred_seg_scores.shape == (4, 4, 6)
    assert sample.metainfo['aux_grid_shape'] == (4, 6)
    assert torch.allclose(sample.pred_seg_scores.sum(0), torch.ones(4, 6))

    metric = AuxiliaryTaskMetric()
    # C = 4 (class 3 never in labels nor predicted: left out)
    gts = [[[0, 1], [2, I]], [[2, 2]]]
    preds = [[[0, 1], [1, 2]], [[2, 0]]]
    metric.process({}, [
        dict(
            gt_seg_grid=torch.tensor(g),
            pred_seg_scores=torch.nn.functional.one_hot(torch.tensor(p), 4).permute(2, 0, 1))
        for g, p in zip(gts, preds)
    ])
    # pairs (gt, pred): (0,0) (1,1) (2,1) (2,2) (2,0): IoU 0 = 1/2, IoU 1 = 1/2, IoU 2 = 1/3
    assert metric.compute_metrics(metric.results)['seg_mIoU'] == pytest.approx(
        100 * (1 / 2 + 1 / 2 + 1 / 3) / 3)
    assert mean_iou(np.array([[2, 0], [0, 0]])) == 1.
    assert math.isnan(mean_iou(np.zeros((2, 2))))


def test_bad_labels_are_one_line_errors():
    head = MODELS.build(dict(type='SegmentationHead', num_classes=2))
    with pytest.raises(
            ValueError,
            match=r'^SegmentationHead: gt_sem_seg of x.png holds class 3, '
            r'outside 0\.\.2'):
        head.grid_targets([seg_sample((4, 6), (4, 6), sem_seg=BY_HAND)], (2, 3))
    with pytest.raises(
            ValueError, match=r'^x.png: the segmentation labels are 6x4, its image '
            r'8x4 \(W x H\)'):
        head.grid_targets([seg_sample((4, 8), (4, 8), np.stack([MASK_A]), [1])], (2, 4))
    with pytest.raises(ValueError, match='ignore_index 2 is a class'):
        MODELS.build(dict(type='SegmentationHead', num_classes=2, ignore_index=2))
    with pytest.raises(ValueError, match='num_classes must be an int >= 1'):
        MODELS.build(dict(type='SegmentationHead', num_classes=None))


# ------------------------------------------------------------------------------------------------
# labels from masks (and a seg map) under the geometric transforms: a rectangle of class 1 drawn
# in the image (value 200 on 50), its box, its mask and a seg map (background 3); after each
# transform the labels from the mask, the seg map, the image's rectangle and the box agree
H, W, BOX = 60, 80, (20, 15, 50, 41)  # x1, y1, x2, y2
RECT_VALUE, IMAGE_VALUE, CANVAS_VALUE = 200, 50, 0


def rectangle_results():
    from mmdet.structures.bbox import HorizontalBoxes
    x1, y1, x2, y2 = BOX
    img = np.full((H, W, 3), IMAGE_VALUE, np.uint8)
    img[y1:y2, x1:x2] = RECT_VALUE
    seg = np.full((H, W), 3, np.uint8)
    seg[y1:y2, x1:x2] = 1
    return dict(
        img=img,
        img_shape=(H, W),
        ori_shape=(H, W),
        img_path='rect.png',
        img_id=0,
        scale_factor=(1., 1.),
        gt_bboxes=HorizontalBoxes(torch.tensor([BOX], dtype=torch.float32)),
        gt_bboxes_labels=np.array([1]),
        gt_ignore_flags=np.array([False]),
        gt_masks=BitmapMasks(rect(H, W, y1, y2, x1, x2)[None].astype(np.uint8), H, W),
        gt_seg_map=seg,
        ignore_index=I)


def check_aligned(results, box_tol=0.):
    """Pack ``results`` as training does and check that mask labels, seg map, image and box
    agree; returns whether the image moved (size changed or content moved)."""
    from mmrock.datasets.transforms import PackMultiTaskInputs
    sample = PackMultiTaskInputs()(results)['data_samples']
    img = results['img'][..., 0]
    seg = sample.gt_sem_seg.sem_seg[0].numpy().astype(np.int64)
    from_masks = rasterise_instances(sample.gt_instances.masks, sample.gt_instances.labels, 3)
    canvas = img == CANVAS_VALUE  # Expand's canvas, Pad's padding
    assert np.array_equal(from_masks == 1, img == RECT_VALUE)
    assert np.array_equal(seg == 1, img == RECT_VALUE)
    assert np.array_equal(seg == I, canvas)  # the canvas / padding is ignored in the seg map
    assert np.array_equal(from_masks[~canvas], seg[~canvas])
    assert (from_masks[canvas] == 3).all()  # no instance there: background
    ys, xs = np.nonzero(img == RECT_VALUE)
    extent = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert sample.gt_instances.bboxes.tensor[0].tolist() == pytest.approx(extent, abs=box_tol)
    return img.shape != (H, W) or not np.array_equal(img, rectangle_results()['img'][..., 0])


STEPS = [
    dict(type='MultiTaskRandomFlip', prob=1., direction='horizontal'),
    dict(type='MultiTaskRandomFlip', prob=1., direction='vertical'),
    dict(type='MultiTaskResize', scale=(40, 30), keep_ratio=False, interpolation='nearest'),
    dict(type='MultiTaskResize', scale=(200, 100), keep_ratio=True, interpolation='nearest'),
    dict(type='MultiTaskExpand', mean=(CANVAS_VALUE, ) * 3, ratio_range=(1.5, 3), prob=1.),
    dict(type='MultiTaskMinIoURandomCrop', min_ious=(0.1, 0.3), min_crop_size=0.3),
    dict(type='FixedRatioMinIoURandomCrop', min_crop_size=0.3),
    dict(type='MultiTaskRandomCrop', crop_size=(50, 60)),
    dict(type='MultiTaskPad', size=(64, 96)),
]


@pytest.mark.parametrize('step', STEPS, ids=lambda s: s['type'])
def test_labels_follow_each_transform(step):
    from mmdet.registry import TRANSFORMS
    transform = TRANSFORMS.build(step)
    moved = 0
    for seed in range(8):
        np.random.seed(seed)
        out = transform(rectangle_results())
        moved += check_aligned(out, box_tol=1. if 'Resize' in step['type'] else 0.)
    assert moved  # the transform did move the image at least once


def test_labels_follow_fused_and_stock_pipelines():
    from mmcv.transforms import Compose

    from mmrock.datasets import multitask_pipeline
    chain = [
        dict(type='MultiTaskExpand', mean=(CANVAS_VALUE, ) * 3, ratio_range=(1, 2), prob=.7),
        dict(type='FixedRatioMinIoURandomCrop', min_crop_size=0.5),
        dict(type='MultiTaskResize', scale=(96, 72), keep_ratio=False, interpolation='nearest'),
        dict(type='MultiTaskRandomFlip', prob=.5)
    ]
    stock = [
        dict(type='Expand', mean=(CANVAS_VALUE, ) * 3, ratio_range=(1, 2), prob=.7),
        dict(type='MinIoURandomCrop', min_crop_size=0.5),
        dict(type='Resize', scale=(96, 72), keep_ratio=False, interpolation='nearest'),
        dict(type='RandomFlip', prob=.5, direction=['horizontal', 'vertical']),
        dict(type='RandomCrop', crop_size=(60, 80)),
        dict(type='Pad', size_divisor=32)
    ]
    for pipeline in ([dict(type='FusedGeometry', transforms=chain)], multitask_pipeline(stock)):
        compose = Compose(pipeline)
        for seed in range(8):
            np.random.seed(seed)
            check_aligned(compose(rectangle_results()), box_tol=1.)


# ------------------------------------------------------------------------------------------------
# docs/without_depth.md: the user's config on mmrock's RetinaNet + ROCK(presence + seg)
README = (REPO / 'docs' / 'without_depth.md').read_text()
README_CONFIG = next(
    block for block in re.findall(r'```python\n(.*?)```', README, re.S)
    if 'retinanet_r50_fpn_rock-presence-seg_1x_coco.py' in block)
README_TRAIN = re.search(r'```bash\n(python tools/train.py configs/my_retinanet_rock_seg.py)\n```',
                         README).group(1)
# test-only sizes: ResNet-18 from scratch (no download), 64 x 80 images, narrow heads, one epoch
TEST_SIZES = """
model.update(backbone=dict(depth=18, init_cfg=None, frozen_stages=-1, norm_eval=False),
             neck=dict(in_channels=[64, 128, 256, 512], out_channels=32))
model['bbox_head'].update(in_channels=32, feat_channels=32, stacked_convs=1)
model['rock'].update(in_channels=512, encoder_channels=32)
train_pipeline, test_pipeline = _base_.train_pipeline, _base_.test_pipeline
for pipeline in (train_pipeline, test_pipeline):
    next(t for t in pipeline if t['type'] == 'MultiTaskResize')['scale'] = (80, 64)
train_dataloader['dataset']['pipeline'] = train_pipeline
val_dataloader['dataset']['pipeline'] = test_pipeline
for loader in (train_dataloader, val_dataloader):
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
log_processor = dict(window_size=1)
"""
CLASSES = ('cat', 'dog')


@pytest.fixture(scope='module')
def coco_with_masks(tmp_path_factory):
    """6 images 64 x 80 in COCO format: rectangles of 2 classes with their polygon masks (one
    crowd region), written as the README's data_root expects."""
    from PIL import Image
    root = tmp_path_factory.mktemp('my_coco')
    (root / 'images').mkdir()
    (root / 'annotations').mkdir()
    rng = np.random.default_rng(0)
    images, anns = [], []
    for i in range(6):
        img = rng.integers(0, 60, (64, 80, 3), dtype=np.uint8)
        for k in range(2):
            x, y = int(rng.integers(0, 40)), int(rng.integers(0, 30))
            w, h = int(rng.integers(15, 40)), int(rng.integers(15, 34))
            w, h = min(w, 80 - x), min(h, 64 - y)
            img[y:y + h, x:x + w] = 120 + 100 * k
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=i + 1,
                    category_id=k + 1,
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=int(i == 0 and k == 1),
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
        Image.fromarray(img).save(root / 'images' / f'{i}.png')
        images.append(dict(id=i + 1, file_name=f'{i}.png', height=64, width=80))
    categories = [dict(id=k + 1, name=name) for k, name in enumerate(CLASSES)]
    for split in ('train', 'val'):
        (root / 'annotations' / f'{split}.json').write_text(
            json.dumps(dict(images=images, annotations=anns, categories=categories)))
    return root


def readme_config(path, data_root, extra=''):
    """The README's config, its base and data root pointing at the repository's config and
    ``data_root``, at test sizes."""
    config = README_CONFIG.replace(
        "'./rock/retinanet_r50_fpn_rock-presence-seg_1x_coco.py'",
        repr(str(REPO / 'configs/rock/retinanet_r50_fpn_rock-presence-seg_1x_coco.py'))).replace(
            "data_root = 'data/my_coco/'",
            f"data_root = '{data_root}/'").replace("('cat', 'dog')", repr(CLASSES))
    path.write_text(config + TEST_SIZES + extra)
    return path


def run_readme_train(config, work_dir):
    args = README_TRAIN.split()[1:]
    assert args == ['tools/train.py', 'configs/my_retinanet_rock_seg.py']
    return run_python(args[0], config, '--work-dir', work_dir)


@pytest.mark.slow
def test_readme_presence_seg_config_trains_on_masks(coco_with_masks, tmp_path):
    config = readme_config(tmp_path / 'my_retinanet_rock_seg.py', coco_with_masks)
    log = check_ok(run_readme_train(config, tmp_path / 'work'))
    log = log.stdout + log.stderr
    losses = [float(v) for v in re.findall(r'loss_seg: ([0-9.]+)', log)]
    assert len(losses) == 3 and all(v > 0 for v in losses)
    assert 'seg_labelled: 1.0000' in log and 'received no' not in log
    assert re.findall(r'loss_presence: ([0-9.]+)', log)
    assert re.search(r'aux/seg_mIoU: [0-9.]+', log)  # validated: segmentation scored
    assert re.search(r'aux/presence_mAP: [0-9.]+', log)
    assert list((tmp_path / 'work').glob('epoch_1.pth'))


@pytest.mark.slow
def test_no_masks_nor_seg_maps_stops_with_one_line(coco_with_masks, tmp_path):
    # the stock boxes-only pipelines: neither masks nor seg maps reach the head
    boxes_only = """
next(t for t in train_pipeline if t['type'] == 'LoadMultiTaskAnnotations')['with_mask'] = False
model['rock']['aux_heads']['seg']['label_check_iters'] = 2
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
"""
    config = readme_config(tmp_path / 'no_masks.py', coco_with_masks, boxes_only)
    proc = run_readme_train(config, tmp_path / 'work')
    assert proc.returncode == 1
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith(
        "SegmentationHead ('seg') received no 'gt_sem_seg or gt_instances.masks' in the first "
        '2 training iterations (4 samples): the dataset must give a seg map (seg_map_path, '
        'LoadAnnotations with_seg=True) or instance masks'), message
    assert 'allow_missing=True' in message and 'Traceback' not in proc.stderr.splitlines()[-1]


@pytest.mark.slow
def test_an_instance_without_mask_stops_with_one_line(coco_with_masks, tmp_path):
    # the guide's data with one annotation's polygon dropped: mmdet's loader would raise
    # KeyError('mask') at that image; the data check names the file and the image first
    root = tmp_path / 'partly_masked'
    shutil.copytree(coco_with_masks, root)
    ann_file = root / 'annotations' / 'train.json'
    ann = json.loads(ann_file.read_text())
    del ann['annotations'][4]['segmentation']  # image 3's first rectangle
    ann_file.write_text(json.dumps(ann))
    config = readme_config(tmp_path / 'partly_masked.py', root)
    proc = run_readme_train(config, tmp_path / 'work')
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"{ann_file}: 1 of the 2 annotations of image 3 (2.png) have no 'segmentation', but "
        'the CocoDataset pipeline loads instance masks (LoadAnnotations with_mask=True): give '
        'every annotation a polygon or RLE mask, or load boxes only (with_mask=False; ROCK\'s '
        'presence head needs no mask, docs/without_depth.md)')
    assert 'Traceback' not in proc.stderr
    assert not list((tmp_path / 'work').glob('*.pth'))


@pytest.mark.slow
def test_synthetic_rooms_carry_seg_maps(tiny_raw, tiny_nyuv2):
    """The generator's .mat holds the per-pixel ``labels``; the converter writes them as seg maps
    (19 detection classes, 19 other, 20 background, 255 unlabelled) that the boxes agree with, and
    MultiTaskCocoDataset gives them to LoadAnnotations(with_seg=True)."""
    import h5py
    from mmdet.registry import DATASETS
    from PIL import Image
    with h5py.File(tiny_raw / 'nyu_depth_v2_labeled.mat', 'r') as f:
        assert f['labels'].shape == f['depths'].shape and f['labels'].dtype == np.uint16
    ann = json.loads((tiny_nyuv2 / 'annotations' / 'nyuv2_train.json').read_text())
    seen = set()
    for image in ann['images']:
        seg = np.asarray(Image.open(tiny_nyuv2 / 'seg' / image['seg_map_file']))
        assert seg.shape == (image['height'], image['width']) and seg.dtype == np.uint8
        assert set(np.unique(seg)) <= set(range(21)) | {I}
        seen |= set(np.unique(seg).tolist())
        for a in (a for a in ann['annotations'] if a['image_id'] == image['id']):
            x, y, w, h = a['bbox']
            inside = seg[y:y + h, x:x + w] == a['category_id'] - 1
            # the box covers its instance: its class on the box's first and last rows and columns
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
    assert 20 in seen and len(seen & set(range(19))) >= 3  # the room's structure and objects
    dataset = DATASETS.build(
        dict(
            type='NYUv2MultiTaskDataset',
            data_root=f'{tiny_nyuv2}/',
            ann_file='annotations/nyuv2_train.json',
            pipeline=[dict(type='LoadMultiTaskAnnotations', with_seg=True)]))
    first = dataset[0]
    assert first['seg_map_path'] == f"{tiny_nyuv2}/seg/{first['img_path'].split('/')[-1]}"
    np.testing.assert_array_equal(first['gt_seg_map'],
                                  np.asarray(Image.open(first['seg_map_path'])))


@pytest.mark.slow
def test_rock_trains_on_the_rooms_seg_maps(tiny_nyuv2, tmp_path):
    """The converted rooms' seg maps (LoadAnnotations with_seg=True) train a SegmentationHead
    beside depth, normals and scene, through the tiny ROCK config and tools/train.py, and are
    scored at validation."""
    from conftest import write_tiny_config
    config = write_tiny_config(
        tmp_path / 'rock_seg.py', tiny_nyuv2, """
model['rock']['aux_heads']['seg'] = dict(type='SegmentationHead', num_classes=20)
train_pipeline[1]['with_seg'] = test_pipeline[2]['with_seg'] = True
""")
    log = check_ok(run_python('tools/train.py', config, '--work-dir', tmp_path / 'work'))
    log = log.stdout + log.stderr
    losses = [float(v) for v in re.findall(r'loss_seg: ([0-9.]+)', log)]
    assert len(losses) == 2 and all(v > 0 for v in losses)
    assert 'seg_labelled: 1.0000' in log
    assert re.search(r'aux/seg_mIoU: [0-9.]+', log) and re.search(r'aux/depth_rmse', log)
