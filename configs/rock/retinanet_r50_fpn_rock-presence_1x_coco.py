# ROCK for detection data with boxes only: mmdet's RetinaNet (ResNet-50 + FPN, 1x schedule, COCO)
# as it is, with ROCK refining C5 (stride 32) before the FPN through one auxiliary task that
# needs no label beyond the boxes: the presence of each class in the image (PresenceHead). The
# data, pipeline, schedule and runtime are mmdet's; docs/without_depth.md.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmrock'], allow_failed_imports=False)

model = dict(
    type='ROCKDetector',
    detector_type='RetinaNet',
    rock=dict(
        type='ROCKNeck',
        in_channels=2048,
        in_index=3,
        aux_heads=dict(
            presence=dict(type='PresenceHead', num_classes=_base_.model.bbox_head.num_classes))),
    # mmdet's base names `torchvision://resnet50`, which needs torchvision: the same file by URL
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet50-0676ba61.pth')))

# mmdet's COCO metric, plus the presence mAP (aux/presence_mAP)
val_evaluator = [_base_.val_evaluator, dict(type='AuxiliaryTaskMetric')]
test_evaluator = val_evaluator
