# ROCK started near identity at demo scale from the ImageNet stand-in
# (configs/_base_/models/r18_rooms_pretrained.py) instead of random weights; everything else as in
# ssd_r18_rock-near-identity_1xb8-400it_demo.py (decoder BN scale 0.1 at initialisation).
_base_ = ['./ssd_r18_rock_demo.py', '../_base_/models/r18_rooms_pretrained.py']

model = dict(backbone=_base_.rooms_pretrained_backbone, rock=dict(decoder_norm_init=0.1))
