# ROCK, auxiliary losses weighed by Dynamic Weight Average (Liu et al., CVPR 2019): T = 2, loss
# averages over windows of 100 iterations (one epoch of the 795 training images at batch 8).
# Every task weighted 1 first, as in ssd_r50_rock-equal_1xb8-40k_nyuv2.py.
_base_ = ['./ssd_r50_rock_nyuv2.py']

model = dict(
    rock=dict(aux_heads={t: dict(loss=dict(loss_weight=1.))
                         for t in ('scene', 'depth', 'normals')}),
    loss_balancer=dict(type='DynamicWeightAverage', temperature=2.0, window=100))
