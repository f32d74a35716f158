# ROCK with the public re-implementation's anchor scheme: per level a scale s_k that is a
# fraction of each side of the 480 x 640 input (an anchor s_k*640 wide and s_k*480 high, then
# the aspect ratios), instead of the default square anchors of min_sizes[k] pixels
# (docs/design.md, "Anchors"). First level 0.07, then linear from 0.15 to 1.05 over our 7 levels.
_base_ = ['./ssd_r50_rock_nyuv2.py']
from mmrock.models.task_modules import per_side_anchor_generator

model = dict(
    bbox_head=dict(
        anchor_generator=per_side_anchor_generator(
            _base_.model.bbox_head.anchor_generator, input_size=(640, 480))))
