"""Interface of ROCK's auxiliary heads: parameter-free predictor + loss + target preparation."""
from abc import ABCMeta, abstractmethod
from typing import Dict, Sequence

from mmdet.structures import DetDataSample
from mmengine.model import BaseModule
from torch import Tensor


class BaseAuxiliaryHead(BaseModule, metaclass=ABCMeta):
    """An auxiliary task read from ``num_maps`` task maps produced by the ROCK encoder.

    The head has no parameters of its own (the paper's predictors are poolings); it owns the
    pooling, the loss with its weight, and how ground truth is read from the data samples.
    A sample without the label (absent ``label_field``) contributes no loss.

    Args:
        num_maps (int): Channels of the task maps this head reads.
        loss (dict): Config of the loss module (its ``loss_weight`` is the task's weight).
    """
    label_field: str = ''
    loss_name: str = ''

    def __init__(self, num_maps: int, loss: dict, init_cfg=None) -> None:
        from mmdet.registry import MODELS
        super().__init__(init_cfg=init_cfg)
        self.num_maps = num_maps
        self.loss_module = MODELS.build(loss)

    @abstractmethod
    def forward(self, maps: Tensor) -> Tensor:
        """Pool the task maps (B, num_maps, h, w) into the task prediction."""

    @abstractmethod
    def loss(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """Loss over the labelled samples of the batch, as ``{loss_name: scalar}``."""

    @abstractmethod
    def predict(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> None:
        """Write the task's predictions into ``data_samples``."""

    @staticmethod
    def zero_loss(pred: Tensor) -> Tensor:
        """A zero that keeps ``pred`` in the graph, for batches without any label (DDP needs every
        parameter to receive a gradient)."""
        return pred.sum() * 0
