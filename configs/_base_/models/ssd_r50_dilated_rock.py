# ROCK on the SSD of ssd_r50_dilated.py: the residual auxiliary block refines C5 before the SSD
# neck (docs/design.md, "The model"): a shared encoder 2048 -> 512 -> 512, linear task convs into
# 27 / 128 / 3 x 128 maps, pooling predictors (scene class, depth, surface normals), decoders back
# to 2048 channels, summed into C5 (residual=True). Loss weights: scene 3, depth 3, normals 30.
# With residual=False the same heads train on C5 and the detector sees C5 unrefined: the flat
# multi-task baseline, a sibling of the ROCK config built from this file.
_base_ = ['./ssd_r50_dilated.py']

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
                maps_per_out_channel=128,
                log_depth=False,
                loss=dict(type='BerHuLoss', threshold_ratio=0.2, loss_weight=3.0)),
            normals=dict(
                type='NormalHead',
                maps_per_out_channel=128,
                loss=dict(type='NormalCosineLoss', loss_weight=30.0))),
        residual=True,
        fusion_norm_act=False))

# Test-time augmentation (tools/test.py --tta) with the dataset's tta_pipeline (each image and its
# mirror image): ROCKTTAModel merges the boxes (NMS as the model's test_cfg) and the auxiliary
# outputs (mirrored back, the normals' x negated back, averaged).
tta_model = dict(
    type='ROCKTTAModel',
    tta_cfg=dict(nms=_base_.model.test_cfg.nms, max_per_img=_base_.model.test_cfg.max_per_img))
