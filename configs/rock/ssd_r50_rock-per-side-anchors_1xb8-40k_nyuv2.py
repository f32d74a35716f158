# ROCK with the public re-implementation's anchor scheme: per level a scale s_k that is a
# fraction of each side of the 480 x 640 input (an anchor s_k*640 wide and s_k*480 high, then
# the aspect ratios), instead of the default square anchors of min_sizes[k] pixels
# (docs/design.md, "Anchors"). First level 0.07, then linear from 0.15 to 1.05 over our 7 levels.
_base_ = ['./ssd_r50_rock_nyuv2.py']

model = dict(
    bbox_head=dict(
        anchor_generator=dict(
            _delete_=True,
            type='PerSideSSDAnchorGenerator',
            strides=_base_.model.bbox_head.anchor_generator.strides,
            ratios=_base_.model.bbox_head.anchor_generator.ratios,
            scales=[0.07, 0.15, 0.30, 0.45, 0.60, 0.75, 0.90, 1.05],
            input_size=(640, 480))))
