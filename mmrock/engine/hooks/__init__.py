from .nonfinite_loss_hook import CheckNonFiniteLossHook, NonFiniteLossError, nonfinite_losses
from .resumable_checkpoint_hook import ResumableCheckpointHook

__all__ = [
    'CheckNonFiniteLossHook', 'NonFiniteLossError', 'ResumableCheckpointHook', 'nonfinite_losses'
]
