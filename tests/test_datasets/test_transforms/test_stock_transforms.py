"""mmdet's stock geometric transforms, through ``multitask_pipeline``, move depth, normals, masks
and the segmentation map with the image; other pixel-moving transforms are refused.

The image encodes each pixel's source position (channel 0 = x, 1 = y, 2 = 255 content / 0
canvas); depth and normals are those of one plane seen by a pinhole camera. After a transform,
each content pixel must hold its source pixel's labels (depth / zoom s, normals (x, y, z s)
renormalised, x negated when flipped); and the zoom rule is checked against geometry: the normals
computed from the transformed depth, back-projected with the virtual camera (f / s, principal
point moved with the image), are the transformed normals.
"""
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks

from mmrock.datasets import check_multitask_pipeline, multitask_pipeline
from mmrock_data.converters import normals_from_depth
from rgbd_factory import plane_depth

H, W = 60, 80
F, CX, CY = 70., 39.5, 29.5
PLANE = np.array([0.3, -0.25, -1.]) / np.linalg.norm([0.3, -0.25, -1.])
BOX = (20, 15, 45, 40)

# (stock transform, zoom: 'crop' = W_in / W_out, 'expand' = W_in / W_out, None = 1)
STOCK = [
    (dict(type='Resize', scale=(96, 72), keep_ratio=False, interpolation='nearest'), None),
    (dict(
        type='RandomResize',
        scale=(80, 60),
        ratio_range=(0.6, 1.4),
        keep_ratio=True,
        interpolation='nearest'), None),
    (dict(
        type='RandomChoiceResize',
        scales=[(50, 40), (120, 90)],
        keep_ratio=False,
        interpolation='nearest'), None),
    (dict(type='RandomFlip', prob=1., direction='horizontal'), None),
    (dict(type='RandomFlip', prob=1., direction='vertical'), None),
    (dict(type='RandomCrop', crop_size=(50, 40)), 'crop'),
    (dict(type='RandomCrop', crop_size=(0.5, 0.7), crop_type='relative_range'), 'crop'),
    (dict(type='Pad', size=(96, 72)), None),
    (dict(type='Pad', size_divisor=32), None),
    (dict(type='Expand', mean=(0, 0, 0), ratio_range=(1.5, 2.5), prob=1.,
          seg_ignore_label=255), 'expand'),
    (dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3), min_crop_size=0.3), 'crop'),
]


def make_results():
    ys, xs = np.mgrid[0:H, 0:W]
    img = np.stack([xs, ys, np.full_like(xs, 255)], -1).astype(np.uint8)
    depth = plane_depth((H, W), PLANE, -2.5, (F, F, CX, CY)).astype(np.float32)
    normals = np.broadcast_to(PLANE, (H, W, 3)).astype(np.float32).copy()
    depth[:, 60:63] = 0  # missing depth
    normals[50:53] = 0  # masked normals
    x0, y0, x1, y1 = BOX
    mask = np.zeros((H, W), np.uint8)
    mask[y0:y1, x0:x1] = 1
    seg = ((xs // 7 + ys // 5) % 20).astype(np.uint8)
    return dict(
        img=img,
        img_shape=(H, W),
        ori_shape=(H, W),
        img_path='plane.png',
        gt_depth=depth,
        gt_normals=normals,
        gt_seg_map=seg,
        gt_masks=BitmapMasks(mask[None], H, W),
        gt_bboxes=HorizontalBoxes(np.array([BOX], np.float32)),
        gt_bboxes_labels=np.array([1]),
        gt_ignore_flags=np.array([False]))


def zoomed_normals(normals, zoom, flip):
    n = normals * np.array(
        [-1 if flip == 'horizontal' else 1, -1 if flip == 'vertical' else 1, zoom], np.float32)
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    return np.where(norm > 0, n / np.maximum(norm, 1e-12), 0)


@pytest.mark.parametrize(
    'stock,zoom_kind', STOCK, ids=[f"{t['type']}-{i}" for i, (t, _) in enumerate(STOCK)])
@pytest.mark.parametrize('seed', range(3))
def test_stock_transform_moves_dense_labels(stock, zoom_kind, seed):
    np.random.seed(seed)
    (converted, ) = multitask_pipeline([stock])
    assert converted['type'] != stock['type'] or 'resize_type' in converted
    out = TRANSFORMS.build(converted)(make_results())
    img = out['img']
    oh, ow = img.shape[:2]
    assert tuple(out['img_shape']) == (oh, ow)
    for key in ('gt_depth', 'gt_normals', 'gt_seg_map'):
        assert out[key].shape[:2] == (oh, ow), key
    assert out['gt_masks'].masks.shape[1:] == (oh, ow)
    zoom = W / ow if zoom_kind else 1.
    flip = out.get('flip_direction') if out.get('flip') else None

    src = make_results()
    content = img[..., 2] > 0
    xs, ys = img[..., 0].astype(int), img[..., 1].astype(int)
    exp_depth = np.where(content, src['gt_depth'][ys, xs] / np.float32(zoom), 0)
    exp_normals = np.where(content[..., None], zoomed_normals(src['gt_normals'][ys, xs], zoom,
                                                              flip), 0)
    np.testing.assert_allclose(out['gt_depth'], exp_depth, rtol=1e-5)
    np.testing.assert_allclose(out['gt_normals'], exp_normals, atol=1e-6)
    exp_mask = np.where(content, src['gt_masks'].masks[0][ys, xs], 0)
    if len(out['gt_bboxes']):
        np.testing.assert_array_equal(out['gt_masks'].masks[0], exp_mask)
    seg_fill = 255
    np.testing.assert_array_equal(out['gt_seg_map'],
                                  np.where(content, src['gt_seg_map'][ys, xs], seg_fill))

    if stock['type'] in ('Resize', 'RandomResize', 'RandomChoiceResize'):
        return  # nearest resampling: the depth is not a smooth surface to differentiate
    # geometry: back-projected with the virtual camera (focal F / s; principal point moved with
    # the content, mirrored by a flip), the depth has the transformed normals (a flip mirrors
    # the world: normals x (or y) negated, still facing the camera)
    v0, u0 = np.argwhere(content)[0]
    sign_u = -1 if flip == 'horizontal' else 1
    sign_v = -1 if flip == 'vertical' else 1
    cx = u0 + sign_u * (CX - int(img[v0, u0, 0]))
    cy = v0 + sign_v * (CY - int(img[v0, u0, 1]))
    computed, valid = normals_from_depth(out['gt_depth'], (F / zoom, F / zoom, cx, cy))
    check = valid & (np.linalg.norm(out['gt_normals'], axis=-1) > 0)
    assert check.sum() > 100
    np.testing.assert_allclose(computed[check], out['gt_normals'][check], atol=2e-3)


def test_pipeline_helper_converts_nested_and_keeps_colour():
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='PhotoMetricDistortion'),
        dict(
            type='RandomChoice',
            transforms=[[dict(type='RandomChoiceResize', scales=[(64, 48)], keep_ratio=True)],
                        [
                            dict(type='mmdet.RandomCrop', crop_size=(32, 32)),
                            dict(type='Resize', scale=1)
                        ]]),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs')
    ]
    out = multitask_pipeline(pipeline)
    assert [t['type'] for t in out] == [
        'LoadImageFromFile', 'LoadMultiTaskAnnotations', 'PhotoMetricDistortion', 'RandomChoice',
        'MultiTaskRandomFlip', 'PackMultiTaskInputs'
    ]
    assert out[1]['with_mask'] is True
    assert out[3]['transforms'][0][0]['resize_type'] == 'MultiTaskResize'
    assert [t['type']
            for t in out[3]['transforms'][1]] == ['MultiTaskRandomCrop', 'MultiTaskResize']
    assert pipeline[1]['type'] == 'LoadAnnotations'  # the stock list is left as it was
    check_multitask_pipeline(out)
    Compose(out[2:5])  # builds


