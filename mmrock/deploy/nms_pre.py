"""The ``nms_pre`` check that keeps mmdeploy 1.3.1 from dropping a class.

mmdeploy 1.3.1's rewrite of ``BaseDenseHead.predict_by_feat`` ranks a softmax head's anchors
for ``nms_pre`` on scores whose background column is already removed, and removes the last
column once more (open-mmlab/mmdeploy#2787, #2534): the last foreground class never ranks an
anchor in. With ``nms_pre`` at least the largest level's anchor count every anchor is kept and
the ranking decides nothing.
"""
from typing import Optional, Sequence

from torch import Tensor


def nms_pre_problem(head, feats: Sequence[Tensor]) -> Optional[str]:
    """Whether a dense head would lose its last class in mmdeploy 1.3.1.

    Args:
        head (BaseDenseHead): The dense head (its ``test_cfg.nms_pre``).
        feats (Sequence[Tensor]): Its input features, (B, C_l, H_l, W_l) per level.

    Returns:
        str | None: One line saying why, or None where it cannot: a sigmoid head, no
        ``nms_pre``, or ``nms_pre`` >= the largest level's anchors (H_l * W_l * A_l).
    """
    if getattr(head, 'use_sigmoid_cls', True) or not hasattr(head, 'prior_generator'):
        return None
    nms_pre = (head.test_cfg or {}).get('nms_pre', -1)
    priors = head.prior_generator.num_base_priors
    largest = max(f.shape[-2] * f.shape[-1] * a for f, a in zip(feats, priors))
    if 0 < nms_pre < largest:
        return (f'test_cfg.nms_pre={nms_pre} is below the largest feature level\'s {largest} '
                f'anchors: mmdeploy 1.3.1 would drop every detection of class '
                f'{head.num_classes - 1} (open-mmlab/mmdeploy#2787); use mmrock\'s deploy '
                f'configs (they set nms_pre) or give model.test_cfg.nms_pre >= {largest}')
    return None
