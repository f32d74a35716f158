# Flat multi-task learning at demo scale: the demo's auxiliary heads trained on C5, whose
# features reach the detector unrefined (no residual fusion of the task maps). Everything else as
# in its siblings ssd_r18_rock_demo.py (ROCK) and ssd_r18_1xb8-400it_demo.py (SSD).
_base_ = [
    '../_base_/models/ssd_r18-w32_dilated_rock.py',
    '../_base_/datasets/synthetic-rooms_multitask.py', '../_base_/schedules/adam_400it.py',
    '../_base_/default_runtime.py'
]

model = dict(rock=dict(residual=False))
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=_base_.max_iters, max_keep_ckpts=1, save_best=None))
