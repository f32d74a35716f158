"""Fixed task weights, ROCK's choice (Mordan et al., NeurIPS 2018); the default balancer."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from .base_loss_balancer import BaseLossBalancer


@MODELS.register_module()
class FixedWeights(BaseLossBalancer):
    """Constant weights: L = sum_t w_t L_t.

    With the default (no ``weights``) every weight is 1, so the losses are returned exactly as
    the heads computed them: the paper's weights (scene 3, depth 3, normals 30) are the heads'
    ``loss_weight``. The weights are config, not state: nothing is added to the checkpoints.

    Args:
        tasks (Sequence[str]): Auxiliary task names (passed by :class:`ROCKDetector`).
        weights (dict[str, float], optional): Weight per task name (``det``, ``scene``...);
            a task not named weighs 1. Defaults to None.
        include_detection (bool): Also weigh the detection loss. Defaults to False.
        init_cfg (:obj:`ConfigDict` or dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 tasks: Sequence[str],
                 weights: Optional[Dict[str, float]] = None,
                 include_detection: bool = False,
                 init_cfg=None) -> None:
        super().__init__(tasks, include_detection=include_detection, init_cfg=init_cfg)
        weights = dict(weights or {})
        unknown = set(weights) - set(self.tasks)
        if unknown:
            raise ValueError(f'FixedWeights.weights names {sorted(unknown)}, not among the tasks '
                             f'{self.tasks} (set include_detection=True to weigh det)')
        self.register_buffer(
            'weights',
            torch.tensor([float(weights.get(t, 1.0)) for t in self.tasks]),
            persistent=False)

    def weigh(self, task_losses: List[Tensor],
              model: nn.Module) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The configured weights.

        Args:
            task_losses (list[Tensor]): The T scalar task losses, in ``self.tasks`` order.
            model (nn.Module): The detector (unused).

        Returns:
            tuple[Tensor, dict]: The weights of shape (T, ) and no extra loss term.
        """
        return self.weights.to(task_losses[0].dtype), {}
