"""Class-presence head of ROCK: which detection classes an image holds, from its boxes alone."""
from typing import Dict, Sequence

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from torch import Tensor

from .base_aux_head import BaseAuxiliaryHead


@MODELS.register_module()
class PresenceHead(BaseAuxiliaryHead):
    """Image-level multi-label presence of each of the K detection classes, an auxiliary task
    that needs no annotation beyond the boxes: the target of class k is 1 when the image has a
    box of class k (``gt_instances.labels``, plus ``ignored_instances.labels`` where mmdet set
    crowd boxes apart), else 0; an image without boxes holds none. Global average pooling of K
    task maps into K logits (as :class:`SceneHead`), binary cross-entropy over the B x K
    (image, class) pairs. Writes ``pred_presence_scores`` (K,) probabilities.

    Args:
        num_classes (int): K, the detector's number of classes (= number of task maps).
        loss (dict): Binary cross-entropy with the task weight. Defaults to mmdet's
            ``CrossEntropyLoss(use_sigmoid=True, loss_weight=1.0)``, the mean over pairs.
        allow_missing (bool): See :class:`BaseAuxiliaryHead`. Defaults to False.
        label_check_iters (int): See :class:`BaseAuxiliaryHead`. Defaults to 20.
    """
    label_field = 'gt_instances'
    data_info_key = "boxes (the train pipeline's LoadAnnotations with_bbox=True)"
    loss_name = 'loss_presence'

    def __init__(self,
                 num_classes: int,
                 loss: dict = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 allow_missing: bool = False,
                 label_check_iters: int = 20,
                 init_cfg=None) -> None:
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'PresenceHead.num_classes must be the detector\'s number of '
                             f'classes (an int >= 1), got {num_classes!r}')
        super().__init__(
            num_maps=num_classes,
            loss=loss,
            allow_missing=allow_missing,
            label_check_iters=label_check_iters,
            init_cfg=init_cfg)
        self.num_classes = num_classes

    def forward(self, maps: Tensor) -> Tensor:
        """Global average pooling of the task maps.

        Args:
            maps (Tensor): Task maps of shape (B, K, h, w).

        Returns:
            Tensor: Float32 logits of shape (B, K).
        """
        return maps.float().mean(dim=(2, 3))

    def targets(self, data_samples: Sequence[DetDataSample]) -> Tensor:
        """Presence targets of the samples.

        Args:
            data_samples (Sequence[DetDataSample]): Samples with ``gt_instances``.

        Returns:
            Tensor: Float targets of shape (B, K), 1 where the sample has a box (crowd
            included) of the class.
        """
        targets = torch.zeros(len(data_samples), self.num_classes)
        for i, sample in enumerate(data_samples):
            for field in ('gt_instances', 'ignored_instances'):
                labels = getattr(sample.get(field), 'labels', None)
                if labels is not None and len(labels):
                    if int(labels.max()) >= self.num_classes or int(labels.min()) < 0:
                        raise ValueError(f'PresenceHead: a box label outside 0..'
                                         f'{self.num_classes - 1} (num_classes='
                                         f'{self.num_classes}): set it to the detector\'s')
                    targets[i, labels.long().cpu()] = 1.
        return targets

    def loss(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """Binary cross-entropy over the (image, class) pairs of the labelled samples.

        Args:
            maps (Tensor): Task maps of shape (B, K, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples.

        Returns:
            dict[str, Tensor]: ``{'loss_presence': scalar loss}``.
        """
        return self.labelled_loss(self(maps), data_samples, self.targets)

    def predict(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> None:
        """Write ``pred_presence_scores`` (K,) sigmoid probabilities into each sample.

        Args:
            maps (Tensor): Task maps of shape (B, K, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples, updated in place.
        """
        for sample, scores in zip(data_samples, self(maps).sigmoid()):
            sample.pred_presence_scores = scores
