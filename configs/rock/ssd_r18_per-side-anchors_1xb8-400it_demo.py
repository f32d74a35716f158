# The SSD baseline at demo scale with per-side anchor scales (as
# ssd_r18_rock-per-side-anchors_1xb8-400it_demo.py does for ROCK): separates the anchors' effect
# from ROCK's in the ablation.
_base_ = ['./ssd_r18_1xb8-400it_demo.py']

model = dict(
    bbox_head=dict(
        anchor_generator=dict(
            _delete_=True,
            type='PerSideSSDAnchorGenerator',
            strides=_base_.model.bbox_head.anchor_generator.strides,
            ratios=_base_.model.bbox_head.anchor_generator.ratios,
            scales=[0.07, 0.15, 0.30, 0.45, 0.60, 0.75, 0.90, 1.05],
            input_size=(320, 240))))
