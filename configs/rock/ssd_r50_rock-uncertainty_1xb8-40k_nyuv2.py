# ROCK, auxiliary losses weighed by learned homoscedastic uncertainty (Kendall et al., CVPR 2018);
# detection keeps weight 1 (`include_detection=True` weighs it too).
_base_ = ['./ssd_r50_rock-equal_1xb8-40k_nyuv2.py']

model = dict(loss_balancer=dict(type='UncertaintyWeighting', init_log_var=0.0))
