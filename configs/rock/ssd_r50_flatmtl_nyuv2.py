# Flat multi-task baseline: the same auxiliary heads trained on C5, without residual fusion.
# Same data protocol as ssd_r50_nyuv2.py (train 673 / val 122 / test 654).
_base_ = ['./ssd_r50_rock_nyuv2.py']

model = dict(rock=dict(residual=False))
