# SSD baseline (the model of ssd_r50_nyuv2.py) under the public re-implementation's protocol:
# train on all 795 images, 30k iterations (lr drop at 25k), no validation, the last checkpoint
# tested on the 654 test images. Siblings: ssd_r50_flatmtl_1xb8-30k_nyuv2-795.py and
# ssd_r50_rock_1xb8-30k_nyuv2-795.py.
_base_ = [
    '../_base_/models/ssd_r50_dilated.py', '../_base_/datasets/nyuv2-795_multitask.py',
    '../_base_/schedules/adam_30k.py', '../_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=dict(save_best=None))  # no validation: nothing to select on
# test-time augmentation (tools/test.py --tta): mmdet's box merging over the dataset's
# tta_pipeline (each image and its mirror image), NMS as the model's test_cfg
tta_model = dict(
    type='DetTTAModel',
    tta_cfg=dict(nms=_base_.model.test_cfg.nms, max_per_img=_base_.model.test_cfg.max_per_img))
