# `make demo`: the ROCK config made light enough to learn in minutes on 2 CPU cores.
# Same architecture family and losses as ssd_r50_rock_nyuv2.py, but: a half-width ResNet-18 from
# scratch (no ImageNet weights offline; C5 = 256 x 15 x 20, still dilated at stride 16), 240x320
# input, a ROCK encoder of 128 channels, a short schedule with a higher lr (random init), lighter
# geometric augmentation, and the synthetic rooms.
_base_ = ['./ssd_r50_rock_nyuv2.py']

data_root = 'data/synthetic_nyuv2/'
img_scale = (320, 240)  # (w, h)

model = dict(
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_eval=False, init_cfg=None),
    rock=dict(in_channels=256, encoder_channels=128),
    neck=dict(in_channels=(256, ), out_channels=(256, 256, 256, 128, 128, 128, 128)),
    bbox_head=dict(
        in_channels=(256, 256, 256, 128, 128, 128, 128),
        anchor_generator=dict(
            # feature maps 15x20, 8x10, 4x5, 2x3, 1x2, 1x1, 1x1 for 240x320
            strides=[(16, 16), (32, 30), (64, 60), (320 / 3, 120), (160, 240), (320, 240),
                     (320, 240)],
            min_sizes=[12, 24, 62, 101, 139, 178, 216],
            max_sizes=[24, 62, 101, 139, 178, 216, 254])))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='LoadMultiTaskAnnotations',
        with_bbox=True,
        with_depth=True,
        with_normals=True,
        with_scene=True),
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=16,
        contrast_range=(0.8, 1.2),
        saturation_range=(0.8, 1.2),
        hue_delta=9),
    dict(
        type='MultiTaskExpand',
        mean=[123.675, 116.28, 103.53],
        to_rgb=True,
        ratio_range=(1, 1.5),
        prob=0.3),
    dict(
        type='FixedRatioMinIoURandomCrop',
        min_ious=(0.5, 0.7, 0.9),
        min_crop_size=0.6,
        max_crop_size=1.0),
    dict(type='MultiTaskResize', scale=img_scale, keep_ratio=False),
    dict(type='MultiTaskRandomFlip', prob=0.5),
    dict(type='PCALighting', std=0.1),
    dict(type='PackMultiTaskInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiTaskResize', scale=img_scale, keep_ratio=False),
    dict(type='LoadMultiTaskAnnotations', with_bbox=True),
    dict(
        type='PackMultiTaskInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=8, num_workers=1, dataset=dict(data_root=data_root, pipeline=train_pipeline))
# The demo rooms have train and test splits only (tools/demo.py converts them without
# `--val-split`): training validates once, at its last iteration, on the test rooms, and selects
# nothing there (no save_best below; tools/demo.py tests the last checkpoint).
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        data_root=data_root, ann_file='annotations/nyuv2_test.json', pipeline=test_pipeline))
test_dataloader = val_dataloader
tta_pipeline = [*test_pipeline[:2], _base_.tta_pipeline[-1]]  # flip after this config's resize
val_evaluator = [
    dict(
        type='ZeroOnEmptyCocoMetric',
        ann_file=data_root + 'annotations/nyuv2_test.json',
        metric='bbox',
        classwise=True,
        proposal_nums=(1, 10, 100)),
    dict(type='AuxiliaryTaskMetric')
]
test_evaluator = val_evaluator

max_iters = 400
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=1e-3, foreach=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[320], gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_best=None))
