"""Shared logic of the dense auxiliary heads (depth, normals): channel-group pooling predictor,
masked downsampling of the targets to the prediction grid, loss on valid cells only."""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.structures import PixelData
from mmengine.utils import deprecated_api_warning
from torch import Tensor

from ..utils import (covering_cells, group_mean, labelled_indices, masked_downsample,
                     select_labelled, stack_dense_targets)
from .base_aux_head import BaseAuxiliaryHead


class DenseAuxiliaryHead(BaseAuxiliaryHead):
    """Predicts ``out_channels`` dense maps, each the channel-wise mean of one contiguous group of
    ``maps_per_out_channel`` task maps:
    (B, out_channels * maps_per_out_channel, h, w) -> (B, out_channels, h, w). The head reads
    ``num_maps = out_channels * maps_per_out_channel`` task maps in all.

    Ground truth ``<label_field>.data`` is (out_channels, H, W) at the image's resolution, with
    invalid pixels marked by :meth:`valid_mask` (non-finite values are invalid too); it is
    zero-padded to the batch shape and averaged over valid pixels into the prediction grid
    (:func:`masked_downsample`).

    Args:
        maps_per_out_channel (int): Task maps averaged into each output channel (the old name
            ``maps_per_channel`` is deprecated).
        loss (dict): Config of the loss module (its ``loss_weight`` is the task's weight).
        allow_missing (bool): See :class:`BaseAuxiliaryHead`. Defaults to False.
        label_check_iters (int): See :class:`BaseAuxiliaryHead`. Defaults to 20.
    """
    out_channels: int = 1
    pred_field: str = ''

    @deprecated_api_warning({'maps_per_channel': 'maps_per_out_channel'},
                            cls_name='DenseAuxiliaryHead')
    def __init__(self,
                 maps_per_out_channel: int,
                 loss: dict,
                 allow_missing: bool = False,
                 label_check_iters: int = 20,
                 init_cfg=None) -> None:
        super().__init__(
            num_maps=self.out_channels * maps_per_out_channel,
            loss=loss,
            allow_missing=allow_missing,
            label_check_iters=label_check_iters,
            init_cfg=init_cfg)
        self.maps_per_out_channel = maps_per_out_channel

    def forward(self, maps: Tensor) -> Tensor:
        """Pool the task maps into the raw prediction.

        Args:
            maps (Tensor): Task maps of shape (B, num_maps, h, w).

        Returns:
            Tensor: Float32 raw prediction of shape (B, out_channels, h, w).
        """
        return group_mean(maps, self.out_channels)

    def valid_mask(self, target: Tensor) -> Tensor:
        """Which pixels (or cells) of a target are valid.

        Args:
            target (Tensor): Target of shape (B, C, H, W), full-resolution or averaged.

        Returns:
            Tensor: Bool mask of shape (B, 1, H, W).
        """
        raise NotImplementedError

    def encode_target(self, target: Tensor) -> Tensor:
        """Bring a downsampled target to the space the loss compares predictions in.

        Args:
            target (Tensor): Target of shape (B, C, h, w).

        Returns:
            Tensor: Encoded target of the same shape.
        """
        return target

    def decode_pred(self, pred: Tensor) -> Tensor:
        """Decode a raw prediction into the task's output (metres, unit normals...).

        Args:
            pred (Tensor): Raw prediction of shape (B, C, H, W).

        Returns:
            Tensor: The task's output, of the same shape.
        """
        return pred

    def loss(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """Loss on the valid cells of the labelled samples.

        Args:
            maps (Tensor): Task maps of shape (B, num_maps, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples; a labelled one carries
                ``<label_field>.data`` of shape (out_channels, H, W).

        Returns:
            dict[str, Tensor]: ``{loss_name: scalar loss}``.
        """
        pred = self(maps)
        idx = labelled_indices(data_samples, self.label_field)
        self.count_labels(len(idx), len(data_samples))
        if not idx:
            return {self.loss_name: self.zero_loss(pred)}
        labelled = [data_samples[i] for i in idx]
        target = stack_dense_targets(labelled, self.label_field,
                                     labelled[0].metainfo['batch_input_shape'])
        target = target.to(pred.device, pred.dtype)
        valid = self.valid_mask(target) & torch.isfinite(target).all(dim=1, keepdim=True)
        target, cell_valid = masked_downsample(target, valid, pred.shape[-2:])
        weight = (cell_valid & self.valid_mask(target)).to(pred.dtype)  # (B', 1, h, w)
        target = self.encode_target(target) * weight
        loss = self.loss_module(
            select_labelled(pred, idx), target, weight=weight, avg_factor=weight.sum().clamp(min=1))
        return {self.loss_name: loss}

    def predict(self, maps: Tensor, data_samples: Sequence[DetDataSample]) -> None:
        """Write each sample's prediction, upsampled (bilinear) to the padded batch shape and
        cropped to its ``img_shape``, as ``<pred_field>`` (out_channels, H, W).

        Also records in each sample's metainfo ``aux_grid_shape``, the (h, w) cells of the
        prediction grid that cover its image (30 x 40 for 480 x 640 at stride 16).

        Args:
            maps (Tensor): Task maps of shape (B, num_maps, h, w).
            data_samples (Sequence[DetDataSample]): The batch's samples, updated in place.
        """
        pred = self(maps)
        pad_shape = data_samples[0].metainfo['batch_input_shape']
        grid_h, grid_w = pred.shape[-2:]
        pred = self.decode_pred(
            F.interpolate(pred, size=pad_shape, mode='bilinear', align_corners=False))
        for sample, p in zip(data_samples, pred):
            h, w = sample.metainfo['img_shape'][:2]
            sample.set_field(PixelData(data=p[:, :h, :w]), self.pred_field)
            sample.set_metainfo(
                dict(aux_grid_shape=covering_cells((h, w), (grid_h, grid_w), pad_shape)))
