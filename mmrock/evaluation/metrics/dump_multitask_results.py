"""``tools/test.py --out``: compact per-image predictions of multi-task detectors."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmdet.registry import METRICS
from mmengine.evaluator import DumpResults

KEPT_META = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')
DENSE_FIELDS = ('pred_depth', 'pred_normals')


def _own_copy(tensor: torch.Tensor, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """A CPU tensor with storage of its own (pickling a view would write its whole base
    tensor, e.g. the batch the prediction was cut from)."""
    return tensor.detach().to('cpu', dtype).clone()


def compact_prediction(sample: dict, with_aux: bool = True) -> dict:
    """One image's prediction (an evaluator's dict of a ``DetDataSample``) reduced to what
    offline evaluation and analysis read.

    Args:
        sample (dict): ``pred_instances`` (``bboxes`` (N, 4), ``scores`` (N,), ``labels``
            (N,)), optionally ``pred_scene_scores`` (S,), ``pred_depth`` (1, H, W) and
            ``pred_normals`` (3, H, W) (``{'data': tensor}``) at the network input size
            ``img_shape`` with ``aux_grid_shape`` (h, w), the cells of the prediction grid
            covering the image (both written by the dense heads), plus labels and metainfo.
        with_aux (bool): Keep the auxiliary outputs: the dense maps area-averaged back to
            the prediction grid (30 x 40 for 480 x 640 with ROCK on a stride-16 C5), stored
            as float16, normals re-normalised. Defaults to True.

    Returns:
        dict: ``KEPT_META`` keys, ``pred_instances`` (float32 boxes and scores, int64 labels)
        and, with ``with_aux``, ``pred_scene_scores`` (S,) float32 and ``pred_depth`` /
        ``pred_normals`` as ``{'data': (C, h, w) float16}``. No labels.
    """
    out = {key: sample[key] for key in KEPT_META if key in sample}
    instances = sample['pred_instances']
    out['pred_instances'] = dict(
        bboxes=_own_copy(instances['bboxes'], torch.float32),
        scores=_own_copy(instances['scores'], torch.float32),
        labels=_own_copy(instances['labels'], torch.int64))
    if not with_aux:
        return out
    if 'pred_scene_scores' in sample:
        out['pred_scene_scores'] = _own_copy(sample['pred_scene_scores'], torch.float32)
    for field in DENSE_FIELDS:
        if field not in sample:
            continue
        maps = sample[field]['data'].detach().float()
        maps = F.interpolate(maps[None], size=tuple(sample['aux_grid_shape']), mode='area')[0]
        if field == 'pred_normals':
            maps = F.normalize(maps, dim=0, eps=1e-6)
        out[field] = dict(data=_own_copy(maps, torch.float16))
    return out


@METRICS.register_module()
class DumpMultiTaskResults(DumpResults):
    """mmdet's ``DumpDetResults`` for multi-task predictions, compact: each image is stored as
    :func:`compact_prediction` gives it, instead of its full-resolution maps and labels.

    Args:
        out_file_path (str): The ``.pkl`` / ``.pickle`` file to write.
        with_aux (bool): Store the auxiliary outputs (see :func:`compact_prediction`), not
            only the detections. Defaults to True.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
    """

    def __init__(self,
                 out_file_path: str,
                 with_aux: bool = True,
                 collect_device: str = 'cpu') -> None:
        super().__init__(out_file_path=out_file_path, collect_device=collect_device)
        self.with_aux = with_aux

    def process(self, data_batch, predictions: Sequence[dict]) -> None:
        """Store each prediction as :func:`compact_prediction` gives it.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            predictions (Sequence[dict]): The model's outputs, as dicts.
        """
        self.results.extend(compact_prediction(p, self.with_aux) for p in predictions)
