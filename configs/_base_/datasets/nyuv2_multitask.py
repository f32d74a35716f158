# NYUv2 detection (19 classes) + scene / depth / normal labels, the paper's protocol: train on
# 673 images, validate (and keep the best checkpoint) on 122 images of scenes moved out of the
# official 795 training images, test on the official 654 test images, which select nothing.
# Data as written by the NYUv2 converter with `--val-split SCENES.txt` (tools/dataset_converters;
# docs/nyuv2.md, "Protocols"): annotations/nyuv2_{train,val,test}.json.
# Types below live in mmdet's registries once mmrock is imported: the
# inheriting config gets `default_scope = 'mmdet'` and
# `custom_imports = dict(imports=['mmrock'])` from _base_/default_runtime.py
# (defining them here too would be a duplicate key among bases).

dataset_type = 'NYUv2MultiTaskDataset'
data_root = 'data/nyuv2/'
backend_args = None
data_prefix = dict(img='images/', depth='depth/', normal='normals/', normal_mask='normal_masks/')
img_scale = (640, 480)  # (w, h)
mean_rgb = [123.675, 116.28, 103.53]  # canvas fill of Expand (image is BGR)

# SSD augmentation with fixed-aspect crops, then flip and PCA lighting
# (docs/design.md, "Training and augmentation"). Depth and normals follow the geometry.
photometric_distortion = dict(
    type='PhotoMetricDistortion',
    brightness_delta=32,
    contrast_range=(0.5, 1.5),
    saturation_range=(0.5, 1.5),
    hue_delta=18)
train_geometry = [
    dict(type='MultiTaskExpand', mean=mean_rgb, to_rgb=True, ratio_range=(1, 4), prob=0.5),
    dict(
        type='FixedRatioMinIoURandomCrop',
        min_ious=(0.1, 0.3, 0.5, 0.7, 0.9),
        min_crop_size=0.3,
        max_crop_size=1.0),
    dict(type='MultiTaskResize', scale=img_scale, keep_ratio=False),
    dict(type='MultiTaskRandomFlip', prob=0.5),
]
multitask_labels = dict(with_bbox=True, with_depth=True, with_normals=True, with_scene=True)
# The reference pipeline, from the PNGs.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadMultiTaskAnnotations', **multitask_labels), photometric_distortion,
    *train_geometry,
    dict(type='PCALighting', std=0.1),
    dict(type='PackMultiTaskInputs')
]
# What training runs: the same steps on the split's decode-free pack (raw arrays that the NYUv2
# converter writes into packed/ next to the PNGs: mmrock/datasets/packed_split.py), the geometric
# steps fused into one resampling per map (FusedGeometry; the dense labels are decoded once, at
# the output size). The same samples for a given seed as train_pipeline (tests/
# test_packed_split.py: it is `fused_pipeline(train_pipeline, packed=True)`), ~4.7x the images
# per second per worker (benchmarks/RESULTS.md). A config inheriting this file trains from the
# PNGs with `train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))`.
packed_train_pipeline = [
    dict(type='LoadPackedImage'),
    dict(type='LoadPackedMultiTaskAnnotations', decode_dense=False, **multitask_labels),
    photometric_distortion,
    dict(type='FusedGeometry', transforms=train_geometry),
    dict(type='PCALighting', std=0.1),
    dict(type='PackMultiTaskInputs')
]
# Labels are loaded after Resize (mmdet convention): dense labels stay at the
# original resolution and AuxiliaryTaskMetric resizes predictions to them.
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='MultiTaskResize', scale=img_scale, keep_ratio=False),
    dict(type='LoadMultiTaskAnnotations', with_bbox=True),
    dict(
        type='PackMultiTaskInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/nyuv2_train.json',  # 673 images (795 minus the val scenes)
        data_prefix=data_prefix,
        pack='packed/nyuv2_train/',
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=packed_train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/nyuv2_val.json',
        data_prefix=data_prefix,
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], ann_file='annotations/nyuv2_test.json'))

# Test-time augmentation (tools/test.py --tta, with a model base's tta_model): each image and its
# mirror image, after test_pipeline's load and resize. The labels are loaded after the flip, so
# they stay as they are. A dataset with its own test pipeline keeps the last step and puts its
# own first two in front (see synthetic-rooms_multitask.py).
tta_pipeline = [
    *test_pipeline[:2],
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='RandomFlip', prob=0.),
                     dict(type='RandomFlip', prob=1.)], [test_pipeline[2]],
                    [
                        dict(
                            type='PackMultiTaskInputs',
                            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                       'scale_factor', 'flip', 'flip_direction'))
                    ]])
]

val_evaluator = [
    # mmdet's CocoMetric, giving 0 mAP (not an empty result) to a model without detections
    dict(
        type='ZeroOnEmptyCocoMetric',
        ann_file=data_root + 'annotations/nyuv2_val.json',
        metric='bbox',
        classwise=True,
        # COCOeval's standard maxDets (mmdet's default scores 1000 detections per image)
        proposal_nums=(1, 10, 100),
        format_only=False,
        backend_args=backend_args),
    dict(type='AuxiliaryTaskMetric')
]
test_evaluator = [
    dict(val_evaluator[0], ann_file=data_root + 'annotations/nyuv2_test.json'), val_evaluator[1]
]
