# The demo's SSD, light enough to learn in minutes on 2 CPU cores: ssd_r50_dilated.py on a
# half-width ResNet-18 (32 base channels) from scratch (no ImageNet weights offline), its last
# stage still dilated (C5 = 256 x 15 x 20 at stride 16 for a 240 x 320 input), narrower extra
# layers, and the anchors laid on the 240 x 320 input by the same rule.
# ssd_r18-w32_dilated_rock.py repeats these settings with ROCK (mmengine composes one chain of
# bases; tests/test_configs/test_config_tree.py checks that the two agree).
_base_ = ['./ssd_r50_dilated.py']

model = dict(
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
