# `make demo` scale: auxiliary losses weighed by Dynamic Weight Average, T = 2, windows of 28
# iterations (one epoch of the 221 training rooms at batch 8). Every task weighted 1 first, as in
# ssd_r18_rock-equal_1xb8-400it_demo.py.
_base_ = ['./ssd_r18_rock_demo.py']

model = dict(
    rock=dict(aux_heads={t: dict(loss=dict(loss_weight=1.))
                         for t in ('scene', 'depth', 'normals')}),
    loss_balancer=dict(type='DynamicWeightAverage', temperature=2.0, window=28))
