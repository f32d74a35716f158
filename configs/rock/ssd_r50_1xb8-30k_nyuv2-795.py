# SSD baseline (ssd_r50_nyuv2.py) under the public re-implementation's protocol: train on all
# 795 images, 30k iterations (lr drop at 25k), no validation, the last checkpoint tested on the
# 654 test images (ssd_r50_rock_1xb8-30k_nyuv2-795.py, whose data and schedule it takes).
_base_ = ['./ssd_r50_rock_1xb8-30k_nyuv2-795.py']

# the ROCK detector's SSD parts (ssd_r50_nyuv2.py's model), without the ROCK block
model = dict(
    _delete_=True,
    type='SingleStageDetector',
    **{
        k: v
        for k, v in _base_.model.items() if k not in ('type', 'detector_type', 'rock')
    })
tta_model = dict(type='DetTTAModel', tta_cfg=_base_.tta_model.tta_cfg)
