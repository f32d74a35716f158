"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018)."""
from typing import Dict, Iterator, List, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from .base_loss_balancer import BaseLossBalancer, ratio_or_one


@MODELS.register_module()
class GradNorm(BaseLossBalancer):
    """`GradNorm: Gradient Normalization for Adaptive Loss Balancing in Deep Multitask Networks
    <https://arxiv.org/abs/1711.02257>`_. With W the last shared layer's weights, learned task
    weights w_t, G_t = ||grad_W w_t L_t|| = w_t ||grad_W L_t||, G = mean_t G_t,
    r_t = (L_t / L_t(0)) / mean_i (L_i / L_i(0)):

        L_grad = sum_t | G_t - [G r_t^alpha] |       ([.] held constant),

    whose gradient trains the w_t only (the loss term ``loss_gradnorm``); the network is trained
    on sum_t w_t L_t with the w_t held constant. Before each iteration the w_t are renormalised
    to sum to the number of tasks (and kept above 1e-6).

    W is the parameter ``shared_param`` of the detector: by default the last convolution of the
    ROCK encoder, which every auxiliary task, and through the residual fusion the detection, is
    computed from (for the flat multi-task variant with ``include_detection``, name the
    backbone's last layer, e.g. ``detector.backbone.layer4.2.conv3.weight``). The gradient
    norms come from ``torch.autograd.grad`` on the retained graph, one per task (no host-device
    synchronisation); they and the losses are averaged over the distributed ranks, so all ranks
    compute the same L_grad and keep the same weights.

    State: the weights w_t are parameters (``loss_balancer.task_weights``, trained by the
    optimizer), L_t(0) a buffer (the first non-zero loss of each task, rank-averaged); both are
    saved in checkpoints.

    Args:
        tasks (Sequence[str]): Auxiliary task names (passed by :class:`ROCKDetector`).
        alpha (float): Restoring-force strength; the paper uses 1.5 on NYUv2. Defaults to 1.5.
        shared_param (str): Name of W in the detector's ``named_parameters()``. Defaults to
            ``'rock.encoder.1.conv.weight'``.
        include_detection (bool): Also weigh the detection loss. Defaults to False.
        init_cfg (:obj:`ConfigDict` or dict, optional): Initialisation config. Defaults to None.
    """
    min_weight = 1e-6

    def __init__(self,
                 tasks: Sequence[str],
                 alpha: float = 1.5,
                 shared_param: str = 'rock.encoder.1.conv.weight',
                 include_detection: bool = False,
                 init_cfg=None) -> None:
        super().__init__(tasks, include_detection=include_detection, init_cfg=init_cfg)
        self.alpha = alpha
        self.shared_param = shared_param
        self.task_weights = nn.Parameter(torch.ones(self.num_tasks))
        self.register_buffer('initial_losses', torch.zeros(self.num_tasks))

    def weigh(self, task_losses: List[Tensor],
              model: nn.Module) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The learned weights w_t (renormalised) and, in training, the GradNorm loss term.

        Args:
            task_losses (list[Tensor]): The T scalar task losses, in ``self.tasks`` order (in
                the graph, which is retained for the gradient norms).
            model (nn.Module): The detector, holding ``shared_param``.

        Returns:
            tuple[Tensor, dict[str, Tensor]]: The detached weights of shape (T, ) and
            ``{'loss_gradnorm': scalar}`` (nothing in eval mode).
        """
        if not self.training:
            return self.task_weights.detach(), {}
        with torch.no_grad():
            self.task_weights.clamp_(min=self.min_weight)
            self.task_weights.mul_(self.num_tasks / self.task_weights.sum())
        grad_norms = [g.float().norm() for g in self._shared_grads(task_losses, model)]
        stats = self.mean_over_ranks([*grad_norms, *task_losses])
        grad_norms, losses = stats.split(self.num_tasks)

        initial = torch.where(self.initial_losses > 0, self.initial_losses, losses)
        self.initial_losses.copy_(initial)
        ratio = ratio_or_one(losses, initial)  # L_t / L_t(0)
        norms = self.task_weights * grad_norms  # G_t, (T,)
        target = norms.mean().detach() * ratio_or_one(ratio, ratio.mean())**self.alpha
        loss_gradnorm = (norms - target).abs().sum()
        return self.task_weights.detach(), dict(loss_gradnorm=loss_gradnorm)

    def _shared_grads(self, task_losses: List[Tensor], model: nn.Module) -> Iterator[Tensor]:
        """grad_W L_t of each task (each loss differentiated on its own: through a stack of
        the losses, every one would reach W)."""
        try:
            shared = model.get_parameter(self.shared_param)
        except AttributeError:
            raise ValueError(f'GradNorm.shared_param: the model has no parameter '
                             f'{self.shared_param!r}; name one of its named_parameters()') from None
        if not shared.requires_grad:
            raise ValueError(f'GradNorm.shared_param {self.shared_param!r} is frozen; name a '
                             'trained layer shared by every task')
        for task, loss in zip(self.tasks, task_losses):
            (grad, ) = torch.autograd.grad(loss, shared, retain_graph=True, allow_unused=True)
            if grad is None:
                raise ValueError(f'GradNorm: the {task} loss does not depend on '
                                 f'{self.shared_param}; set GradNorm.shared_param to a layer '
                                 'shared by every task')
            yield grad
