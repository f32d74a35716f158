# `make demo`: ROCK made light enough to learn in minutes on 2 CPU cores. The architecture family
# and losses of ssd_r50_rock_nyuv2.py on the demo's half-width ResNet-18 from scratch
# (_base_/models/ssd_r18-w32_dilated_rock.py), the synthetic rooms at 240x320 with lighter
# geometric augmentation (_base_/datasets/synthetic-rooms_multitask.py), a short schedule with a
# higher lr (_base_/schedules/adam_400it.py). Siblings: ssd_r18_1xb8-400it_demo.py (SSD) and
# ssd_r18_flatmtl_1xb8-400it_demo.py (flat MTL).
_base_ = [
    '../_base_/models/ssd_r18-w32_dilated_rock.py',
    '../_base_/datasets/synthetic-rooms_multitask.py', '../_base_/schedules/adam_400it.py',
    '../_base_/default_runtime.py'
]

# one checkpoint, the last; no save_best (the demo validates on its test rooms)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=_base_.max_iters, max_keep_ckpts=1, save_best=None))
