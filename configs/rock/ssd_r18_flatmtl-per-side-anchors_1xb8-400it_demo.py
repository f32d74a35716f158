# Flat multi-task learning at demo scale with per-side anchor scales: with
# ssd_r18_per-side-anchors_1xb8-400it_demo.py and ssd_r18_rock-per-side-anchors_1xb8-400it_demo.py,
# the SSD / flat MTL / ROCK comparison repeated on those anchors.
_base_ = ['./ssd_r18_rock-per-side-anchors_1xb8-400it_demo.py']

model = dict(rock=dict(residual=False))
