"""Registries of the scope ``mmrock``, children of mmdet's.

mmrock registers its components in mmdet's registries. A config that inherits an installed
mmrock config (``_base_ = ['mmrock::rock/ssd_r50_rock_nyuv2.py']``) gets ``_scope_='mmrock'``
on the inherited dicts, and mmengine then builds them from the registries of that scope, which
it imports from here: each one finds its entries in mmdet's registry (its parent), so the
inherited configs build as the repository's do.
"""
from mmdet import registry as mmdet_registry
from mmengine.registry import Registry

SCOPE = 'mmrock'


def _child(parent: Registry) -> Registry:
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=['mmrock'])


RUNNERS = _child(mmdet_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child(mmdet_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child(mmdet_registry.LOOPS)
HOOKS = _child(mmdet_registry.HOOKS)
DATASETS = _child(mmdet_registry.DATASETS)
DATA_SAMPLERS = _child(mmdet_registry.DATA_SAMPLERS)
TRANSFORMS = _child(mmdet_registry.TRANSFORMS)
MODELS = _child(mmdet_registry.MODELS)
MODEL_WRAPPERS = _child(mmdet_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(mmdet_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(mmdet_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child(mmdet_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmdet_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(mmdet_registry.PARAM_SCHEDULERS)
METRICS = _child(mmdet_registry.METRICS)
EVALUATOR = _child(mmdet_registry.EVALUATOR)
TASK_UTILS = _child(mmdet_registry.TASK_UTILS)
VISUALIZERS = _child(mmdet_registry.VISUALIZERS)
VISBACKENDS = _child(mmdet_registry.VISBACKENDS)
LOG_PROCESSORS = _child(mmdet_registry.LOG_PROCESSORS)
