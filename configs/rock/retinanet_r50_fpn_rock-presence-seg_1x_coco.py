# ROCK for detection data with boxes and instance masks: the RetinaNet + ROCK(presence) config
# (mmdet's RetinaNet R-50 FPN 1x COCO as it is, ROCK refining C5) with a second auxiliary task
# read from the annotations: the class of each cell of the C5 grid (SegmentationHead, from the
# instance masks, which mmdet's pipelines now load, through multitask_pipeline). The data,
# schedule and runtime are mmdet's; the metrics COCO's plus aux/presence_mAP and aux/seg_mIoU;
# docs/without_depth.md.
_base_ = ['./retinanet_r50_fpn_rock-presence_1x_coco.py']
from mmrock.datasets import multitask_pipeline  # noqa: E402

model = dict(
    rock=dict(
        aux_heads=dict(
            seg=dict(type='SegmentationHead', num_classes=_base_.model.bbox_head.num_classes))))

# mmdet's pipelines, their LoadAnnotations loading the instance masks too
train_pipeline = multitask_pipeline([
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t for t in _base_.train_pipeline
])
test_pipeline = multitask_pipeline([
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t for t in _base_.test_pipeline
])
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
