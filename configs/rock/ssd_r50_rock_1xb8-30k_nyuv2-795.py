# ROCK (ssd_r50_rock_nyuv2.py) under the public PyTorch re-implementation's protocol, for a
# like-for-like comparison with its published numbers: train on all 795 official training images,
# 30k iterations of batch 8, lr 5e-5 dropped to 5e-6 at 25k, test on the 654 test images.
# There is no held-out split: training does not validate and keeps no best checkpoint, and the
# result is the last checkpoint (iter_30000.pth) through tools/test.py. Nothing is selected on
# the test images.
_base_ = ['./ssd_r50_rock_nyuv2.py']

# the 795 training images: the converter's train (673) and val (122) files of one folder
# converted with `--val-split` (the same folder serves the paper's protocol)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type=_base_.dataset_type,
                data_root=_base_.data_root,
                ann_file=f'annotations/nyuv2_{split}.json',
                pack=f'packed/nyuv2_{split}/',
                data_prefix=_base_.data_prefix,
                filter_cfg=dict(filter_empty_gt=False),
                pipeline=_base_.packed_train_pipeline,
                backend_args=_base_.backend_args) for split in ('train', 'val')
        ]))
val_cfg = val_dataloader = val_evaluator = None

max_iters = 30000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[25000], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(save_best=None))
