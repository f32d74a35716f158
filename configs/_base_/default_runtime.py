# Runtime shared by the mmrock configs: mmdet's defaults, iteration-based logging/checkpointing.
default_scope = 'mmdet'
custom_imports = dict(imports=['mmrock'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook + atomic writes and exact resume (mmrock/engine/hooks/).
    # save_best keeps the best checkpoint on the val split; a config whose val loader reads a
    # test split sets save_best=None (checked for every config by
    # tests/test_configs/test_protocol_configs.py).
    checkpoint=dict(
        type='ResumableCheckpointHook',
        by_epoch=False,
        interval=5000,
        max_keep_ckpts=3,
        save_best='coco/bbox_mAP',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))
# Stop at the first NaN/inf loss, naming the iteration and the losses (mmrock.engine.hooks).
custom_hooks = [dict(type='CheckNonFiniteLossHook', interval=1)]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend')]
# mmdet's visualiser plus depth / normals / scene panels (mmrock.visualization)
visualizer = dict(type='ROCKLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)

log_level = 'INFO'
load_from = None
resume = False
