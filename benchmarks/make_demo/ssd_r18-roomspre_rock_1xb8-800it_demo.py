auto_scale_lr = dict(base_batch_size=8, enable=False)
backend_args = None
custom_hooks = [
    dict(interval=1, type='CheckNonFiniteLossHook'),
]
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'mmrock',
    ])
data_prefix = dict(
    depth='depth/',
    img='images/',
    normal='normals/',
    normal_mask='normal_masks/')
data_root = 'data/synthetic_nyuv2/'
dataset_type = 'NYUv2MultiTaskDataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False,
        interval=800,
        max_keep_ckpts=1,
        rule='greater',
        save_best=None,
        type='ResumableCheckpointHook'),
    logger=dict(interval=10, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'),
    visualization=dict(type='DetVisualizationHook'))
default_scope = 'mmdet'
env_cfg = dict(
    cudnn_benchmark=True,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
img_scale = (
    320,
    240,
)
launcher = 'none'
load_from = None
log_level = 'INFO'
log_processor = dict(by_epoch=False, type='LogProcessor', window_size=50)
max_iters = 800
mean_rgb = [
    123.675,
    116.28,
    103.53,
]
model = dict(
    backbone=dict(
        base_channels=32,
        depth=18,
        dilations=(
            1,
            1,
            1,
            2,
        ),
        frozen_stages=1,
        init_cfg=dict(
            checkpoint='benchmarks/pretrain/resnet18-w32_rooms.pth',
            type='Pretrained'),
        norm_cfg=dict(requires_grad=True, type='BN'),
        norm_eval=True,
        num_stages=4,
        out_indices=(3, ),
        strides=(
            1,
            2,
            2,
            1,
        ),
        style='pytorch',
        type='ResNet'),
    bbox_head=dict(
        anchor_generator=dict(
            max_sizes=[
                24,
                62,
                101,
                139,
                178,
                216,
                254,
            ],
            min_sizes=[
                12,
                24,
                62,
                101,
                139,
                178,
                216,
            ],
            ratios=(
                [
                    2,
                ],
                [
                    2,
                    3,
                ],
                [
                    2,
                    3,
                ],
                [
                    2,
                    3,
                ],
                [
                    2,
                    3,
                ],
                [
                    2,
                ],
                [
                    2,
                ],
            ),
            scale_major=False,
            strides=[
                (
                    16,
                    16,
                ),
                (
                    32,
                    30,
                ),
                (
                    64,
                    60,
                ),
                (
                    106.66666666666667,
                    120,
                ),
                (
                    160,
                    240,
                ),
                (
                    320,
                    240,
                ),
                (
                    320,
                    240,
                ),
            ],
            type='SSDAnchorGenerator'),
        bbox_coder=dict(
            target_means=[
                0.0,
                0.0,
                0.0,
                0.0,
            ],
            target_stds=[
                0.1,
                0.1,
                0.2,
                0.2,
            ],
            type='DeltaXYWHBBoxCoder'),
        in_channels=(
            256,
            256,
            256,
            128,
            128,
            128,
            128,
        ),
        loss_bbox=dict(beta=1.0, loss_weight=3.0, type='SmoothL1Loss'),
        loss_cls=dict(
            loss_weight=1.0, type='CrossEntropyLoss', use_sigmoid=False),
        num_classes=19,
        prior_prob=0.01,
        type='ROCKSSDHead'),
    data_preprocessor=dict(
        bgr_to_rgb=True,
        mean=[
            123.675,
            116.28,
            103.53,
        ],
        pad_size_divisor=16,
        std=[
            58.395,
            57.12,
            57.375,
        ],
        type='DetDataPreprocessor'),
    detector_type='SingleStageDetector',
    neck=dict(
        in_channels=(256, ),
        l2_norm_scale=None,
        level_paddings=(
            1,
            1,
            1,
            1,
            1,
            1,
        ),
        level_strides=(
            2,
            2,
            2,
            2,
            2,
            2,
        ),
        norm_cfg=dict(type='BN'),
        out_channels=(
            256,
            256,
            256,
            128,
            128,
            128,
            128,
        ),
        type='SSDNeck'),
    rock=dict(
        aux_heads=dict(
            depth=dict(
                log_depth=False,
                loss=dict(
                    loss_weight=3.0, threshold_ratio=0.2, type='BerHuLoss'),
                maps_per_out_channel=128,
                type='DepthHead'),
            normals=dict(
                loss=dict(loss_weight=30.0, type='NormalCosineLoss'),
                maps_per_out_channel=128,
                type='NormalHead'),
            scene=dict(
                loss=dict(loss_weight=3.0, type='CrossEntropyLoss'),
                num_classes=27,
                type='SceneHead')),
        encoder_channels=128,
        fusion_norm_act=False,
        in_channels=256,
        in_index=-1,
        residual=True,
        type='ROCKNeck'),
    test_cfg=dict(
        max_per_img=100,
        min_bbox_size=0,
        nms=dict(iou_threshold=0.3, type='nms'),
        nms_pre=1000,
        score_thr=0.0),
    train_cfg=dict(
        allowed_border=-1,
        assigner=dict(
            gt_max_assign_all=False,
            ignore_iof_thr=-1,
            min_pos_iou=0.0,
            neg_iou_thr=0.4,
            pos_iou_thr=0.5,
            type='MaxIoUAssigner'),
        debug=False,
        neg_pos_ratio=3,
        pos_weight=-1,
        sampler=dict(type='PseudoSampler')),
    type='ROCKDetector')
multitask_labels = dict(
    with_bbox=True, with_depth=True, with_normals=True, with_scene=True)
optim_wrapper = dict(
    optimizer=dict(foreach=True, lr=0.001, type='Adam'), type='OptimWrapper')
packed_train_pipeline = [
    dict(type='LoadPackedImage'),
    dict(
        decode_dense=False,
        type='LoadPackedMultiTaskAnnotations',
        with_bbox=True,
        with_depth=True,
        with_normals=True,
        with_scene=True),
    dict(
        brightness_delta=32,
        contrast_range=(
            0.5,
            1.5,
        ),
        hue_delta=18,
        saturation_range=(
            0.5,
            1.5,
        ),
        type='PhotoMetricDistortion'),
    dict(
        transforms=[
            dict(
                mean=[
                    123.675,
                    116.28,
                    103.53,
                ],
                prob=0.5,
                ratio_range=(
                    1,
                    4,
                ),
                to_rgb=True,
                type='MultiTaskExpand'),
            dict(
                max_crop_size=1.0,
                min_crop_size=0.3,
                min_ious=(
                    0.1,
                    0.3,
                    0.5,
                    0.7,
                    0.9,
                ),
                type='FixedRatioMinIoURandomCrop'),
            dict(keep_ratio=False, scale=(
                640,
                480,
            ), type='MultiTaskResize'),
            dict(prob=0.5, type='MultiTaskRandomFlip'),
        ],
        type='FusedGeometry'),
    dict(std=0.1, type='PCALighting'),
    dict(type='PackMultiTaskInputs'),
]
param_scheduler = [
    dict(begin=0, by_epoch=False, end=50, start_factor=0.1, type='LinearLR'),
    dict(
        begin=0,
        by_epoch=False,
        end=800,
        gamma=0.1,
        milestones=[
            640,
        ],
        type='MultiStepLR'),
]
photometric_distortion = dict(
    brightness_delta=32,
    contrast_range=(
        0.5,
        1.5,
    ),
    hue_delta=18,
    saturation_range=(
        0.5,
        1.5,
    ),
    type='PhotoMetricDistortion')
randomness = dict(seed=0)
resume = False
rooms_pretrained_backbone = dict(
    frozen_stages=1,
    init_cfg=dict(
        _delete_=True,
        checkpoint='benchmarks/pretrain/resnet18-w32_rooms.pth',
        type='Pretrained'),
    norm_eval=True)
test_cfg = dict(type='TestLoop')
test_dataloader = dict(
    batch_size=8,
    dataset=dict(
        ann_file='annotations/nyuv2_test.json',
        backend_args=None,
        data_prefix=dict(
            depth='depth/',
            img='images/',
            normal='normals/',
            normal_mask='normal_masks/'),
        data_root='data/synthetic_nyuv2/',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(keep_ratio=False, scale=(
                320,
                240,
            ), type='MultiTaskResize'),
            dict(type='LoadMultiTaskAnnotations', with_bbox=True),
            dict(
                meta_keys=(
                    'img_id',
                    'img_path',
                    'ori_shape',
                    'img_shape',
                    'scale_factor',
                ),
                type='PackMultiTaskInputs'),
        ],
        test_mode=True,
        type='NYUv2MultiTaskDataset'),
    drop_last=False,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = [
    dict(
        ann_file='data/synthetic_nyuv2/annotations/nyuv2_test.json',
        classwise=True,
        metric='bbox',
        proposal_nums=(
            1,
            10,
            100,
        ),
        type='ZeroOnEmptyCocoMetric'),
    dict(type='AuxiliaryTaskMetric'),
    dict(
        ann_file='data/synthetic_nyuv2/annotations/nyuv2_test.json',
        score_thr=0.3,
        type='ScoreThresholdMetric'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(keep_ratio=False, scale=(
        320,
        240,
    ), type='MultiTaskResize'),
    dict(type='LoadMultiTaskAnnotations', with_bbox=True),
    dict(
        meta_keys=(
            'img_id',
            'img_path',
            'ori_shape',
            'img_shape',
            'scale_factor',
        ),
        type='PackMultiTaskInputs'),
]
train_cfg = dict(max_iters=800, type='IterBasedTrainLoop', val_interval=800)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        ann_file='annotations/nyuv2_train.json',
        backend_args=None,
        data_prefix=dict(
            depth='depth/',
            img='images/',
            normal='normals/',
            normal_mask='normal_masks/'),
        data_root='data/synthetic_nyuv2/',
        filter_cfg=dict(filter_empty_gt=False),
        pack='packed/nyuv2_train/',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(
                type='LoadMultiTaskAnnotations',
                with_bbox=True,
                with_depth=True,
                with_normals=True,
                with_scene=True),
            dict(
                brightness_delta=16,
                contrast_range=(
                    0.8,
                    1.2,
                ),
                hue_delta=9,
                saturation_range=(
                    0.8,
                    1.2,
                ),
                type='PhotoMetricDistortion'),
            dict(
                mean=[
                    123.675,
                    116.28,
                    103.53,
                ],
                prob=0.3,
                ratio_range=(
                    1,
                    1.5,
                ),
                to_rgb=True,
                type='MultiTaskExpand'),
            dict(
                max_crop_size=1.0,
                min_crop_size=0.6,
                min_ious=(
                    0.5,
                    0.7,
                    0.9,
                ),
                type='FixedRatioMinIoURandomCrop'),
            dict(keep_ratio=False, scale=(
                320,
                240,
            ), type='MultiTaskResize'),
            dict(prob=0.5, type='MultiTaskRandomFlip'),
            dict(std=0.1, type='PCALighting'),
            dict(type='PackMultiTaskInputs'),
        ],
        type='NYUv2MultiTaskDataset'),
    num_workers=1,
    persistent_workers=True,
    sampler=dict(shuffle=True, type='InfiniteSampler'))
