# `make demo` scale: auxiliary losses weighed by Dynamic Weight Average, T = 2, windows of 28
# iterations (one epoch of the 221 training rooms at batch 8).
_base_ = ['./ssd_r18_rock-equal_1xb8-400it_demo.py']

model = dict(loss_balancer=dict(type='DynamicWeightAverage', temperature=2.0, window=28))
