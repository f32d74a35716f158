# The demo's half-width ResNet-18 started from the ImageNet stand-in: weights pretrained by
# object-crop classification on 14,500 RGB-only synthetic room images of other rooms than the
# demo's (tools/pretrain_backbone.py; torchvision's format), loaded like torchvision's ImageNet
# file, with the paper's fine-tuning settings (stem and first stage frozen, BN statistics fixed).
# Remake the file:
#   python tools/pretrain_backbone.py --out benchmarks/pretrain/resnet18-w32_rooms.pth
rooms_pretrained_backbone = dict(
    frozen_stages=1,
    norm_eval=True,
    init_cfg=dict(
        _delete_=True, type='Pretrained', checkpoint='benchmarks/pretrain/resnet18-w32_rooms.pth'))
