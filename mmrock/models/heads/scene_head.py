"""Scene classification head of ROCK: global average pooling of S maps into S logits."""
from typing import Dict, Optional, Sequence

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from torch import Tensor

from .base_aux_head import BaseAuxiliaryHead


@MODELS.register_module()
class SceneHead(BaseAuxiliaryHead):
    """Reads ``gt_scene_label`` (0-dim LongTensor); writes ``pred_scene_scores`` (S,) probabilities.

    Args:
        num_classes (int, optional): S, the number of scene classes (27 on NYUv2) = number of task
            maps. None: ``tools/train.py`` / ``tools/test.py`` set it from the dataset's
            ``scene_classes`` before building the model, ``ROCKInferencer`` and
            ``mmrock.apis.init_detector`` from the checkpoint's metadata or the dataset;
            building with None is an error.
        loss (dict): Cross-entropy with the task weight (3 in the paper).
        allow_missing (bool): See :class:`BaseAuxiliaryHead`. Defaults to False.
        label_check_iters (int): See :class:`BaseAuxiliaryHead`. Defaults to 20.
    """
    label_field = 'gt_scene_label'
    data_info_key = "scene_label (an image entry's scene_id)"
    loss_name = 'loss_scene'

    def __init__(self,
                 num_classes: Optional[int] = None,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=3.0),
                 allow_missing: bool = False,
                 label_check_iters: int = 20,
                 init_cfg=None) -> None:
        if num_classes is None:
            raise ValueError('SceneHead.num_classes is not set: give the number of scene classes '
                             '(model.rock.aux_heads.scene.num_classes), or build the model with '
                             "mmrock's tools/train.py, tools/test.py, ROCKInferencer or "
                             'mmrock.apis.init_detector, which take it from the dataset (or '
                             "the checkpoint's metadata)")
        super().__init__(
            num_maps=num_classes,
            loss=loss,
            allow_missing=allow_missing,
            label_check_iters=label_check_iters,
            init_cfg=init_cfg)

    def forward(self, maps: Tensor) -> Tensor:
        """Global average pooling of the task maps.

        Args:
            maps (Tensor): Task maps of shape (B, S, h, w).

        Returns:
            Tensor: Float32 logits of shape (B, S).
        """
        return maps.float().mean(dim=(2, 3))

    def loss(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """Cross-entropy of the labelled samples' logits against ``gt_scene_label``.

        Args:
            maps (Tensor): Task maps of shape (B, S, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples.

        Returns:
            dict[str, Tensor]: ``{'loss_scene': scalar loss}``.
        """
        return self.labelled_loss(
            self(maps), data_samples,
            lambda labelled: torch.stack([sample.gt_scene_label
                                          for sample in labelled]).view(-1).long())

    def predict(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> None:
        """Write ``pred_scene_scores`` (S,) softmax probabilities into each sample.

        Args:
            maps (Tensor): Task maps of shape (B, S, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples, updated in place.
        """
        for sample, scores in zip(data_samples, self(maps).softmax(dim=1)):
            sample.pred_scene_scores = scores
