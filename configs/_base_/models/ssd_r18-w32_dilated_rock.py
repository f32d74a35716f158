# ROCK on the demo's SSD: the settings of ssd_r18-w32_dilated.py (half-width ResNet-18 from
# scratch, 240 x 320 input) with the block of ssd_r50_dilated_rock.py on its 256-channel C5, the
# encoder 128 channels wide. Both files are repeated here rather than inherited, so that the demo
# configs stay within three levels of inheritance (mmengine composes one chain of bases);
# tests/test_configs/test_config_tree.py checks that the copies agree.
_base_ = ['./ssd_r50_dilated.py']

model = dict(
    type='ROCKDetector',
    detector_type='SingleStageDetector',
    rock=dict(
        type='ROCKNeck',
        in_channels=256,
        in_index=-1,
        encoder_channels=128,
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
        fusion_norm_act=False),
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=(256, ), out_channels=(256, 256, 256, 128, 128, 128, 128)),
    bbox_head=dict(
        in_channels=(256, 256, 256, 128, 128, 128, 128),
        anchor_generator=dict(
            # feature maps 15x20, 8x10, 4x5, 2x3, 1x2, 1x1, 1x1 for 240x320
            strides=[(16, 16), (32, 30), (64, 60), (320 / 3, 120), (160, 240), (320, 240),
                     (320, 240)],
            min_sizes=[12, 24, 62, 101, 139, 178, 216],
            max_sizes=[24, 62, 101, 139, 178, 216, 254])))

# test-time augmentation as in ssd_r50_dilated_rock.py
tta_model = dict(
    type='ROCKTTAModel',
    tta_cfg=dict(nms=_base_.model.test_cfg.nms, max_per_img=_base_.model.test_cfg.max_per_img))
