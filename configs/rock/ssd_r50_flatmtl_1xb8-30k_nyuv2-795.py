# Flat multi-task baseline (ssd_r50_flatmtl_nyuv2.py: the auxiliary heads on C5, no residual
# fusion) under the public re-implementation's protocol: train 795, 30k iterations, no
# validation, the last checkpoint tested on the 654 test images.
_base_ = ['./ssd_r50_rock_1xb8-30k_nyuv2-795.py']

model = dict(rock=dict(residual=False))
