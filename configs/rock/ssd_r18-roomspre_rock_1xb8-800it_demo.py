# `make demo`: ROCK at demo scale from the ImageNet stand-in, trained long enough to draw boxes.
# The stand-in backbone as in ssd_r18-roomspre_rock_1xb8-400it_demo.py (stem and first stage
# frozen, BN statistics fixed), 800 iterations with the lr drop at 640. It validates on the
# rooms' val split (tools/demo.py converts them with --val-split auto), where ScoreThresholdMetric
# chooses the score threshold of best F1 that the figures are drawn at; on the test split the
# same metric only scores a threshold (tools/demo.py passes val's; 0.3, the visualiser's
# default, otherwise).
_base_ = ['./ssd_r18_rock_demo.py', '../_base_/models/r18_rooms_pretrained.py']

model = dict(backbone=_base_.rooms_pretrained_backbone)

max_iters = 800
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[640], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))

val_dataloader = dict(dataset=dict(ann_file='annotations/nyuv2_val.json'))
test_dataloader = dict(dataset=dict(ann_file='annotations/nyuv2_test.json'))
val_evaluator = [
    dict(
        type='ZeroOnEmptyCocoMetric',
        ann_file=_base_.data_root + 'annotations/nyuv2_val.json',
        metric='bbox',
        classwise=True,
        proposal_nums=(1, 10, 100)),
    dict(type='AuxiliaryTaskMetric'),
    dict(type='ScoreThresholdMetric', ann_file=_base_.data_root + 'annotations/nyuv2_val.json')
]
test_evaluator = [
    dict(
        type='ZeroOnEmptyCocoMetric',
        ann_file=_base_.data_root + 'annotations/nyuv2_test.json',
        metric='bbox',
        classwise=True,
        proposal_nums=(1, 10, 100)),
    dict(type='AuxiliaryTaskMetric'),
    dict(
        type='ScoreThresholdMetric',
        ann_file=_base_.data_root + 'annotations/nyuv2_test.json',
        score_thr=0.3)
]
