# SSD baseline at demo scale: the demo's detector (configs/rock/ssd_r18_rock_demo.py) without
# ROCK — same backbone, SSD neck and head, data, augmentation and schedule. For the ablation
# (tools/analysis_tools/ablation.py).
_base_ = ['./ssd_r18_rock_demo.py']

model = dict(
    _delete_=True,
    type='SingleStageDetector',
    data_preprocessor=_base_.model.data_preprocessor,
    backbone=_base_.model.backbone,
    neck=_base_.model.neck,
    bbox_head=_base_.model.bbox_head,
    train_cfg=_base_.model.train_cfg,
    test_cfg=_base_.model.test_cfg)
