# Flat multi-task learning at demo scale: the demo's auxiliary heads trained on C5, whose
# features reach the detector unrefined (no residual fusion of the task maps).
_base_ = ['./ssd_r18_rock_demo.py']

model = dict(rock=dict(residual=False))
