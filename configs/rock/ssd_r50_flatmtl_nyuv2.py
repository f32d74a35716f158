# Flat multi-task baseline: the same auxiliary heads trained on C5, without residual fusion.
_base_ = ['./ssd_r50_rock_nyuv2.py']

model = dict(rock=dict(residual=False))
