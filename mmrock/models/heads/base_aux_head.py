"""Interface of ROCK's auxiliary heads: parameter-free predictor + loss + target preparation,
and the check that the training data really carries each head's label."""
from abc import ABCMeta, abstractmethod
from typing import Callable, Dict, List, Sequence

from mmdet.structures import DetDataSample
from mmengine.logging import MessageHub, MMLogger
from mmengine.model import BaseModule
from torch import Tensor

from ..utils import labelled_indices, select_labelled


class MissingAuxiliaryLabelError(RuntimeError):
    """An auxiliary head received no label during its check window; the message is one line."""


class BaseAuxiliaryHead(BaseModule, metaclass=ABCMeta):
    """An auxiliary task read from ``num_maps`` task maps produced by the ROCK encoder.

    The head has no parameters of its own (the paper's predictors are poolings); it owns the
    pooling, the loss with its weight, and how ground truth is read from the data samples.
    A sample without the label (absent ``label_field``) contributes no loss.

    Label presence is tracked: :meth:`count_labels` logs ``<task>_labelled``, the batch's
    fraction of samples carrying the label (a host number in mmengine's message hub, shown with
    the losses; no tensor, no device sync). If no sample carried it after ``label_check_iters``
    training iterations, :class:`MissingAuxiliaryLabelError` stops training, unless
    ``allow_missing`` (a dataset without this label on purpose), which only logs a warning.

    Args:
        num_maps (int): Channels of the task maps this head reads.
        loss (dict): Config of the loss module (its ``loss_weight`` is the task's weight).
        allow_missing (bool): The training data may lack this label entirely. Defaults to False.
        label_check_iters (int): Iterations after which a head that saw no label stops the
            training (or warns). Defaults to 20.
    """
    label_field: str = ''
    loss_name: str = ''
    data_info_key: str = ''  # where the dataset gives the label (data info key, json field)

    def __init__(self,
                 num_maps: int,
                 loss: dict,
                 allow_missing: bool = False,
                 label_check_iters: int = 20,
                 init_cfg=None) -> None:
        from mmdet.registry import MODELS
        super().__init__(init_cfg=init_cfg)
        if label_check_iters < 1:
            raise ValueError(f'label_check_iters must be >= 1, got {label_check_iters}')
        self.num_maps = num_maps
        self.loss_module = MODELS.build(loss)
        self.allow_missing = allow_missing
        self.label_check_iters = label_check_iters
        self.seen_iters = self.seen_samples = self.seen_labels = 0

    @property
    def task_name(self) -> str:
        """str: The task's name, from its loss name (``loss_depth`` -> ``depth``)."""
        return self.loss_name[len('loss_'):]

    def count_labels(self, num_labelled: int, num_samples: int) -> None:
        """Record one training batch and log its labelled fraction as ``train/<task>_labelled``.

        Args:
            num_labelled (int): Samples of the batch carrying the label.
            num_samples (int): Samples in the batch.

        Raises:
            MissingAuxiliaryLabelError: after ``label_check_iters`` iterations without any label,
                unless ``allow_missing``.
        """
        self.seen_iters += 1
        self.seen_samples += num_samples
        self.seen_labels += num_labelled
        if self.seen_iters == self.label_check_iters and self.seen_labels == 0:
            what = (f"{type(self).__name__} ('{self.task_name}') received no '{self.label_field}' "
                    f'in the first {self.seen_iters} training iterations ({self.seen_samples} '
                    'samples)')
            if self.allow_missing:
                MMLogger.get_current_instance().warning(
                    f'{what}; allow_missing=True: its loss stays 0.')
            else:
                raise MissingAuxiliaryLabelError(
                    f'{what}: the dataset must give {self.data_info_key} and the train '
                    'pipeline must load and pack it (LoadMultiTaskAnnotations ... '
                    'PackMultiTaskInputs: train_pipeline = multitask_pipeline(train_pipeline), '
                    'from mmrock.datasets); or set allow_missing=True on this head if the data '
                    'has none.')
        MessageHub.get_current_instance().update_scalar(f'train/{self.task_name}_labelled',
                                                        num_labelled / max(num_samples, 1))

    @abstractmethod
    def forward(self, maps: Tensor) -> Tensor:
        """Pool the task maps into the task prediction.

        Args:
            maps (Tensor): Task maps of shape (B, num_maps, h, w).

        Returns:
            Tensor: The task prediction, of shape (B, ...).
        """

    @abstractmethod
    def loss(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """Loss over the labelled samples of the batch.

        Args:
            maps (Tensor): Task maps of shape (B, num_maps, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples, with their labels.

        Returns:
            dict[str, Tensor]: ``{loss_name: scalar loss}``.
        """

    @abstractmethod
    def predict(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> None:
        """Write the task's predictions into ``data_samples``.

        Args:
            maps (Tensor): Task maps of shape (B, num_maps, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples, updated in place.
        """

    def labelled_loss(self, pred: Tensor, data_samples: Sequence[DetDataSample],
                      targets: Callable[[List[DetDataSample]], Tensor]) -> Dict[str, Tensor]:
        """Loss of a prediction over the samples carrying the label, once the batch's labels
        are counted (:meth:`count_labels`).

        Args:
            pred (Tensor): The batch's prediction, of shape (B, ...).
            data_samples (Sequence[DetDataSample]): The batch's samples.
            targets (Callable[[list[DetDataSample]], Tensor]): Builds the targets of the
                labelled samples, of shape (B', ...).

        Returns:
            dict[str, Tensor]: ``{loss_name: loss}``; :meth:`zero_loss` when no sample carries
            the label.
        """
        idx = labelled_indices(data_samples, self.label_field)
        self.count_labels(len(idx), len(data_samples))
        if not idx:
            return {self.loss_name: self.zero_loss(pred)}
        target = targets([data_samples[i] for i in idx]).to(pred.device)
        return {self.loss_name: self.loss_module(select_labelled(pred, idx), target)}

    @staticmethod
    def zero_loss(pred: Tensor) -> Tensor:
        """A zero that keeps ``pred`` in the graph, for batches without any label (DDP needs every
        parameter to receive a gradient).

        Args:
            pred (Tensor): The batch's prediction.

        Returns:
            Tensor: A scalar zero connected to ``pred``.
        """
        return pred.sum() * 0
