"""Interface of the loss balancers: how ROCKDetector weighs its detection and auxiliary losses."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Sequence, Tuple, Union

import torch
from mmengine.dist import all_reduce
from mmengine.model import BaseModule
from torch import Tensor, nn

Losses = Dict[str, Union[Tensor, List[Tensor]]]


class BaseLossBalancer(BaseModule, metaclass=ABCMeta):
    """Weighs the task losses of each training iteration.

    The tasks are the auxiliary ones (the loss ``loss_<task>`` of each ROCK head: ``scene``,
    ``depth``, ``normals``) and, with ``include_detection``, the detection task ``det``, whose loss
    is the sum of all the detector's losses (``loss_cls + loss_bbox`` for SSD). A task's weight
    multiplies its loss **as the head returns it**, i.e. on top of the head's own
    ``loss_weight``: the configs of the learned balancers set those to 1.

    Args:
        tasks (Sequence[str]): Auxiliary task names; :class:`ROCKDetector` passes its ROCK
            heads' (e.g. ``('scene', 'depth', 'normals')``).
        include_detection (bool): Also weigh the detection loss (task ``det``, first). Defaults
            to False: detection keeps weight 1, as in the paper.
        init_cfg (:obj:`ConfigDict` or dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 tasks: Sequence[str],
                 include_detection: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not tasks and not include_detection:
            raise ValueError(f'{type(self).__name__} has no task to weigh')
        self.include_detection = include_detection
        self.tasks = (['det'] if include_detection else []) + list(tasks)

    @property
    def num_tasks(self) -> int:
        """int: T, the number of weighed tasks (``det`` included with ``include_detection``)."""
        return len(self.tasks)

    def forward(self, det_losses: Losses, aux_losses: Dict[str, Tensor],
                model: nn.Module) -> Losses:
        """Weighs the losses of one iteration.

        Args:
            det_losses (dict): The detector's losses (tensors or lists of tensors) and any other
                entries it logs (e.g. ``acc``), passed through unweighted.
            aux_losses (dict[str, Tensor]): ``loss_<task>`` scalar of each auxiliary task.
            model (nn.Module): The detector, where a balancer looks up shared parameters.

        Returns:
            dict: ``det_losses`` and ``aux_losses``, each loss times its task's weight, in that
            order; the balancer's own loss terms (``loss_*``, summed into the total loss); and
            ``w_<task>``: the weights used (detached; no 'loss' in the name, so logged but not
            summed into the total loss).
        """
        expected = {f'loss_{t}' for t in self.tasks if t != 'det'}
        if set(aux_losses) != expected:
            raise KeyError(f'{type(self).__name__} weighs {sorted(expected)} but the auxiliary '
                           f'losses are {sorted(aux_losses)}: its `tasks` must name the ROCK heads')
        task_losses = [sum(_as_scalar(v) for k, v in det_losses.items() if 'loss' in k)] \
            if self.include_detection else []
        task_losses += [aux_losses[f'loss_{t}'] for t in self.tasks if t != 'det']
        weights, extra = self.weigh(task_losses, model)  # (T,)

        weight_of = dict(zip(self.tasks, weights.unbind()))
        out = {}
        for key, value in det_losses.items():
            out[key] = _scaled(value, weight_of['det']) \
                if self.include_detection and 'loss' in key else value
        for key, value in aux_losses.items():
            out[key] = value * weight_of[key[len('loss_'):]]
        out.update(extra)
        out.update({f'w_{t}': w.detach() for t, w in weight_of.items()})
        return out

    @abstractmethod
    def weigh(self, task_losses: List[Tensor],
              model: nn.Module) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The task weights of the iteration.

        Args:
            task_losses (list[Tensor]): The T scalar task losses, in ``self.tasks`` order (in
                the graph).
            model (nn.Module): The detector, where a balancer looks up shared parameters.

        Returns:
            tuple[Tensor, dict[str, Tensor]]: The weights of shape (T, ), and the balancer's
            extra loss terms ``{name: scalar}``.
        """

    @staticmethod
    def mean_over_ranks(values: List[Tensor]) -> Tensor:
        """Average scalars over the distributed ranks, so that every rank updates its state alike.

        Args:
            values (list[Tensor]): T scalars.

        Returns:
            Tensor: Detached float copy of shape (T, ), averaged over the ranks (the values
            themselves on a single process).
        """
        values = torch.stack([v.detach().float() for v in values])
        all_reduce(values, op='mean')
        return values


def ratio_or_one(numerator: Tensor, denominator: Tensor) -> Tensor:
    """numerator / denominator where the denominator is positive, 1 elsewhere (a task without
    any label in the averaged iterations has a zero loss).

    Args:
        numerator (Tensor): Numerators, e.g. of shape (T, ).
        denominator (Tensor): Denominators of the same shape.

    Returns:
        Tensor: The ratios, of the same shape.
    """
    positive = denominator > 0
    return torch.where(positive, numerator / torch.where(positive, denominator, 1.0),
                       torch.ones_like(numerator))


def _as_scalar(value: Union[Tensor, List[Tensor]]) -> Tensor:
    """A loss entry as mmengine's ``parse_losses`` sums it: mean of a tensor, sum of means."""
    if isinstance(value, Tensor):
        return value.mean()
    return sum(v.mean() for v in value)


def _scaled(value: Union[Tensor, List[Tensor]], weight: Tensor) -> Union[Tensor, List[Tensor]]:
    if isinstance(value, Tensor):
        return value * weight
    return [v * weight for v in value]
