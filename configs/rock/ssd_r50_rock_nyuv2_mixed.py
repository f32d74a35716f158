# ROCK trained on NYUv2 plus a second dataset whose auxiliary labels are incomplete
# (docs/design.md, "Missing annotations"; the paper also mixes real and synthetic data with
# missing modalities).
# The second set is the synthetic rooms (tools/dataset_converters/make_synthetic_nyuv2.py, then
# nyuv2.py) read without normals and scene labels: its loader is told to skip them, so its
# samples carry no `gt_normals` / `gt_scene_label` field and contribute no normals or scene loss
# (the heads mask per sample), while their boxes and depth train as usual. Any other dataset in
# the converter's format, with or without some label files, fits the same way.
# Batches mix both sets through mmengine's ConcatDataset and the shuffling InfiniteSampler.
_base_ = ['./ssd_r50_rock_nyuv2.py']

nyuv2_root = 'data/nyuv2/'
synthetic_root = 'data/synthetic_nyuv2/'
# Labels the second dataset provides (LoadMultiTaskAnnotations flags); boxes always.
synthetic_aux_labels = dict(with_depth=True, with_normals=False, with_scene=False)

synthetic_pipeline = [
    dict(t, **synthetic_aux_labels) if t['type'] == 'LoadMultiTaskAnnotations' else t
    for t in _base_.train_pipeline
]

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type='NYUv2MultiTaskDataset',
                data_root=nyuv2_root,
                ann_file='annotations/nyuv2_train.json',
                data_prefix=_base_.data_prefix,
                filter_cfg=dict(filter_empty_gt=False),
                pipeline=_base_.train_pipeline),
            dict(
                type='NYUv2MultiTaskDataset',
                data_root=synthetic_root,
                ann_file='annotations/nyuv2_train.json',
                data_prefix=_base_.data_prefix,
                filter_cfg=dict(filter_empty_gt=False),
                pipeline=synthetic_pipeline),
        ]))
