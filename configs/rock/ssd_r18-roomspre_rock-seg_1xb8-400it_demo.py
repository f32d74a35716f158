# ROCK without depth at demo scale: the stand-in-initialised ROCK demo with one auxiliary task read
# from the rooms' per-pixel class maps (SegmentationHead: the class of each cell of the C5 grid,
# 19 detection classes + other + background, 255 unlabelled). The rooms' depth, normals and scene
# labels are not loaded. Compared with its siblings by the ablation tool (docs/without_depth.md).
_base_ = ['./ssd_r18_rock_demo.py', '../_base_/models/r18_rooms_pretrained.py']

model = dict(
    backbone=_base_.rooms_pretrained_backbone,
    rock=dict(aux_heads=dict(_delete_=True, seg=dict(type='SegmentationHead', num_classes=20))))

# boxes and class maps: no depth, normals or scene label read
train_pipeline = [
    dict(t, with_depth=False, with_normals=False, with_scene=False, with_seg=True)
    if t['type'] == 'LoadMultiTaskAnnotations' else t for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, with_seg=True) if t['type'] == 'LoadMultiTaskAnnotations' else t
    for t in _base_.test_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
