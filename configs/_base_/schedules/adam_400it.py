# The demo's schedule: the optimiser of adam_40k.py for 400 iterations at a higher lr (1e-3: the
# demo's backbone starts from random weights), warmed up over 50 iterations and dropped tenfold at
# 320; one validation, at the end.
_base_ = ['./adam_40k.py']

max_iters = 400
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=1e-3, foreach=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[320], gamma=0.1)
]
