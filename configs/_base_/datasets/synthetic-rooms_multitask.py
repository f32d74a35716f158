# The demo's data: synthetic rooms in the NYUv2 converter's format (tools/demo.py makes them with
# tools/dataset_converters/make_synthetic_nyuv2.py, then nyuv2.py), read at 240 x 320 with
# lighter geometric augmentation than nyuv2_multitask.py (whose other settings it keeps).
_base_ = ['./nyuv2_multitask.py']

data_root = 'data/synthetic_nyuv2/'
img_scale = (320, 240)  # (w, h)

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
# nothing there (the demo configs set no save_best; tools/demo.py tests the last checkpoint).
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        data_root=data_root, ann_file='annotations/nyuv2_test.json', pipeline=test_pipeline))
test_dataloader = val_dataloader
tta_pipeline = [*test_pipeline[:2], _base_.tta_pipeline[-1]]  # flip after this file's resize
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
