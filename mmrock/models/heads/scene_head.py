"""Scene classification head of ROCK: global average pooling of S maps into S logits."""
from typing import Dict, Sequence

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from torch import Tensor

from ..utils import labelled_indices, select_labelled
from .base_aux_head import BaseAuxiliaryHead


@MODELS.register_module()
class SceneHead(BaseAuxiliaryHead):
    """Reads ``gt_scene_label`` (0-dim LongTensor); writes ``pred_scene_scores`` (S,) probabilities.

    Args:
        num_classes (int): S, the number of scene classes (27 on NYUv2) = number of task maps.
        loss (dict): Cross-entropy with the task weight (3 in the paper).
    """
    label_field = 'gt_scene_label'
    loss_name = 'loss_scene'

    def __init__(self, num_classes: int = 27,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=3.0), init_cfg=None) -> None:
        super().__init__(num_maps=num_classes, loss=loss, init_cfg=init_cfg)

    def forward(self, maps: Tensor) -> Tensor:
        """(B, S, h, w) -> (B, S) logits."""
        return maps.float().mean(dim=(2, 3))

    def loss(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        logits = self(maps)
        idx = labelled_indices(data_samples, self.label_field)
        if not idx:
            return {self.loss_name: self.zero_loss(logits)}
        labels = torch.stack([data_samples[i].gt_scene_label for i in idx]).view(-1)
        return {self.loss_name: self.loss_module(select_labelled(logits, idx),
                                                labels.to(logits.device).long())}

    def predict(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> None:
        for sample, scores in zip(data_samples, self(maps).softmax(dim=1)):
            sample.pred_scene_scores = scores
