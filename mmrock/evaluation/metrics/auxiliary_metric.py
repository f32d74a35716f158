"""Scene, depth and surface-normal metrics of ROCK's auxiliary tasks."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdet.registry import METRICS

MIN_PRED_DEPTH = 1e-3  # metres; predictions are clamped to it (AbsRel, delta)
NORMAL_THRESHOLDS = (11.25, 22.5, 30.)  # degrees


def _gt_and_pred(sample: dict, task: str) -> Optional[tuple]:
    """(gt, pred) maps (C, H, W) of ``task``, pred resized to gt's size
    bilinearly; None when either is absent."""
    gt, pred = sample.get(f'gt_{task}'), sample.get(f'pred_{task}')
    if gt is None or pred is None:
        return None
    gt = gt['data'].double()
    pred = pred['data'].to(gt)
    if pred.shape[-2:] != gt.shape[-2:]:
        pred = F.interpolate(
            pred[None], gt.shape[-2:], mode='bilinear',
            align_corners=False)[0]
    return gt, pred


@METRICS.register_module()
class AuxiliaryTaskMetric(BaseMetric):
    """Scene top-1 accuracy; depth AbsRel, RMSE, delta<1.25; normal angles.

    Reads ``gt_scene_label`` / ``pred_scene_scores`` (27), ``gt_depth`` /
    ``pred_depth`` (PixelData (1, H, W)), ``gt_normals`` / ``pred_normals``
    (PixelData (3, H, W)). A task is skipped for a sample lacking its label or
    its prediction, and is reported only if some sample has both. Dense
    metrics are taken at the label's resolution (a prediction of another size
    is resized bilinearly) over valid pixels (depth > 0, non-zero normal), and
    pooled over all valid pixels of the set (not averaged per image):
    AbsRel = mean |p - g| / g, RMSE = sqrt(mean (p - g)^2), delta1 = % of
    max(p / g, g / p) < 1.25, with p clamped to >= 1 mm; normal errors are
    angles in degrees (mean, median, % below 11.25 / 22.5 / 30).

    Per sample only sums are kept, plus a sparse histogram of angles in
    ``angle_bin``-degree bins from which the median is read (linear inside
    its bin, so exact to ``angle_bin``): results stay small in distributed
    evaluation.

    Args:
        angle_bin (float): Bin width in degrees of the angle histogram.
            Defaults to 0.01.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'aux'.
    """

    default_prefix: Optional[str] = 'aux'

    def __init__(self,
                 angle_bin: float = 0.01,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.angle_bin = angle_bin

    @staticmethod
    def _depth_sums(gt: torch.Tensor, pred: torch.Tensor) -> Optional[dict]:
        """Valid-pixel count and sums of abs-rel, squared error, delta1 hits."""
        valid = gt > 0
        if not valid.any():
            return None
        g, p = gt[valid], pred[valid].clamp(min=MIN_PRED_DEPTH)
        return dict(
            num=int(valid.sum()),
            abs_rel=float(((p - g).abs() / g).sum()),
            sq_err=float(((p - g)**2).sum()),
            delta1=int((torch.maximum(p / g, g / p) < 1.25).sum()))

    def _normal_sums(self, gt: torch.Tensor,
                     pred: torch.Tensor) -> Optional[dict]:
        """Valid-pixel count, angle sum, threshold hits and angle histogram."""
        valid = (gt != 0).any(0)
        if not valid.any():
            return None
        g, p = gt[:, valid], pred[:, valid]
        norms = ((g * g).sum(0) * (p * p).sum(0)).sqrt()
        cos = (g * p).sum(0) / norms.clamp(min=1e-12)  # zero pred -> 90 deg
        angle = torch.rad2deg(torch.arccos(cos.clamp(-1, 1)))
        hist = torch.bincount((angle / self.angle_bin).long())
        bins = hist.nonzero()[:, 0]
        return dict(
            num=int(valid.sum()),
            angle=float(angle.sum()),
            within=[int((angle < t).sum()) for t in NORMAL_THRESHOLDS],
            hist_bins=bins.int().cpu().numpy(),
            hist_counts=hist[bins].int().cpu().numpy())

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store per-sample sums of each task the sample has (dicts, as
        mmengine's Evaluator passes them)."""
        for sample in data_samples:
            result = dict()
            if 'gt_scene_label' in sample and 'pred_scene_scores' in sample:
                result['scene_correct'] = int(
                    sample['pred_scene_scores'].argmax()) == int(
                        sample['gt_scene_label'])
            depth = _gt_and_pred(sample, 'depth')
            if depth is not None:
                result['depth'] = self._depth_sums(*depth)
            normals = _gt_and_pred(sample, 'normals')
            if normals is not None:
                result['normals'] = self._normal_sums(*normals)
            self.results.append(
                {k: v
                 for k, v in result.items() if v is not None})

    def _median_angle(self, sums: List[dict]) -> float:
        """Median angle from the summed sparse histograms."""
        hist = np.bincount(
            np.concatenate([s['hist_bins'] for s in sums]),
            weights=np.concatenate([s['hist_counts'] for s in sums]))
        cum = np.cumsum(hist)
        half = cum[-1] / 2
        k = int(np.searchsorted(cum, half))
        below = cum[k] - hist[k]
        return (k + (half - below) / hist[k]) * self.angle_bin

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Pool the per-sample sums; ratios are in percent."""
        metrics, counts = dict(), dict()
        scene = [r['scene_correct'] for r in results if 'scene_correct' in r]
        if scene:
            counts['scene'] = len(scene)
            metrics['scene_acc'] = 100. * float(np.mean(scene))
        depth = [r['depth'] for r in results if 'depth' in r]
        if depth:
            counts['depth'] = len(depth)
            num = sum(d['num'] for d in depth)
            metrics['depth_abs_rel'] = sum(d['abs_rel'] for d in depth) / num
            metrics['depth_rmse'] = float(
                np.sqrt(sum(d['sq_err'] for d in depth) / num))
            metrics['depth_delta1'] = 100. * sum(d['delta1']
                                                 for d in depth) / num
        normals = [r['normals'] for r in results if 'normals' in r]
        if normals:
            counts['normals'] = len(normals)
            num = sum(n['num'] for n in normals)
            metrics['normal_mean'] = sum(n['angle'] for n in normals) / num
            metrics['normal_median'] = self._median_angle(normals)
            within = np.sum([n['within'] for n in normals], axis=0)
            for t, hits in zip(NORMAL_THRESHOLDS, within):
                metrics[f'normal_{t:g}'] = 100. * float(hits) / num
        MMLogger.get_current_instance().info(
            f'Auxiliary metrics over samples per task {counts}: {metrics}')
        return metrics
