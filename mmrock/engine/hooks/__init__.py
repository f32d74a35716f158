from .nonfinite_loss_hook import CheckNonFiniteLossHook, NonFiniteLossError, nonfinite_losses

__all__ = ['CheckNonFiniteLossHook', 'NonFiniteLossError', 'nonfinite_losses']
