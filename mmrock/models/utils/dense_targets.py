"""Target preparation shared by the dense auxiliary heads (depth, normals)."""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from torch import Tensor


def labelled_indices(data_samples: Sequence[DetDataSample], field: str) -> List[int]:
    """Indices of the samples that carry ``field`` (a missing label is an absent field)."""
    return [i for i, sample in enumerate(data_samples) if field in sample]


def select_labelled(batch: Tensor, indices: List[int]) -> Tensor:
    """``batch[indices]`` along dim 0 without a host-to-device copy: ``batch`` itself when every
    sample is labelled, else a stack of integer-indexed views (``batch[list]`` would build an
    index tensor on the host and copy it to the device, a synchronisation on GPUs)."""
    if indices == list(range(batch.shape[0])):
        return batch
    return torch.stack([batch[i] for i in indices])


def stack_dense_targets(data_samples: Sequence[DetDataSample], field: str,
                        pad_shape: Tuple[int, int]) -> Tensor:
    """Stack ``sample.<field>.data`` (C, H, W) into (B, C, Hp, Wp), zero-padded (= invalid)
    at the bottom/right like the images of the batch.

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
    """Average ``target`` (B, C, H, W) over its valid pixels (``valid``: (B, 1, H, W) bool) within
    each cell of a ``size`` = (h, w) grid, so invalid pixels never enter the average (unlike
    nearest-neighbour or plain pooling).

    Returns:
        (B, C, h, w) averaged target and (B, 1, h, w) bool mask of the cells holding a valid pixel.
    """
    weight = valid.to(target.dtype)
    # where, not a product: an invalid pixel's value (NaN, inf) must not reach the sum
    num = F.adaptive_avg_pool2d(torch.where(valid, target, target.new_zeros(())), size)
    den = F.adaptive_avg_pool2d(weight, size)
    cell_valid = den > 0
    return num / den.clamp(min=torch.finfo(target.dtype).tiny), cell_valid
