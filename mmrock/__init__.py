"""mmrock: ROCK (residual auxiliary block, NeurIPS 2018) for MMDetection 3.x.

Importing the package registers its models, datasets, transforms, metrics and visualisers in
mmdet's registries (configs do it through ``custom_imports = dict(imports=['mmrock'])``).
"""
from . import datasets, engine, evaluation, models, utils, visualization  # noqa: F401

__version__ = '0.1.0'
