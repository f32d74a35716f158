# The paper's schedule: Adam, batch 8 (the dataloader's), lr 5e-5 for 30k iterations, then 5e-6
# for 10k more. Evaluation every 5k iterations.
max_iters = 40000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-5))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[30000], gamma=0.1)
]
# Linear scaling of the lr with the total batch size (8 = 1 GPU x 8 images): `--auto-scale-lr`.
auto_scale_lr = dict(enable=False, base_batch_size=8)
