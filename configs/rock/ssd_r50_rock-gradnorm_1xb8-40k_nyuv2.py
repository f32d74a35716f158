# ROCK, auxiliary losses weighed by GradNorm (Chen et al., ICML 2018), alpha = 1.5 (the paper's
# NYUv2 value), gradient norms on the last conv of the ROCK encoder (shared by every task).
# Every task weighted 1 first, as in ssd_r50_rock-equal_1xb8-40k_nyuv2.py.
_base_ = ['./ssd_r50_rock_nyuv2.py']

model = dict(
    rock=dict(aux_heads={t: dict(loss=dict(loss_weight=1.))
                         for t in ('scene', 'depth', 'normals')}),
    loss_balancer=dict(type='GradNorm', alpha=1.5, shared_param='rock.encoder.1.conv.weight'))
