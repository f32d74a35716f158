# `make demo` scale: ROCK with every task weighted 1, the untuned baseline of the loss-balancing
# demo configs, which set the same weights (see ssd_r50_rock-equal_1xb8-40k_nyuv2.py).
_base_ = ['./ssd_r18_rock_demo.py']

model = dict(
    rock=dict(aux_heads={t: dict(loss=dict(loss_weight=1.))
                         for t in ('scene', 'depth', 'normals')}))
