# ROCK: SSD-R50 (dilated C5) with the ROCK block refining C5 (_base_/models/ssd_r50_dilated_rock.py:
# scene, depth and normals heads, residual sum), on NYUv2 with the paper's schedule.
# Same data protocol as its siblings ssd_r50_nyuv2.py (SSD) and ssd_r50_flatmtl_nyuv2.py (flat
# MTL): train 673 / val 122 / test 654 (_base_/datasets/nyuv2_multitask.py).
_base_ = [
    '../_base_/models/ssd_r50_dilated_rock.py', '../_base_/datasets/nyuv2_multitask.py',
    '../_base_/schedules/adam_40k.py', '../_base_/default_runtime.py'
]
