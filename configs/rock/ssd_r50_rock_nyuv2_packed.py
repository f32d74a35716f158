# The name of an earlier release: ssd_r50_rock_nyuv2.py now trains from the split's pack itself
# (the NYUv2 converter writes it; configs/_base_/datasets/nyuv2_multitask.py).
_base_ = ['./ssd_r50_rock_nyuv2.py']
