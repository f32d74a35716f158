# SSD baseline at demo scale: the demo's detector without ROCK
# (_base_/models/ssd_r18-w32_dilated.py) on the data and schedule of its siblings
# ssd_r18_rock_demo.py (ROCK) and ssd_r18_flatmtl_1xb8-400it_demo.py (flat MTL). For the ablation
# (tools/analysis_tools/ablation.py).
_base_ = [
    '../_base_/models/ssd_r18-w32_dilated.py', '../_base_/datasets/synthetic-rooms_multitask.py',
    '../_base_/schedules/adam_400it.py', '../_base_/default_runtime.py'
]

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=_base_.max_iters, max_keep_ckpts=1, save_best=None))
# test-time augmentation as the siblings': ROCKTTAModel merges a detector's boxes whether or not
# it has auxiliary outputs
tta_model = dict(
    type='ROCKTTAModel',
    tta_cfg=dict(nms=_base_.model.test_cfg.nms, max_per_img=_base_.model.test_cfg.max_per_img))
