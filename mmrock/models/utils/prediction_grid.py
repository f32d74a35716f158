"""The prediction grid shared by the dense heads (depth, normals, segmentation): the channel-group
pooling that turns task maps into per-cell outputs, and the cells that cover an image."""
import math
from typing import Sequence, Tuple

from torch import Tensor


def group_mean(maps: Tensor, groups: int) -> Tensor:
    """The channel-wise mean of each of ``groups`` contiguous groups of task maps.

    Args:
        maps (Tensor): Task maps (B, groups * m, h, w), any float dtype.

    Returns:
        Tensor: (B, groups, h, w) float32, channel g the mean of maps g * m .. (g + 1) * m - 1.
    """
    b, c, h, w = maps.shape
    return maps.float().view(b, groups, c // groups, h, w).mean(dim=2)


def covering_cells(img_hw: Sequence[int], grid_hw: Sequence[int],
                   pad_hw: Sequence[int]) -> Tuple[int, int]:
    """The (h, w) cells of a grid laid over the padded batch (``pad_hw``) that cover an image of
    ``img_hw`` pixels at its top-left (30 x 40 for 480 x 640 at stride 16)."""
    return (math.ceil(img_hw[0] * grid_hw[0] / pad_hw[0]),
            math.ceil(img_hw[1] * grid_hw[1] / pad_hw[1]))
