# The public re-implementation's schedule: the optimiser of adam_40k.py (Adam, batch 8, lr 5e-5)
# for 30k iterations, the lr dropped to 5e-6 at 25k, and no validation loop (its protocol,
# nyuv2-795_multitask.py, has no held-out split).
_base_ = ['./adam_40k.py']

max_iters = 30000
train_cfg = dict(max_iters=max_iters)
val_cfg = None
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[25000], gamma=0.1)
]
