"""Stops training at the first iteration whose losses are not finite (NaN or inf)."""
from typing import List, Optional

import torch
import torch.distributed as torch_dist
from mmdet.registry import HOOKS
from mmengine.dist import get_world_size, is_distributed
from mmengine.hooks import Hook


class NonFiniteLossError(RuntimeError):
    """Raised by :class:`CheckNonFiniteLossHook`; the message is one line."""


def nonfinite_losses(log_vars: dict) -> List[str]:
    """The losses of a training step that are NaN or infinite.

    Args:
        log_vars (dict): A model's ``train_step`` output (tensors or numbers).

    Returns:
        list[str]: ``'<name>=<value>'`` of each entry whose name contains 'loss' and whose
        value is not finite.
    """
    bad = []
    for name, value in log_vars.items():
        if 'loss' not in name:
            continue
        value = torch.as_tensor(value.detach() if torch.is_tensor(value) else value)
        if not bool(torch.isfinite(value).all()):
            bad.append(f'{name}={value.float().mean().item()}')
    return bad


@HOOKS.register_module()
class CheckNonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a loss becomes NaN or infinite.

    Checks every loss of the iteration's outputs (``loss`` and each term: ``loss_cls``,
    ``loss_depth``, ...) and names the offending ones with the iteration number (1-based, as in
    the training log). It runs before the checkpoint hook, so no checkpoint holding the
    diverged weights is written. In distributed training the ranks agree on stopping (one
    all-reduce of a flag per checked iteration), so that no rank waits forever for the others.

    Args:
        interval (int): Check every ``interval`` iterations. Default: 1 (every iteration).
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Check the iteration's losses every ``interval`` iterations.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict, optional): The batch. Defaults to None.
            outputs (dict, optional): The model's ``train_step`` output. Defaults to None.

        Raises:
            NonFiniteLossError: When a loss (on any rank) is NaN or infinite.
        """
        if not self.every_n_train_iters(runner, self.interval) or not outputs:
            return
        bad = nonfinite_losses(outputs)
        any_bad = bool(bad)
        if is_distributed() and get_world_size() > 1:
            flag = torch.tensor([float(any_bad)], device=_flag_device())
            torch_dist.all_reduce(flag, op=torch_dist.ReduceOp.MAX)
            any_bad = bool(flag.item() > 0)
        if not any_bad:
            return
        where = ', '.join(bad) if bad else 'on another rank'
        message = (f'Non-finite loss at iteration {runner.iter + 1}: {where}. Training stopped '
                   '(lower the learning rate, check the data and the loss weights, or resume '
                   'from an earlier checkpoint).')
        runner.logger.error(message)
        raise NonFiniteLossError(message)


def _flag_device() -> torch.device:
    """Device of the all-reduced flag: the default process group's backend decides it."""
    backend = torch_dist.get_backend()
    return torch.device('cuda', torch.cuda.current_device()) if backend == 'nccl' \
        else torch.device('cpu')
