# `make demo` scale: auxiliary losses weighed by GradNorm, alpha = 1.5, on the ROCK encoder's
# last conv (ssd_r50_rock-gradnorm_1xb8-40k_nyuv2.py). Every task weighted 1 first, as in
# ssd_r18_rock-equal_1xb8-400it_demo.py.
_base_ = ['./ssd_r18_rock_demo.py']

model = dict(
    rock=dict(aux_heads={t: dict(loss=dict(loss_weight=1.))
                         for t in ('scene', 'depth', 'normals')}),
    loss_balancer=dict(type='GradNorm', alpha=1.5, shared_param='rock.encoder.1.conv.weight'))
