"""Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019)."""
from typing import Dict, List, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from .base_loss_balancer import BaseLossBalancer, ratio_or_one


@MODELS.register_module()
class DynamicWeightAverage(BaseLossBalancer):
    """`End-to-End Multi-Task Learning with Attention <https://arxiv.org/abs/1803.10704>`_ (DWA):

        w_t = K exp(r_t / T) / sum_i exp(r_i / T),   r_t = L_t(n - 1) / L_t(n - 2),

    with K tasks, temperature T, and L_t(n) the mean loss of task t over window n (the paper
    averages over an epoch; here a window is ``window`` iterations, set it to an epoch's). The
    weights are 1 until two windows are complete; a task whose older mean loss is 0 (no label in
    a whole window) gets r_t = 1.

    State (buffers, saved in checkpoints and restored on resume): the running sum and count of
    the current window and the means of the last two. The losses are averaged over the
    distributed ranks before they are added, so all ranks hold the same state and weights. Every
    update is a tensor operation: no host-device synchronisation.

    Args:
        tasks (Sequence[str]): Auxiliary task names (passed by :class:`ROCKDetector`).
        temperature (float): T; the paper uses 2. Defaults to 2.0.
        window (int): Iterations per loss average. Defaults to 100 (one epoch of NYUv2's 795
            training images at batch 8).
        include_detection (bool): Also weigh the detection loss. Defaults to False.
        init_cfg (:obj:`ConfigDict` or dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 tasks: Sequence[str],
                 temperature: float = 2.0,
                 window: int = 100,
                 include_detection: bool = False,
                 init_cfg=None) -> None:
        super().__init__(tasks, include_detection=include_detection, init_cfg=init_cfg)
        if temperature <= 0 or window < 1:
            raise ValueError(f'DynamicWeightAverage needs temperature > 0 and window >= 1, got '
                             f'{temperature} and {window}')
        self.temperature = temperature
        self.window = window
        self.register_buffer('window_sum', torch.zeros(self.num_tasks))
        self.register_buffer('window_count', torch.zeros((), dtype=torch.long))
        self.register_buffer('window_means', torch.zeros(2, self.num_tasks))  # (older, last)
        self.register_buffer('num_windows', torch.zeros((), dtype=torch.long))

    def current_weights(self) -> Tensor:
        """The DWA weights from the two last complete windows.

        Returns:
            Tensor: Weights of shape (T, ) (ones before two windows are complete).
        """
        older, last = self.window_means
        weights = self.num_tasks * torch.softmax(
            ratio_or_one(last, older) / self.temperature, dim=0)
        return torch.where(self.num_windows >= 2, weights, torch.ones_like(weights))

    def weigh(self, task_losses: List[Tensor],
              model: nn.Module) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The current DWA weights; in training, also adds the losses to the current window.

        Args:
            task_losses (list[Tensor]): The T scalar task losses, in ``self.tasks`` order.
            model (nn.Module): The detector (unused).

        Returns:
            tuple[Tensor, dict]: The weights of shape (T, ) and no extra loss term.
        """
        weights = self.current_weights().to(task_losses[0].dtype)
        if self.training:
            self._accumulate(self.mean_over_ranks(task_losses))
        return weights, {}

    def _accumulate(self, losses: Tensor) -> None:
        """Adds the (T,) losses to the current window; closes the window when it is full."""
        window_sum = self.window_sum + losses
        count = self.window_count + 1
        full = count >= self.window
        closed = torch.stack([self.window_means[1], window_sum / count])
        self.window_means.copy_(torch.where(full, closed, self.window_means))
        self.num_windows.add_(full.long())
        self.window_sum.copy_(torch.where(full, torch.zeros_like(window_sum), window_sum))
        self.window_count.copy_(torch.where(full, torch.zeros_like(count), count))
