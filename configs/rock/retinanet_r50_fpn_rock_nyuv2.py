# ROCK in mmdet's RetinaNet (ResNet-50 + FPN): ROCK refines C5 (stride 32) before the FPN.
# The model part is exactly what adding ROCK to any mmdet detector config takes.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', '../_base_/datasets/nyuv2_multitask.py',
    '../_base_/schedules/adam_40k.py', '../_base_/default_runtime.py'
]

model = dict(
    type='ROCKDetector',
    detector_type='RetinaNet',
    rock=dict(type='ROCKNeck', in_channels=2048, in_index=3),
    # mmdet's base names `torchvision://resnet50`, which needs torchvision: the same file by URL
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet50-0676ba61.pth')),
    bbox_head=dict(num_classes=19))
