# ROCK: the SSD baseline with the ROCK block refining C5 (SPEC 1): shared encoder
# 2048 -> 512 -> 512, linear task convs into 27 / 128 / 3 x 128 maps, pooling predictors,
# decoders back to 2048, residual sum. Loss weights: scene 3, depth 3, normals 30.
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
            scene=dict(type='SceneHead', num_classes=27,
                       loss=dict(type='CrossEntropyLoss', loss_weight=3.0)),
            depth=dict(type='DepthHead', num_maps=128, log_depth=False,
                       loss=dict(type='BerHuLoss', threshold_ratio=0.2, loss_weight=3.0)),
            normals=dict(type='NormalHead', maps_per_component=128,
                         loss=dict(type='NormalCosineLoss', loss_weight=30.0))),
        residual=True,
        fusion_norm_act=False))
