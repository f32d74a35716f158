# NYUv2 under the public re-implementation's protocol, for a like-for-like comparison with its
# published numbers: train on all 795 official training images, test on the 654 test images.
# There is no held-out split, so nothing validates (no val loader or metric here; the schedule
# adam_30k.py has no val loop) and the result is the last checkpoint through tools/test.py:
# nothing is selected on the test images.
_base_ = ['./nyuv2_multitask.py']

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
val_dataloader = val_evaluator = None
