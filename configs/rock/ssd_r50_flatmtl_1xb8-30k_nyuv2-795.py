# Flat multi-task baseline (the model of ssd_r50_flatmtl_nyuv2.py: the auxiliary heads on C5, no
# residual fusion) under the public re-implementation's protocol: train 795, 30k iterations, no
# validation, the last checkpoint tested on the 654 test images.
_base_ = [
    '../_base_/models/ssd_r50_dilated_rock.py', '../_base_/datasets/nyuv2-795_multitask.py',
    '../_base_/schedules/adam_30k.py', '../_base_/default_runtime.py'
]

model = dict(rock=dict(residual=False))
default_hooks = dict(checkpoint=dict(save_best=None))  # no validation: nothing to select on
