# `make demo` scale: auxiliary losses weighed by learned uncertainty
# (ssd_r50_rock-uncertainty_1xb8-40k_nyuv2.py).
_base_ = ['./ssd_r18_rock-equal_1xb8-400it_demo.py']

model = dict(loss_balancer=dict(type='UncertaintyWeighting', init_log_var=0.0))
