"""Inference APIs. Not imported by ``import mmrock`` (mmdet's inferencer pulls in its whole
inference stack); import ``mmrock.apis``."""
from .model_config import init_detector
from .rock_inferencer import ROCKInferencer

__all__ = ['ROCKInferencer', 'init_detector']
