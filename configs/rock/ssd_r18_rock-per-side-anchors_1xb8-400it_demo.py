# ROCK at demo scale with per-side anchor scales (see
# ssd_r50_rock-per-side-anchors_1xb8-40k_nyuv2.py) on the 240 x 320 demo input: the anchor scheme's
# row of the ablation.
_base_ = ['./ssd_r18_rock_demo.py']
from mmrock.models.task_modules import per_side_anchor_generator

model = dict(
    bbox_head=dict(
        anchor_generator=per_side_anchor_generator(
            _base_.model.bbox_head.anchor_generator, input_size=(320, 240))))
