# `make demo` scale: auxiliary losses weighed by learned uncertainty
# (ssd_r50_rock-uncertainty_1xb8-40k_nyuv2.py). Every task weighted 1 first, as in
# ssd_r18_rock-equal_1xb8-400it_demo.py.
_base_ = ['./ssd_r18_rock_demo.py']

model = dict(
    rock=dict(aux_heads={t: dict(loss=dict(loss_weight=1.))
                         for t in ('scene', 'depth', 'normals')}),
    loss_balancer=dict(type='UncertaintyWeighting', init_log_var=0.0))
