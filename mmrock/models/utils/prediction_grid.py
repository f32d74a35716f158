"""The prediction grid shared by the dense heads (depth, normals, segmentation): the channel-group
pooling that turns task maps into per-cell outputs, and the cells that cover an image."""
import math
from typing import Sequence, Tuple

from torch import Tensor


def group_mean(maps: Tensor, groups: int) -> Tensor:
    """The channel-wise mean of each of ``groups`` contiguous groups of task maps.

    Args:
        maps (Tensor): Task maps of shape (B, groups * m, h, w), any float dtype.
        groups (int): Number of groups (output channels).

    Returns:
        Tensor: Float32 tensor of shape (B, groups, h, w), channel g the mean of maps
        g * m .. (g + 1) * m - 1.
    """
    b, c, h, w = maps.shape
    return maps.float().view(b, groups, c // groups, h, w).mean(dim=2)


def covering_cells(img_hw: Sequence[int], grid_hw: Sequence[int],
                   pad_hw: Sequence[int]) -> Tuple[int, int]:
    """The cells of a grid laid over the padded batch that cover an image at its top-left.

    Args:
        img_hw (Sequence[int]): (H, W) of the image, in pixels.
        grid_hw (Sequence[int]): (h, w) of the prediction grid.
        pad_hw (Sequence[int]): (Hp, Wp) of the padded batch, in pixels.

    Returns:
        tuple[int, int]: The (h', w') covering cells (30 x 40 for 480 x 640 at stride 16).
    """
    return (math.ceil(img_hw[0] * grid_hw[0] / pad_hw[0]),
            math.ceil(img_hw[1] * grid_hw[1] / pad_hw[1]))
