# SSD baseline: SSD-R50 (dilated C5) on NYUv2, the paper's schedule, no auxiliary task.
# The paper's protocol (_base_/datasets/nyuv2_multitask.py), shared by the SSD, flat MTL and ROCK
# configs so that the three compare on the same splits: train on 673 images, validate every 5k
# iterations on the 122 val images (the best checkpoint on val is kept as
# best_coco_bbox_mAP_iter_*.pth), test with tools/test.py on the 654 test images. Figures to
# compare with the paper's val numbers: the last checkpoint (iter_40000.pth) on val, as the paper
# trains a fixed schedule. The re-implementation's protocol (all 795 for training, 30k
# iterations, test 654): ssd_r50_1xb8-30k_nyuv2-795.py.
_base_ = [
    '../_base_/models/ssd_r50_dilated.py', '../_base_/datasets/nyuv2_multitask.py',
    '../_base_/schedules/adam_40k.py', '../_base_/default_runtime.py'
]
