"""Training/testing machinery: hooks, the CPU autocast optim wrapper, the tools' config rules."""
from .autocast_optim_wrapper import AutocastOptimWrapper
from .data_check import data_check_message, missing_data_files, missing_data_message
from .hooks import CheckNonFiniteLossHook, NonFiniteLossError

__all__ = [
    'AutocastOptimWrapper', 'CheckNonFiniteLossHook', 'NonFiniteLossError', 'data_check_message',
    'missing_data_files', 'missing_data_message'
]
