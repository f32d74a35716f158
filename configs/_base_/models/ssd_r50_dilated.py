# SSD on a ResNet-50 whose last stage is dilated (C5 at stride 16: 2048 x 30 x 40 for 480 x 640),
# plus 6 extra feature maps (1x1 reduce + 3x3 stride-2 conv each, as in SSD), 19 NYUv2 classes.
# Anchors are laid on the 480 x 640 input: per level, strides (w, h) = input size / feature size,
# sizes from the shorter side (480): level 1 from 5% to 10%, then linear 10% -> 90% as in SSD.
model = dict(
    type='SingleStageDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=16),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(3, ),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        # torchvision's ImageNet-1k weights (the paper's initialisation), downloaded by URL so
        # that no torchvision is needed; tools/train.py verifies the file's SHA-256 first.
        # Offline: point `checkpoint` at a local copy of the file (docs/train_test.md,
        # "Pretrained weights").
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet50-0676ba61.pth')),
    neck=dict(
        type='SSDNeck',
        in_channels=(2048, ),
        out_channels=(2048, 512, 512, 256, 256, 256, 256),
        level_strides=(2, 2, 2, 2, 2, 2),
        level_paddings=(1, 1, 1, 1, 1, 1),
        l2_norm_scale=None,
        # BN in the randomly initialised extra layers (choice: SSD had none; it steadies Adam
        # on features that are not L2-normalised).
        norm_cfg=dict(type='BN')),
    bbox_head=dict(
        type='ROCKSSDHead',
        in_channels=(2048, 512, 512, 256, 256, 256, 256),
        num_classes=19,
        anchor_generator=dict(
            type='SSDAnchorGenerator',
            scale_major=False,
            # feature maps 30x40, 15x20, 8x10, 4x5, 2x3, 1x2, 1x1 for 480x640
            strides=[(16, 16), (32, 32), (64, 60), (128, 120), (640 / 3, 240), (320, 480),
                     (640, 480)],
            ratios=([2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]),
            min_sizes=[24, 48, 125, 202, 278, 355, 432],
            max_sizes=[48, 125, 202, 278, 355, 432, 509]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=3.0),
        prior_prob=0.01),
    # RetinaNet matching: IoU >= 0.5 positive, < 0.4 negative, in between ignored;
    # SSD hard negative mining at 3 negatives per positive.
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0.,
            ignore_iof_thr=-1,
            gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        neg_pos_ratio=3,
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        nms=dict(type='nms', iou_threshold=0.3),
        min_bbox_size=0,
        score_thr=0.02,
        max_per_img=100))
