# `make demo` scale: auxiliary losses weighed by GradNorm, alpha = 1.5, on the ROCK encoder's
# last conv (ssd_r50_rock-gradnorm_1xb8-40k_nyuv2.py).
_base_ = ['./ssd_r18_rock-equal_1xb8-400it_demo.py']

model = dict(
    loss_balancer=dict(type='GradNorm', alpha=1.5, shared_param='rock.encoder.1.conv.weight'))
