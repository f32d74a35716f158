# ROCK without depth at demo scale, both tasks every detection dataset can give: the presence of
# each class in the image (PresenceHead) and the class of each cell of the C5 grid
# (SegmentationHead, 19 detection classes + other + background), on the stand-in-initialised ROCK
# demo. No depth, normals or scene label read. Compared with its siblings by the ablation tool
# (docs/without_depth.md).
_base_ = ['./ssd_r18_rock_demo.py', '../_base_/models/r18_rooms_pretrained.py']

model = dict(
    backbone=_base_.rooms_pretrained_backbone,
    rock=dict(
        aux_heads=dict(
            _delete_=True,
            presence=dict(type='PresenceHead', num_classes=19),
            seg=dict(type='SegmentationHead', num_classes=20))))

labels = dict(with_depth=False, with_normals=False, with_scene=False, with_seg=True)
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(t, **labels) if t['type'] == 'LoadMultiTaskAnnotations' else t
        for t in _base_.train_pipeline
    ]))
val_dataloader = dict(
    dataset=dict(pipeline=[
        dict(t, with_seg=True) if t['type'] == 'LoadMultiTaskAnnotations' else t
        for t in _base_.test_pipeline
    ]))
test_dataloader = val_dataloader