train_geometry = [
    dict(
        mean=[
            123.675,
            116.28,
            103.53,
        ],
        prob=0.5,
        ratio_range=(
            1,
            4,
        ),
        to_rgb=True,
        type='MultiTaskExpand'),
    dict(
        max_crop_size=1.0,
        min_crop_size=0.3,
        min_ious=(
            0.1,
            0.3,
            0.5,
            0.7,
            0.9,
        ),
        type='FixedRatioMinIoURandomCrop'),
    dict(keep_ratio=False, scale=(
        640,
        480,
    ), type='MultiTaskResize'),
    dict(prob=0.5, type='MultiTaskRandomFlip'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='LoadMultiTaskAnnotations',
        with_bbox=True,
        with_depth=True,
        with_normals=True,
        with_scene=True),
    dict(
        brightness_delta=16,
        contrast_range=(
            0.8,
            1.2,
        ),
        hue_delta=9,
        saturation_range=(
            0.8,
            1.2,
        ),
        type='PhotoMetricDistortion'),
    dict(
        mean=[
            123.675,
            116.28,
            103.53,
        ],
        prob=0.3,
        ratio_range=(
            1,
            1.5,
        ),
        to_rgb=True,
        type='MultiTaskExpand'),
    dict(
        max_crop_size=1.0,
        min_crop_size=0.6,
        min_ious=(
            0.5,
            0.7,
            0.9,
        ),
        type='FixedRatioMinIoURandomCrop'),
    dict(keep_ratio=False, scale=(
        320,
        240,
    ), type='MultiTaskResize'),
    dict(prob=0.5, type='MultiTaskRandomFlip'),
    dict(std=0.1, type='PCALighting'),
    dict(type='PackMultiTaskInputs'),
]
tta_model = dict(
    tta_cfg=dict(max_per_img=100, nms=dict(iou_threshold=0.3, type='nms')),
    type='ROCKTTAModel')
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(keep_ratio=False, scale=(
        320,
        240,
    ), type='MultiTaskResize'),
    dict(
        transforms=[
            [
                dict(prob=0.0, type='RandomFlip'),
                dict(prob=1.0, type='RandomFlip'),
            ],
            [
                dict(type='LoadMultiTaskAnnotations', with_bbox=True),
            ],
            [
                dict(
                    meta_keys=(
                        'img_id',
                        'img_path',
                        'ori_shape',
                        'img_shape',
                        'scale_factor',
                        'flip',
                        'flip_direction',
                    ),
                    type='PackMultiTaskInputs'),
            ],
        ],
        type='TestTimeAug'),
]
val_cfg = dict(type='ValLoop')
val_dataloader = dict(
    batch_size=8,
    dataset=dict(
        ann_file='annotations/nyuv2_val.json',
        backend_args=None,
        data_prefix=dict(
            depth='depth/',
            img='images/',
            normal='normals/',
            normal_mask='normal_masks/'),
        data_root='data/synthetic_nyuv2/',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(keep_ratio=False, scale=(
                320,
                240,
            ), type='MultiTaskResize'),
            dict(type='LoadMultiTaskAnnotations', with_bbox=True),
            dict(
                meta_keys=(
                    'img_id',
                    'img_path',
                    'ori_shape',
                    'img_shape',
                    'scale_factor',
                ),
                type='PackMultiTaskInputs'),
        ],
        test_mode=True,
        type='NYUv2MultiTaskDataset'),
    drop_last=False,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = [
    dict(
        ann_file='data/synthetic_nyuv2/annotations/nyuv2_val.json',
        classwise=True,
        metric='bbox',
        proposal_nums=(
            1,
            10,
            100,
        ),
        type='ZeroOnEmptyCocoMetric'),
    dict(type='AuxiliaryTaskMetric'),
    dict(
        ann_file='data/synthetic_nyuv2/annotations/nyuv2_val.json',
        type='ScoreThresholdMetric'),
]
vis_backends = [
    dict(type='LocalVisBackend'),
]
visualizer = dict(
    name='visualizer',
    type='ROCKLocalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
    ])
work_dir = 'work_dirs/demo'