@pytest.mark.parametrize('transform,name', [
    (dict(type='RandomAffine'), 'RandomAffine'),
    (dict(type='Mosaic', img_scale=(64, 64)), 'Mosaic'),
    (dict(type='mmdet.MixUp'), 'MixUp'),
    (dict(type='RandomChoice', transforms=[[dict(type='RandomShift')]]), 'RandomShift'),
])
def test_unsupported_pixel_moving_transform_refused(transform, name):
    pipeline = multitask_pipeline([
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'), transform,
        dict(type='PackDetInputs')
    ])
    with pytest.raises(ValueError) as err:
        check_multitask_pipeline(pipeline, 'train_pipeline')
    message = str(err.value)
    assert '\n' not in message and message.startswith(f"train_pipeline[2] '{name}' may move "
                                                      "pixels and ROCK's dense labels")
    assert 'RandomCrop' in message  # lists what is supported


def test_stock_transform_after_dense_labels_refused_at_start(tmp_path):
    """A hand-written pipeline with a stock RandomFlip after the multi-task loader: refused by
    the dataset at construction and by the tools' data check, before any training."""
    from mmengine.config import Config

    from mmrock.datasets import MultiTaskCocoDataset
    from mmrock.engine import data_check_message
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations'),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackMultiTaskInputs')
    ]
    with pytest.raises(
            ValueError,
            match=r"^MultiTaskCocoDataset pipeline\[2\] 'RandomFlip' "
            "moves the image but not gt_depth / gt_normals: use "
            "'MultiTaskRandomFlip'"):
        MultiTaskCocoDataset(ann_file='unused.json', pipeline=pipeline, lazy_init=True)
    (tmp_path / 'a.json').write_text('{}')
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='MultiTaskCocoDataset',
                    data_root=str(tmp_path),
                    ann_file='a.json',
                    pipeline=pipeline))))
    assert data_check_message(cfg, 'train').startswith(
        "Train pipeline refused: MultiTaskCocoDataset pipeline[2] 'RandomFlip' moves the image")
    # the same transforms before the labels are loaded (test pipelines) are fine
    check_multitask_pipeline([pipeline[0], pipeline[2], pipeline[1], pipeline[3]])


def test_dense_map_of_another_size_at_packing_is_an_error():
    results = make_results()
    results = TRANSFORMS.build(dict(type='Resize', scale=(40, 30)))(results)  # stock: image only
    results['dense_labels_at_ori_shape'] = False
    with pytest.raises(
            ValueError,
            match=r'^plane\.png: gt_depth is 80x60 at packing, its image '
            r'40x30 \(W x H\)'):
        TRANSFORMS.build(dict(type='PackMultiTaskInputs'))(results)
    results['dense_labels_at_ori_shape'] = True  # loaded after the resize: original size is right
    packed = TRANSFORMS.build(dict(type='PackMultiTaskInputs'))(results)
    assert packed['data_samples'].gt_depth.shape == (60, 80)
