# ROCK with every task weighted 1 (the paper's hand-tuned weights are scene 3, depth 3,
# normals 30): the untuned baseline of the loss-balancing configs, which set the same weights and
# let a learned `loss_balancer` weigh the auxiliary losses (docs/loss_balancers.md).
_base_ = ['./ssd_r50_rock_nyuv2.py']

model = dict(
    rock=dict(aux_heads={t: dict(loss=dict(loss_weight=1.))
                         for t in ('scene', 'depth', 'normals')}))
