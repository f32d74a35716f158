# ROCK without depth at demo scale: the stand-in-initialised ROCK demo with one auxiliary task
# that needs no label beyond the boxes, the presence of each class in the image (PresenceHead).
# The rooms' depth, normals and scene labels are not loaded. Compared with its siblings by the
# ablation tool (docs/without_depth.md).
_base_ = ['./ssd_r18_rock_demo.py', '../_base_/models/r18_rooms_pretrained.py']

model = dict(
    backbone=_base_.rooms_pretrained_backbone,
    rock=dict(aux_heads=dict(_delete_=True, presence=dict(type='PresenceHead', num_classes=19))))

# boxes only: the multi-task loader reads no depth, normals or scene label
train_pipeline = [
    dict(t, with_depth=False, with_normals=False, with_scene=False)
    if t['type'] == 'LoadMultiTaskAnnotations' else t for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
