"""Training/testing machinery: hooks, the CPU autocast optim wrapper, the tools' config rules."""
from .autocast_optim_wrapper import AutocastOptimWrapper
from .data_check import data_check_message, missing_data_files, missing_data_message
from .hooks import CheckNonFiniteLossHook, NonFiniteLossError, ResumableCheckpointHook

__all__ = [
    'AutocastOptimWrapper', 'CheckNonFiniteLossHook', 'NonFiniteLossError',
    'ResumableCheckpointHook', 'data_check_message', 'missing_data_files', 'missing_data_message'
]
