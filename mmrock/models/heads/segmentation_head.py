"""Semantic segmentation head of ROCK: per-cell class scores, from a seg map or instance masks."""
from typing import Dict, List, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from torch import Tensor

from ..utils import covering_cells, group_mean, select_labelled
from ..utils.seg_targets import SEG_IGNORE_INDEX, majority_grid, sample_seg_labels
from .base_aux_head import BaseAuxiliaryHead


@MODELS.register_module()
class SegmentationHead(BaseAuxiliaryHead):
    """Per-cell scores of K classes + background, an auxiliary task for detection data with
    instance masks or semantic maps.

    Predictor: the channel-wise mean of each contiguous group of ``maps_per_out_channel`` task
    maps, as the dense heads pool: (B, (K + 1) * maps_per_out_channel, h, w) -> (B, K + 1, h, w)
    logits, class K being the background.

    Labels, per pixel: the sample's seg map (``gt_sem_seg``, from mmdet's
    ``LoadAnnotations(with_seg=True)`` and ``PackDetInputs``; values 0..K-1 classes, K
    background, ``ignore_index`` not labelled) when the pipeline loads one, else its instance
    masks (``gt_instances.masks``, ``LoadAnnotations(with_mask=True)``) rasterised: background
    where no instance is, crowd regions (``ignored_instances``) ignored, the smaller instance on
    top where instances overlap (:func:`~mmrock.models.utils.seg_targets.rasterise_instances`).
    A sample with neither contributes no loss (:class:`BaseAuxiliaryHead` counts it).

    Labels, per cell: padded with ``ignore_index`` to the batch shape (as the images), then each
    cell of the prediction grid takes the majority class of its valid (not ignored) pixels, a
    tie going to the smallest class; a cell without valid pixel is ignored
    (:func:`~mmrock.models.utils.seg_targets.majority_grid`). Loss: mmdet's cross-entropy over the
    cells not ignored, averaged over them (``loss_seg``).

    Prediction: ``pred_seg_scores`` (K + 1, h', w') softmax probabilities at the sample's cells
    (h', w') = ``aux_grid_shape`` (the cells covering its image, also set in its metainfo), and,
    when the sample carries labels, ``gt_seg_grid`` (h', w') int64: its labels brought to those
    cells by the rule above (labels at the original image size, as test pipelines load them
    after ``Resize``, are first resized to the image, nearest neighbour). ``AuxiliaryTaskMetric``
    scores them as ``seg_mIoU``.

    Args:
        num_classes (int): K, classes before the background (the detector's number of classes
            for labels from masks; for a seg map, its classes but the background, e.g. 20 for
            the NYUv2 converter's 19 detection classes + other).
        maps_per_out_channel (int): Task maps averaged into each class' score. Defaults to 1 (one
            map per class, as :class:`SceneHead` and :class:`PresenceHead`).
        ignore_index (int): Label of pixels that do not count. Defaults to 255 (mmdet's).
        loss (dict): mmdet classification loss called as ``loss(logits (N, K + 1, h, w),
            labels (N, h, w), weight=(N, h, w), avg_factor=...)``. Defaults to
            ``CrossEntropyLoss(loss_weight=1.0)``.
        allow_missing (bool): See :class:`BaseAuxiliaryHead`. Defaults to False.
        label_check_iters (int): See :class:`BaseAuxiliaryHead`. Defaults to 20.
    """
    label_field = 'gt_sem_seg or gt_instances.masks'
    data_info_key = ('a seg map (seg_map_path, LoadAnnotations with_seg=True) or instance masks '
                     '(COCO segmentation, LoadAnnotations with_mask=True)')
    loss_name = 'loss_seg'

    def __init__(self,
                 num_classes: int,
                 maps_per_out_channel: int = 1,
                 ignore_index: int = SEG_IGNORE_INDEX,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 allow_missing: bool = False,
                 label_check_iters: int = 20,
                 init_cfg=None) -> None:
        for name, value in (('num_classes', num_classes), ('maps_per_out_channel',
                                                           maps_per_out_channel)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'SegmentationHead.{name} must be an int >= 1, got {value!r}')
        if 0 <= ignore_index <= num_classes:
            raise ValueError(f'SegmentationHead.ignore_index {ignore_index} is a class (0..'
                             f'{num_classes}, background {num_classes})')
        super().__init__(
            num_maps=(num_classes + 1) * maps_per_out_channel,
            loss=loss,
            allow_missing=allow_missing,
            label_check_iters=label_check_iters,
            init_cfg=init_cfg)
        self.num_classes = num_classes
        self.maps_per_out_channel = maps_per_out_channel
        self.ignore_index = ignore_index

    def forward(self, maps: Tensor) -> Tensor:
        """Channel-group pooling of the task maps into class logits.

        Args:
            maps (Tensor): Task maps of shape (B, (K + 1) * maps_per_out_channel, h, w).

        Returns:
            Tensor: Float32 logits of shape (B, K + 1, h, w), class K the background.
        """
        return group_mean(maps, self.num_classes + 1)

    @staticmethod
    def has_label(sample: DetDataSample) -> bool:
        """Whether a sample carries a seg map or instance masks.

        Args:
            sample (DetDataSample): The sample.

        Returns:
            bool: True when it has ``gt_sem_seg`` or ``gt_instances.masks``.
        """
        instances = sample.get('gt_instances')
        return 'gt_sem_seg' in sample or (instances is not None and 'masks' in instances)

    def pixel_labels(self, sample: DetDataSample, allow_ori_shape: bool = False) -> Tensor:
        """A labelled sample's per-pixel classes at its batch's padded shape.

        Args:
            sample (DetDataSample): A sample with a seg map or instance masks.
            allow_ori_shape (bool): Accept labels at ``ori_shape`` (loaded after ``Resize`` in a
                test pipeline), resized to the image by nearest neighbour. Defaults to False.

        Returns:
            Tensor: Int64 classes of shape (Hp, Wp), (Hp, Wp) the ``batch_input_shape``,
            ``ignore_index`` outside the image.

        Raises:
            ValueError: labels of another size than the image (or the padded batch, or with
                ``allow_ori_shape`` the original image): a transform moved the image but not
                the labels; one line naming the image file.
        """
        labels = sample_seg_labels(sample, self.num_classes, self.ignore_index)
        pad_shape = tuple(sample.metainfo['batch_input_shape'])
        img_hw = tuple(sample.metainfo['img_shape'][:2])
        ori_hw = tuple(sample.metainfo.get('ori_shape', img_hw)[:2])
        if labels.shape not in (img_hw, pad_shape):
            if not (allow_ori_shape and labels.shape == ori_hw):
                raise ValueError(
                    f"{sample.metainfo.get('img_path')}: the segmentation labels are "
                    f'{labels.shape[1]}x{labels.shape[0]}, its image {img_hw[1]}x{img_hw[0]} '
                    '(W x H): a transform moved the image but not the masks / seg map')
            # as mmdet's Resize resizes seg maps
            labels = mmcv.imresize(
                labels.astype(np.int32), img_hw[::-1], interpolation='nearest').astype(np.int64)
        out = np.full(pad_shape, self.ignore_index, np.int64)
        out[:labels.shape[0], :labels.shape[1]] = labels[:pad_shape[0], :pad_shape[1]]
        return torch.from_numpy(out)

    def grid_targets(self,
                     data_samples: Sequence[DetDataSample],
                     grid: Tuple[int, int],
                     allow_ori_shape: bool = False) -> Tensor:
        """Labels of labelled samples at the prediction grid (majority rule of the class).

        Args:
            data_samples (Sequence[DetDataSample]): B labelled samples.
            grid (tuple[int, int]): (h, w) of the prediction grid.
            allow_ori_shape (bool): See :meth:`pixel_labels`. Defaults to False.

        Returns:
            Tensor: Int64 labels of shape (B, h, w), ``ignore_index`` where a cell has no valid
            pixel.
        """
        labels = torch.stack([self.pixel_labels(s, allow_ori_shape) for s in data_samples])
        return majority_grid(labels, grid, self.num_classes + 1, self.ignore_index)

    def loss(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """Cross-entropy over the cells not ignored of the labelled samples.

        Args:
            maps (Tensor): Task maps of shape (B, (K + 1) * maps_per_out_channel, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples.

        Returns:
            dict[str, Tensor]: ``{'loss_seg': scalar loss}``.
        """
        pred = self(maps)
        idx = [i for i, sample in enumerate(data_samples) if self.has_label(sample)]
        self.count_labels(len(idx), len(data_samples))
        if not idx:
            return {self.loss_name: self.zero_loss(pred)}
        target = self.grid_targets([data_samples[i] for i in idx], pred.shape[-2:])
        target = target.to(pred.device)
        valid = target != self.ignore_index
        loss = self.loss_module(
            select_labelled(pred, idx),
            torch.where(valid, target, 0),
            weight=valid.float(),
            avg_factor=valid.sum().clamp(min=1).float())
        return {self.loss_name: loss}

    def predict(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> None:
        """Write ``pred_seg_scores`` (K + 1, h', w'), the ``aux_grid_shape`` (h', w': the cells
        covering the image) and ``aux_batch_grid_shape`` (h, w: the grid over the padded batch)
        metainfo and, for labelled samples, ``gt_seg_grid`` (h', w') into each sample.

        Args:
            maps (Tensor): Task maps of shape (B, (K + 1) * maps_per_out_channel, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples, updated in place.
        """
        pred = self(maps).softmax(dim=1)
        pad_h, pad_w = data_samples[0].metainfo['batch_input_shape']
        grid_h, grid_w = pred.shape[-2:]
        labelled: List[int] = [i for i, s in enumerate(data_samples) if self.has_label(s)]
        targets = (
            self.grid_targets([data_samples[i] for i in labelled], (grid_h, grid_w),
                              allow_ori_shape=True) if labelled else None)
        for i, (sample, scores) in enumerate(zip(data_samples, pred)):
            h, w = sample.metainfo['img_shape'][:2]
            cells = covering_cells((h, w), (grid_h, grid_w), (pad_h, pad_w))
            sample.set_metainfo(dict(aux_grid_shape=cells, aux_batch_grid_shape=(grid_h, grid_w)))
            sample.pred_seg_scores = scores[:, :cells[0], :cells[1]]
            if i in labelled:
                sample.gt_seg_grid = targets[labelled.index(i)][:cells[0], :cells[1]]
