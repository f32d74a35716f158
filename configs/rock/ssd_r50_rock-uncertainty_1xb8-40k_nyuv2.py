# ROCK, auxiliary losses weighed by learned homoscedastic uncertainty (Kendall et al., CVPR 2018);
# detection keeps weight 1 (`include_detection=True` weighs it too). Every task weighted 1 first,
# as in ssd_r50_rock-equal_1xb8-40k_nyuv2.py.
_base_ = ['./ssd_r50_rock_nyuv2.py']

model = dict(
    rock=dict(aux_heads={t: dict(loss=dict(loss_weight=1.))
                         for t in ('scene', 'depth', 'normals')}),
    loss_balancer=dict(type='UncertaintyWeighting', init_log_var=0.0))
