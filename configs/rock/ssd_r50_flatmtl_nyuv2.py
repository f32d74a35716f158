# Flat multi-task baseline: the auxiliary heads of ROCK (_base_/models/ssd_r50_dilated_rock.py)
# trained on C5, whose features reach the detector unrefined (no residual fusion).
# Same data protocol as its siblings ssd_r50_nyuv2.py (SSD) and ssd_r50_rock_nyuv2.py (ROCK):
# train 673 / val 122 / test 654.
_base_ = [
    '../_base_/models/ssd_r50_dilated_rock.py', '../_base_/datasets/nyuv2_multitask.py',
    '../_base_/schedules/adam_40k.py', '../_base_/default_runtime.py'
]

model = dict(rock=dict(residual=False))
