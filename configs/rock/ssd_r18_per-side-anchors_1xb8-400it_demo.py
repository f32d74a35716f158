# The SSD baseline at demo scale with per-side anchor scales (as
# ssd_r18_rock-per-side-anchors_1xb8-400it_demo.py does for ROCK): separates the anchors' effect
# from ROCK's in the ablation.
_base_ = ['./ssd_r18_1xb8-400it_demo.py']
from mmrock.models.task_modules import per_side_anchor_generator

model = dict(
    bbox_head=dict(
        anchor_generator=per_side_anchor_generator(
            _base_.model.bbox_head.anchor_generator, input_size=(320, 240))))
