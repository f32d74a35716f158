"""Scene, depth and surface-normal metrics of ROCK's auxiliary tasks."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

MIN_PRED_DEPTH = 1e-3  # metres; predictions are clamped to it (AbsRel, delta)
NORMAL_THRESHOLDS = (11.25, 22.5, 30.)  # degrees
# The standard NYUv2 depth protocol (Eigen et al., NIPS 2014): crop rows 45:471, cols 41:601 of
# the 480 x 640 frame, ground truth valid in (0, 10] m, predictions clipped to [1e-3, 10] m.
EIGEN_FRAME = (480, 640)
EIGEN_CROP = (45, 471, 41, 601)  # row start, row end, col start, col end (ends excluded)
EIGEN_MAX_DEPTH = 10.  # metres


def _gt_and_pred(sample: dict, task: str) -> Optional[tuple]:
    """(gt, pred) maps (C, H, W) of ``task``, pred resized to gt's size
    bilinearly; None when either is absent."""
    gt, pred = sample.get(f'gt_{task}'), sample.get(f'pred_{task}')
    if gt is None or pred is None:
        return None
    gt = gt['data'].double()
    pred = pred['data'].to(gt)
    if pred.shape[-2:] != gt.shape[-2:]:
        pred = F.interpolate(pred[None], gt.shape[-2:], mode='bilinear', align_corners=False)[0]
    return gt, pred


def eigen_crop(height: int, width: int) -> Tuple[int, int, int, int]:
    """The Eigen crop of a map: the 480 x 640 bounds scaled by height / 480 (rows) and
    width / 640 (cols), each rounded half up.

    Args:
        height (int): Height of the map.
        width (int): Width of the map.

    Returns:
        tuple[int, int, int, int]: (row start, row end, col start, col end), ends excluded;
        (45, 471, 41, 601) at 480 x 640, (23, 236, 21, 301) at 240 x 320.
    """
    scales = (height / EIGEN_FRAME[0], ) * 2 + (width / EIGEN_FRAME[1], ) * 2
    return tuple(int(math.floor(b * s + 0.5)) for b, s in zip(EIGEN_CROP, scales))


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """Non-interpolated average precision of a ranking: sum over score thresholds, high to low,
    of (recall gain) x precision, tied scores forming one threshold (scikit-learn's
    ``average_precision_score``).

    Args:
        scores (np.ndarray): Scores of shape (N, ).
        positives (np.ndarray): Bool of shape (N, ), True for a positive.

    Returns:
        float: The average precision, NaN when there is no positive.
    """
    num_pos = int(positives.sum())
    if num_pos == 0:
        return float('nan')
    order = np.argsort(-scores, kind='stable')
    scores, positives = scores[order], positives[order].astype(np.float64)
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_pos = np.cumsum(positives)[last_of_tie]
    precision = true_pos / (last_of_tie + 1)
    recall_gain = np.diff(np.r_[0., true_pos]) / num_pos
    return float(np.sum(recall_gain * precision))


def _seg_confusion(sample: dict) -> Optional[Tuple[int, np.ndarray, np.ndarray]]:
    """(C, flat indices, counts) of the sparse C x C confusion (ground truth x prediction) of a
    sample's cells: ``gt_seg_grid`` (h, w) against the argmax of ``pred_seg_scores`` (C, h, w),
    cells whose label is not a class (the ignore index) left out; None when either is absent."""
    gt, scores = sample.get('gt_seg_grid'), sample.get('pred_seg_scores')
    if gt is None or scores is None:
        return None
    num = scores.shape[0]
    gt = gt.cpu().numpy().astype(np.int64).ravel()
    pred = scores.argmax(0).cpu().numpy().astype(np.int64).ravel()
    valid = (gt >= 0) & (gt < num)
    pairs = np.bincount(gt[valid] * num + pred[valid], minlength=num * num)
    cells = np.flatnonzero(pairs)
    return num, cells, pairs[cells]


def mean_iou(confusion: np.ndarray) -> float:
    """Mean over classes of IoU = TP / (TP + FP + FN), the classes absent from both ground truth
    and prediction left out (mmseg's mIoU).

    Args:
        confusion (np.ndarray): Counts of shape (C, C) (rows: ground truth, columns:
            prediction).

    Returns:
        float: The mean IoU in [0, 1]; NaN when every class is absent.
    """
    tp = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - tp
    return float(np.mean(tp[union > 0] / union[union > 0])) if (union > 0).any() else float('nan')


def _present_classes(sample: dict, num_classes: int) -> np.ndarray:
    """(K,) bool: the classes of the sample's boxes (crowd boxes included)."""
    present = np.zeros(num_classes, dtype=bool)
    for field in ('gt_instances', 'ignored_instances'):
        labels = (sample.get(field) or {}).get('labels')
        if labels is not None and len(labels):
            present[np.asarray(labels.cpu() if hasattr(labels, 'cpu') else labels,
                               dtype=np.int64)] = True
    return present


@METRICS.register_module()
class AuxiliaryTaskMetric(BaseMetric):
    """Scene top-1 accuracy; depth AbsRel, RMSE, delta<1.25; normal angles.

    Also the class presence of :class:`~mmrock.models.heads.PresenceHead`
    (``pred_presence_scores`` (K,) against the classes of ``gt_instances``): ``presence_mAP``,
    the mean over classes present in some image of the average precision of ranking the images
    by the class's score (:func:`average_precision`), in percent. And the semantic classes of
    :class:`~mmrock.models.heads.SegmentationHead` at its prediction grid (``pred_seg_scores``
    (K + 1, h, w) against ``gt_seg_grid`` (h, w), the labels it brought to the same cells):
    ``seg_mIoU``, the mean over the K + 1 classes (background included; a class neither in the
    labels nor predicted left out) of IoU = TP / (TP + FP + FN), the counts pooled over the cells
    of all images, ignored cells left out (:func:`mean_iou`), in percent.

    Reads ``gt_scene_label`` / ``pred_scene_scores`` (27), ``gt_depth`` /
    ``pred_depth`` (PixelData (1, H, W)), ``gt_normals`` / ``pred_normals``
    (PixelData (3, H, W)). A task is skipped for a sample lacking its label or
    its prediction, and is reported only if some sample has both. Dense
    metrics are taken at the label's resolution (a prediction of another size
    is resized bilinearly) over valid pixels (depth > 0, non-zero normal), and
    pooled over all valid pixels of the set (not averaged per image):
    AbsRel = mean |p - g| / g, RMSE = sqrt(mean (p - g)^2), delta1 = % of
    max(p / g, g / p) < 1.25, with p clamped to >= 1 mm; normal errors are
    angles in degrees (mean, median, % below 11.25 / 22.5 / 30). Keys (with
    the ``aux/`` prefix): ``scene_acc``, ``depth_abs_rel``, ``depth_rmse``,
    ``depth_delta1``, ``normal_mean``, ``normal_median``, ``normal_11.25``,
    ``normal_22.5``, ``normal_30``.

    With ``eigen_depth=True`` the depth is also scored as the NYUv2 depth
    literature does (Eigen et al. 2014), under keys of their own:
    ``depth_eigen_abs_rel``, ``depth_eigen_rmse``, ``depth_eigen_log10``
    (mean |log10 p - log10 g|) and ``depth_eigen_delta{1,2,3}`` (% of
    max(p / g, g / p) < 1.25, 1.25^2, 1.25^3). Each image is scored on its
    own, then the images are averaged (an image without valid pixel is
    left out); pixels: the Eigen crop (:func:`eigen_crop`: rows 45:471,
    cols 41:601 at 480 x 640, scaled for other label sizes) where
    0 < g <= 10 m; predictions clipped to [1e-3, 10] m.

    Per sample only sums are kept, plus a sparse histogram of angles in
    ``angle_bin``-degree bins from which the median is read (linear inside
    its bin, so exact to ``angle_bin``): results stay small in distributed
    evaluation.

    Args:
        angle_bin (float): Bin width in degrees of the angle histogram.
            Defaults to 0.01.
        eigen_depth (bool): Also report the depth metrics of the standard
            NYUv2 protocol (``depth_eigen_*``). Defaults to False.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'aux'.
    """

    default_prefix: Optional[str] = 'aux'

    def __init__(self,
                 angle_bin: float = 0.01,
                 eigen_depth: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.angle_bin = angle_bin
        self.eigen_depth = eigen_depth

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

    @staticmethod
    def _depth_eigen(gt: torch.Tensor, pred: torch.Tensor) -> Optional[dict]:
        """One image's depth metrics under the Eigen protocol (gt, pred
        (1, H, W), metres); None when no pixel is valid."""
        r0, r1, c0, c1 = eigen_crop(*gt.shape[-2:])
        g, p = gt[..., r0:r1, c0:c1], pred[..., r0:r1, c0:c1]
        valid = (g > 0) & (g <= EIGEN_MAX_DEPTH)
        if not valid.any():
            return None
        g, p = g[valid], p[valid].clamp(MIN_PRED_DEPTH, EIGEN_MAX_DEPTH)
        ratio = torch.maximum(p / g, g / p)
        return dict(
            abs_rel=float(((p - g).abs() / g).mean()),
            rmse=float(((p - g)**2).mean().sqrt()),
            log10=float((p.log10() - g.log10()).abs().mean()),
            **{f'delta{k}': float((ratio < 1.25**k).double().mean())
               for k in (1, 2, 3)})

    def _normal_sums(self, gt: torch.Tensor, pred: torch.Tensor) -> Optional[dict]:
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
        """Store per-sample sums of each task the sample has.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): The model's outputs, as dicts (as mmengine's
                Evaluator passes them).
        """
        for sample in data_samples:
            result = dict()
            if 'gt_scene_label' in sample and 'pred_scene_scores' in sample:
                result['scene_correct'] = int(sample['pred_scene_scores'].argmax()) == int(
                    sample['gt_scene_label'])
            if 'pred_presence_scores' in sample and 'gt_instances' in sample:
                scores = sample['pred_presence_scores'].float().cpu().numpy()
                result['presence'] = (scores, _present_classes(sample, len(scores)))
            seg = _seg_confusion(sample)
            if seg is not None:
                result['seg'] = seg
            depth = _gt_and_pred(sample, 'depth')
            if depth is not None:
                result['depth'] = self._depth_sums(*depth)
                if self.eigen_depth:
                    result['depth_eigen'] = self._depth_eigen(*depth)
            normals = _gt_and_pred(sample, 'normals')
            if normals is not None:
                result['normals'] = self._normal_sums(*normals)
            self.results.append({k: v for k, v in result.items() if v is not None})

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
        """Pool the per-sample sums of the whole set.

        Args:
            results (list): The per-sample sums of :meth:`process`, from all ranks.

        Returns:
            dict[str, float]: The metrics of the tasks present (ratios in percent, depth errors
            in metres, angles in degrees), without the prefix.
        """
        metrics, counts = dict(), dict()
        scene = [r['scene_correct'] for r in results if 'scene_correct' in r]
        if scene:
            counts['scene'] = len(scene)
            metrics['scene_acc'] = 100. * float(np.mean(scene))
        presence = [r['presence'] for r in results if 'presence' in r]
        if presence:
            counts['presence'] = len(presence)
            scores = np.stack([p[0] for p in presence])
            present = np.stack([p[1] for p in presence])
            aps = [
                average_precision(scores[:, k], present[:, k]) for k in range(scores.shape[1])
                if present[:, k].any()
            ]
            if aps:
                metrics['presence_mAP'] = 100. * float(np.mean(aps))
        seg = [r['seg'] for r in results if 'seg' in r]
        if seg:
            counts['seg'] = len(seg)
            num = seg[0][0]
            confusion = np.zeros(num * num, np.int64)
            for _, cells, pairs in seg:
                np.add.at(confusion, cells, pairs)
            metrics['seg_mIoU'] = 100. * mean_iou(confusion.reshape(num, num))
        depth = [r['depth'] for r in results if 'depth' in r]
        if depth:
            counts['depth'] = len(depth)
            num = sum(d['num'] for d in depth)
            metrics['depth_abs_rel'] = sum(d['abs_rel'] for d in depth) / num
            metrics['depth_rmse'] = float(np.sqrt(sum(d['sq_err'] for d in depth) / num))
            metrics['depth_delta1'] = 100. * sum(d['delta1'] for d in depth) / num
        protocol = 'depth_*: pooled over all pixels with gt > 0'
        eigen = [r['depth_eigen'] for r in results if 'depth_eigen' in r]
        if eigen:
            counts['depth_eigen'] = len(eigen)
            for key in eigen[0]:
                scale = 100. if key.startswith('delta') else 1.
                metrics[f'depth_eigen_{key}'] = scale * float(np.mean([e[key] for e in eigen]))
        if self.eigen_depth:
            protocol += ('; depth_eigen_*: per image, then averaged over '
                         'images, Eigen crop, gt in (0, 10] m, predictions '
                         'clipped to [0.001, 10] m')
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
            f'Auxiliary metrics over samples per task {counts} ({protocol}): '
            f'{metrics}')
        return metrics
