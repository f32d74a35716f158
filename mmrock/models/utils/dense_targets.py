"""Target preparation shared by the dense auxiliary heads (depth, normals)."""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from torch import Tensor


def labelled_indices(data_samples: Sequence[DetDataSample], field: str) -> List[int]:
    """Indices of the samples that carry a label field.

    Args:
        data_samples (Sequence[DetDataSample]): The batch's samples.
        field (str): The label field (a missing label is an absent field).

    Returns:
        list[int]: Indices of the samples that have ``field``.
    """
    return [i for i, sample in enumerate(data_samples) if field in sample]


def select_labelled(batch: Tensor, indices: List[int]) -> Tensor:
    """``batch[indices]`` along dim 0 without a host-to-device copy.

    ``batch`` itself when every sample is labelled, else a stack of integer-indexed views
    (``batch[list]`` would build an index tensor on the host and copy it to the device, a
    synchronisation on GPUs).

    Args:
        batch (Tensor): Batch tensor of shape (B, ...).
        indices (list[int]): Indices of the samples to keep.

    Returns:
        Tensor: The selected samples, of shape (len(indices), ...).
    """
    if indices == list(range(batch.shape[0])):
        return batch
    return torch.stack([batch[i] for i in indices])


def stack_dense_targets(data_samples: Sequence[DetDataSample], field: str,
                        pad_shape: Tuple[int, int]) -> Tensor:
    """Stack the samples' dense labels, zero-padded (= invalid) at the bottom/right like the
    images of the batch.

    Args:
        data_samples (Sequence[DetDataSample]): Labelled samples; ``sample.<field>.data`` is of
            shape (C, H, W), (H, W) the sample's ``img_shape``.
        field (str): The label field (``gt_depth``, ``gt_normals``).
        pad_shape (tuple[int, int]): (Hp, Wp), the batch's padded shape.

    Returns:
        Tensor: Targets of shape (B, C, Hp, Wp).

    Raises:
        ValueError: a map whose (H, W) is not its sample's ``img_shape`` (a label that did not
            follow the image), naming the sample's image file; never cropped or padded to fit.
    """
    maps = [sample.get(field).data for sample in data_samples]
    out = maps[0].new_zeros((len(maps), maps[0].shape[0]) + tuple(pad_shape))
    for i, (m, sample) in enumerate(zip(maps, data_samples)):
        img_hw = tuple(sample.metainfo['img_shape'][:2])
        if tuple(m.shape[-2:]) != img_hw:
            raise ValueError(f"{sample.metainfo.get('img_path')}: {field} is "
                             f'{m.shape[-1]}x{m.shape[-2]}, its image {img_hw[1]}x{img_hw[0]} '
                             '(W x H): a transform moved the image but not the label (use '
                             'multitask_pipeline(train_pipeline) from mmrock.datasets)')
        out[i, :, :m.shape[-2], :m.shape[-1]] = m
    return out


def masked_downsample(target: Tensor, valid: Tensor, size: Tuple[int,
                                                                 int]) -> Tuple[Tensor, Tensor]:
    """Average a target over its valid pixels within each cell of a grid, so invalid pixels
    never enter the average (unlike nearest-neighbour or plain pooling).

    Args:
        target (Tensor): Target of shape (B, C, H, W).
        valid (Tensor): Bool mask of the valid pixels, of shape (B, 1, H, W).
        size (tuple[int, int]): (h, w) of the grid.

    Returns:
        tuple[Tensor, Tensor]: The averaged target of shape (B, C, h, w) and the bool mask of
        the cells holding a valid pixel, of shape (B, 1, h, w).
    """
    weight = valid.to(target.dtype)
    # where, not a product: an invalid pixel's value (NaN, inf) must not reach the sum
    num = F.adaptive_avg_pool2d(torch.where(valid, target, target.new_zeros(())), size)
    den = F.adaptive_avg_pool2d(weight, size)
    cell_valid = den > 0
    return num / den.clamp(min=torch.finfo(target.dtype).tiny), cell_valid
