"""mmrock: ROCK (residual auxiliary block, NeurIPS 2018) for MMDetection 3.x.

Importing the package registers its models, datasets, transforms, metrics and hooks in mmdet's
registries (configs do it through ``custom_imports = dict(imports=['mmrock'])``), and its name
in mmengine's table of config packages, so that configs can inherit the installed ones with
``_base_ = ['mmrock::rock/ssd_r50_rock_nyuv2.py']`` (read from ``mmrock/.mim/configs``).
"""
from mmengine.config.utils import MODULE2PACKAGE

from . import datasets, engine, evaluation, models, utils, visualization  # noqa: F401

__version__ = '0.1.0'
MODULE2PACKAGE.setdefault('mmrock', 'mmrock')
