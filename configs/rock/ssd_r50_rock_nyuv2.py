# ROCK: the SSD baseline with the ROCK block refining C5 (docs/design.md, "The model"):
# shared encoder 2048 -> 512 -> 512, linear task convs into 27 / 128 / 3 x 128 maps, pooling
# predictors, decoders back to 2048, residual sum. Loss weights: scene 3, depth 3, normals 30.
# Same data protocol as ssd_r50_nyuv2.py (train 673 / val 122 / test 654).
_base_ = ['./ssd_r50_nyuv2.py']

model = dict(
    type='ROCKDetector',
    detector_type='SingleStageDetector',
    rock=dict(
        type='ROCKNeck',
        in_channels=2048,
        in_index=-1,
        encoder_channels=512,
        aux_heads=dict(
            scene=dict(
                type='SceneHead',
                num_classes=27,
                loss=dict(type='CrossEntropyLoss', loss_weight=3.0)),
            depth=dict(
                type='DepthHead',
                num_maps=128,
                log_depth=False,
                loss=dict(type='BerHuLoss', threshold_ratio=0.2, loss_weight=3.0)),
            normals=dict(
                type='NormalHead',
                maps_per_component=128,
                loss=dict(type='NormalCosineLoss', loss_weight=30.0))),
        residual=True,
        fusion_norm_act=False))

# Test-time augmentation (tools/test.py --tta): each image and its mirror image. ROCKTTAModel
# merges the boxes (NMS as the model's test_cfg) and the auxiliary outputs (mirrored back, the
# normals' x negated back, averaged). The labels are loaded after the flip, so they stay as
# they are. _base_.test_pipeline: load the image, resize, load the labels, pack. A config
# with its own test pipeline sets its own TTA pipeline too (see ssd_r18_rock_demo.py).
tta_model = dict(
    type='ROCKTTAModel',
    tta_cfg=dict(nms=_base_.model.test_cfg.nms, max_per_img=_base_.model.test_cfg.max_per_img))
tta_pipeline = [
    *_base_.test_pipeline[:2],
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='RandomFlip', prob=0.),
                     dict(type='RandomFlip', prob=1.)], [_base_.test_pipeline[2]],
                    [
                        dict(
                            type='PackMultiTaskInputs',
                            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                       'scale_factor', 'flip', 'flip_direction'))
                    ]])
]
