"""Homoscedastic-uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018)."""
from typing import Dict, List, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from .base_loss_balancer import BaseLossBalancer


@MODELS.register_module()
class UncertaintyWeighting(BaseLossBalancer):
    """`Multi-Task Learning Using Uncertainty to Weigh Losses
    <https://arxiv.org/abs/1705.07115>`_: one learned log-variance s_t = log sigma_t^2 per task,

        L = sum_t exp(-s_t) / 2 * L_t + s_t / 2,

    the Gaussian-likelihood form of the paper (1 / (2 sigma^2) L + log sigma), used for every task
    (the classification form, 1 / sigma^2 L + log sigma, differs by a constant factor that the
    learned sigma absorbs). The s_t are parameters of the model (``loss_balancer.log_vars``):
    the optimizer trains them, checkpoints save them, DDP averages their gradients.

    Logged: ``w_<task>`` = exp(-s_t) / 2; the regulariser sum_t s_t / 2 is the loss term
    ``loss_uncertainty``.

    Args:
        tasks (Sequence[str]): Auxiliary task names (passed by :class:`ROCKDetector`).
        init_log_var (float): Initial s_t of every task (weight exp(-s) / 2). Defaults to 0.
        include_detection (bool): Also weigh the detection loss. Defaults to False.
        init_cfg (:obj:`ConfigDict` or dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 tasks: Sequence[str],
                 init_log_var: float = 0.0,
                 include_detection: bool = False,
                 init_cfg=None) -> None:
        super().__init__(tasks, include_detection=include_detection, init_cfg=init_cfg)
        self.log_vars = nn.Parameter(torch.full((self.num_tasks, ), float(init_log_var)))

    def weigh(self, task_losses: List[Tensor],
              model: nn.Module) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The weights exp(-s_t) / 2 and the regulariser sum_t s_t / 2.

        Args:
            task_losses (list[Tensor]): The T scalar task losses, in ``self.tasks`` order.
            model (nn.Module): The detector (unused).

        Returns:
            tuple[Tensor, dict[str, Tensor]]: The weights of shape (T, ) (in the graph of
            ``log_vars``) and ``{'loss_uncertainty': scalar}``.
        """
        return 0.5 * torch.exp(-self.log_vars), dict(loss_uncertainty=0.5 * self.log_vars.sum())
