# ROCK (ssd_r50_rock_nyuv2.py) with the GPU fast path; same model, losses and schedule.
# - AMP: fp16 autocast with dynamic loss scaling (mmengine AmpOptimWrapper). The losses are
#   computed in fp32 (ROCKSSDHead and the auxiliary heads cast their inputs to float; softmax /
#   cross-entropy autocast to fp32). On Ampere or newer, dtype='bfloat16' needs no loss scaling.
# - channels_last memory format (mmrock ChannelsLastHook): tensor-core convolutions without
#   layout transposes.
# - cuDNN autotuning: env_cfg.cudnn_benchmark=True, inherited from _base_/default_runtime.py
#   (the input size is fixed, 480 x 640, so the tuned kernels are reused every iteration).
# - data loading: more workers (the augmentation chain runs on the CPU; size num_workers with
#   tools/analysis_tools/benchmark_pipeline.py: workers = target img/s / img/s per worker, at
#   most the machine's cores), persistent workers, pinned memory and asynchronous host-to-device
#   copies in the data preprocessor.
_base_ = ['./ssd_r50_rock_nyuv2.py']

custom_imports = dict(
    imports=['mmrock', 'mmrock.engine.hooks.channels_last_hook'], allow_failed_imports=False)

optim_wrapper = dict(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')

# the base's hooks, plus channels_last (a list in a child config replaces the base's list)
custom_hooks = [
    dict(type='CheckNonFiniteLossHook', interval=1),
    dict(type='ChannelsLastHook'),
]

model = dict(data_preprocessor=dict(non_blocking=True))

train_dataloader = dict(num_workers=8, persistent_workers=True, pin_memory=True, prefetch_factor=4)
val_dataloader = dict(num_workers=4, persistent_workers=True, pin_memory=True)
test_dataloader = val_dataloader
