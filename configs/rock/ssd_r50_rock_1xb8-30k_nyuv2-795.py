# ROCK (the model of ssd_r50_rock_nyuv2.py) under the public PyTorch re-implementation's protocol,
# for a like-for-like comparison with its published numbers: train on all 795 official training
# images, 30k iterations of batch 8, lr 5e-5 dropped to 5e-6 at 25k, test on the 654 test images.
# There is no held-out split: training does not validate and keeps no best checkpoint, and the
# result is the last checkpoint (iter_30000.pth) through tools/test.py. Nothing is selected on
# the test images.
_base_ = [
    '../_base_/models/ssd_r50_dilated_rock.py', '../_base_/datasets/nyuv2-795_multitask.py',
    '../_base_/schedules/adam_30k.py', '../_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=dict(save_best=None))  # no validation: nothing to select on
