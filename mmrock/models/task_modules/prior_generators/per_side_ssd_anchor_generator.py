"""SSD anchors whose scales are fractions of each side of a non-square input."""
from typing import List, Mapping, Sequence, Tuple

import torch
from mmdet.models.task_modules.prior_generators import SSDAnchorGenerator
from mmdet.registry import TASK_UTILS
from torch import Tensor

# The public re-implementation's scales on SSD's 7 levels: 0.07, then linear from 0.15 to 1.05
REIMPLEMENTATION_SCALES = (0.07, 0.15, 0.30, 0.45, 0.60, 0.75, 0.90, 1.05)


def per_side_anchor_generator(square: Mapping,
                              input_size: Tuple[int, int],
                              scales: Sequence[float] = REIMPLEMENTATION_SCALES) -> dict:
    """The ``anchor_generator`` config replacing an SSD head's default by
    :class:`PerSideSSDAnchorGenerator`, with the same strides and ratios (as many anchors per
    cell: the same head). In a config::

        from mmrock.models.task_modules import per_side_anchor_generator
        model = dict(bbox_head=dict(anchor_generator=per_side_anchor_generator(
            _base_.model.bbox_head.anchor_generator, input_size=(640, 480))))

    Args:
        square (Mapping): The head's ``SSDAnchorGenerator`` config (``strides``, ``ratios``).
        input_size (tuple[int, int]): (W, H) of the network input.
        scales (Sequence[float]): ``num_levels + 1`` fractions of each side. Defaults to
            :data:`REIMPLEMENTATION_SCALES`.

    Returns:
        dict: The config, with ``_delete_=True`` so that it replaces ``square`` when merged.
    """
    return dict(
        _delete_=True,
        type='PerSideSSDAnchorGenerator',
        strides=square['strides'],
        ratios=square['ratios'],
        scales=list(scales),
        input_size=tuple(input_size))


@TASK_UTILS.register_module()
class PerSideSSDAnchorGenerator(SSDAnchorGenerator):
    """SSD anchors sized per side of the input, the scheme of the public ROCK re-implementation.

    mmdet's :class:`SSDAnchorGenerator` (the default of the configs) makes the base anchor of a
    level a square of ``min_sizes[k]`` pixels, stretched by the aspect ratios. Here a level's
    scale ``s_k`` is a fraction of **each** side: the base anchor of level k is
    ``s_k * W`` wide and ``s_k * H`` high (a "square" in normalised coordinates, 4:3 on a
    480 x 640 input), the second one uses ``sqrt(s_k * s_(k+1))``, and a ratio r gives
    ``(s_k W / sqrt(r), s_k H sqrt(r))`` and its transpose. Anchors are clipped to the input size
    (the re-implementation clamps its priors to the image).

    Args:
        strides (list[tuple[float, float]]): Per level (w, h) stride = input size / feature size.
        ratios (list[list[float]]): Per level, the ratios r (each gives r and 1/r), as in SSD.
        scales (list[float]): ``num_levels + 1`` fractions s_0 < s_1 < ...; level k uses s_k and
            s_(k+1). Example for 7 levels: ``[0.07, 0.15, 0.30, 0.45, 0.60, 0.75, 0.90, 1.05]``
            (the re-implementation's 0.07 first level, then linear from 0.15 to 1.05).
        input_size (tuple[int, int]): (W, H) of the network input, e.g. (640, 480).
        scale_major (bool): As in :class:`SSDAnchorGenerator`. Defaults to False.
        use_box_type (bool): As in :class:`SSDAnchorGenerator`. Defaults to False.
    """

    def __init__(self,
                 strides: Sequence[Tuple[float, float]],
                 ratios: Sequence[Sequence[float]],
                 scales: Sequence[float],
                 input_size: Tuple[int, int],
                 scale_major: bool = False,
                 use_box_type: bool = False) -> None:
        if len(scales) != len(strides) + 1:
            raise ValueError(f'PerSideSSDAnchorGenerator needs num_levels + 1 = '
                             f'{len(strides) + 1} scales, got {len(scales)}')
        if any(b <= a for a, b in zip(scales, scales[1:])) or scales[0] <= 0:
            raise ValueError(f'scales must be positive and increasing, got {list(scales)}')
        self.input_w, self.input_h = input_size
        # The parent lays square anchors of min_sizes[k] = s_k * H pixels; gen_base_anchors
        # then widens them by W / H, which gives s_k * W for every shape of the level.
        super().__init__(
            strides=strides,
            ratios=ratios,
            min_sizes=[s * self.input_h for s in scales[:-1]],
            max_sizes=[s * self.input_h for s in scales[1:]],
            scale_major=scale_major,
            use_box_type=use_box_type)

    def gen_base_anchors(self) -> List[Tensor]:
        """Base anchors of each level, stretched to the input's aspect ratio and clipped to it.

        Returns:
            list[Tensor]: Per level, (A, 4) anchors (x1, y1, x2, y2) around the level's first
            cell centre.
        """
        stretched = []
        for anchors in super().gen_base_anchors():
            cx, cy = (anchors[:, 0] + anchors[:, 2]) / 2, (anchors[:, 1] + anchors[:, 3]) / 2
            w = ((anchors[:, 2] - anchors[:, 0]) * self.input_w /
                 self.input_h).clamp(max=self.input_w)
            h = (anchors[:, 3] - anchors[:, 1]).clamp(max=self.input_h)
            stretched.append(torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1))
        return stretched
