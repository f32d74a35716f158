# Flat multi-task learning at demo scale with per-side anchor scales: with
# ssd_r18_per-side-anchors_1xb8-400it_demo.py and ssd_r18_rock-per-side-anchors_1xb8-400it_demo.py,
# the SSD / flat MTL / ROCK comparison repeated on those anchors.
_base_ = ['./ssd_r18_flatmtl_1xb8-400it_demo.py']
from mmrock.models.task_modules import per_side_anchor_generator

model = dict(
    bbox_head=dict(
        anchor_generator=per_side_anchor_generator(
            _base_.model.bbox_head.anchor_generator, input_size=(320, 240))))
