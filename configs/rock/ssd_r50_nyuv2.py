# SSD baseline: SSD-R50 (dilated C5) on NYUv2, the paper's schedule, no auxiliary task.
_base_ = [
    '../_base_/models/ssd_r50_dilated.py', '../_base_/datasets/nyuv2_multitask.py',
    '../_base_/schedules/adam_40k.py', '../_base_/default_runtime.py'
]
