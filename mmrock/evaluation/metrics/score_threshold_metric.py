"""The detection score threshold at which a detector's boxes are best shown: the one that
maximises F1 on a (val) split.

mAP scores every box whatever its score; a figure, a demo or an application draws only the boxes
above a threshold, and a threshold picked by eye (or on the test split) is either empty or
cluttered. This metric picks it on the split it evaluates, by a stated rule:

- a detection is a true positive when its IoU with a not yet matched ground-truth box of the same
  class is at least ``iou_thr``, detections taken greedily by descending score in each image
  (crowd boxes are neither counted nor matched);
- for each cut-off k of all detections sorted by score, precision = TP_k / k and recall = TP_k /
  (ground-truth boxes); the best cut-off maximises F1 = 2PR / (P + R);
- the threshold returned is halfway between the last kept score and the next lower one, so that
  drawing the boxes that score *above* it (``score_thr`` of the visualisers) keeps exactly them.

mmdet's ``CocoMetric`` (same arguments: its ground truth from ``ann_file``) collects the boxes;
only the computation differs, hence the subclass. Given ``score_thr`` (one chosen on val), it
scores that threshold instead: the precision and recall of the boxes a figure draws, measured
on the split evaluated (the test split then gives held-out figures).
"""
from typing import Dict, List, Optional

import numpy as np
from mmdet.evaluation import CocoMetric
from mmdet.evaluation.functional import bbox_overlaps
from mmdet.registry import METRICS


def match_detections(pred_boxes: np.ndarray, pred_scores: np.ndarray, gt_boxes: np.ndarray,
                     iou_thr: float) -> np.ndarray:
    """Greedy matching of one image's detections of one class, by descending score.

    Args:
        pred_boxes (np.ndarray): Detections of shape (N, 4), (x1, y1, x2, y2).
        pred_scores (np.ndarray): Scores of shape (N, ).
        gt_boxes (np.ndarray): Ground-truth boxes of shape (M, 4).
        iou_thr (float): IoU of a true positive.

    Returns:
        np.ndarray: Bool of shape (N, ), in the order given: True for a true positive.
    """
    tp = np.zeros(len(pred_boxes), dtype=bool)
    if len(pred_boxes) == 0 or len(gt_boxes) == 0:
        return tp
    ious = bbox_overlaps(pred_boxes.astype(np.float32), gt_boxes.astype(np.float32))
    taken = np.zeros(len(gt_boxes), dtype=bool)
    for i in np.argsort(-pred_scores, kind='stable'):
        candidates = np.where(taken, -1., ious[i])
        j = int(candidates.argmax())
        if candidates[j] >= iou_thr:
            tp[i] = taken[j] = True
    return tp


def best_f1_threshold(scores: np.ndarray, true_positive: np.ndarray,
                      num_gt: int) -> Dict[str, float]:
    """The score cut-off with the best F1.

    Args:
        scores (np.ndarray): Scores of shape (N, ).
        true_positive (np.ndarray): Bool of shape (N, ), True for a true positive.
        num_gt (int): Number of ground-truth boxes.

    Returns:
        dict[str, float]: ``threshold``, ``precision``, ``recall``, ``f1`` and ``kept``
        (detections above the threshold). No detection or no ground truth: F1 0 and the
        threshold 1 (nothing kept).
    """
    order = np.argsort(-scores, kind='stable')
    scores, tp = scores[order], true_positive[order].astype(np.float64)
    if len(scores) == 0 or num_gt == 0 or not tp.any():
        return dict(threshold=1., precision=0., recall=0., f1=0., kept=0)
    tp_cum = np.cumsum(tp)
    precision = tp_cum / np.arange(1, len(tp) + 1)
    recall = tp_cum / num_gt
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    # a cut-off can only fall between two different scores: the last of each run of ties
    last_of_tie = np.append(scores[1:] < scores[:-1], True)
    k = int(np.flatnonzero(last_of_tie)[f1[last_of_tie].argmax()])
    lower = scores[k + 1] if k + 1 < len(scores) else 0.
    return dict(
        threshold=float((scores[k] + lower) / 2),
        precision=float(precision[k]),
        recall=float(recall[k]),
        f1=float(f1[k]),
        kept=k + 1)


def f1_at_threshold(scores: np.ndarray, true_positive: np.ndarray, num_gt: int,
                    threshold: float) -> Dict[str, float]:
    """Precision, recall, F1 and number of the detections scoring above a threshold.

    Args:
        scores (np.ndarray): Scores of shape (N, ).
        true_positive (np.ndarray): Bool of shape (N, ), True for a true positive.
        num_gt (int): Number of ground-truth boxes.
        threshold (float): The score threshold.

    Returns:
        dict[str, float]: ``threshold``, ``precision``, ``recall``, ``f1`` and ``kept``.
    """
    kept = scores > threshold
    tp = int(true_positive[kept].sum())
    precision = tp / max(int(kept.sum()), 1)
    recall = tp / max(num_gt, 1)
    return dict(
        threshold=float(threshold),
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / max(precision + recall, 1e-12),
        kept=int(kept.sum()))


@METRICS.register_module()
class ScoreThresholdMetric(CocoMetric):
    """The score threshold of best F1 at IoU ``iou_thr`` (module docstring), with its precision
    and recall: ``score_thr/threshold``, ``/precision``, ``/recall``, ``/f1``, ``/kept``; or,
    given ``score_thr``, the same figures at that threshold.

    Args:
        ann_file (str): COCO json of the split's ground truth (required).
        iou_thr (float): IoU of a true positive. Default 0.5.
        score_thr (float, optional): score this threshold instead of choosing one.
        **kwargs: the other arguments of ``CocoMetric``.
    """
    default_prefix = 'score_thr'

    def __init__(self,
                 ann_file: str,
                 iou_thr: float = 0.5,
                 score_thr: Optional[float] = None,
                 **kwargs) -> None:
        if not ann_file:
            raise ValueError('ScoreThresholdMetric needs ann_file (the split\'s COCO json)')
        if kwargs.setdefault('metric', 'bbox') != 'bbox':
            raise ValueError('ScoreThresholdMetric scores boxes: metric must be \'bbox\'')
        super().__init__(ann_file=ann_file, **kwargs)
        self.iou_thr = iou_thr
        self.score_thr = score_thr

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Match the detections to the ground truth and choose (or score) the threshold.

        Args:
            results (list[tuple]): ``(gt, pred)`` per image, as ``CocoMetric.process`` stores
                them.

        Returns:
            dict[str, float]: ``threshold``, ``precision``, ``recall``, ``f1`` and ``kept``.
        """
        coco = self._coco_api
        cat_ids = coco.get_cat_ids(cat_names=self.dataset_meta['classes'])
        scores, true_positive, num_gt = [], [], 0
        for _, pred in results:
            anns = [
                a for a in coco.load_anns(coco.get_ann_ids(img_ids=[pred['img_id']]))
                if not a.get('iscrowd', 0)
            ]
            num_gt += sum(a['category_id'] in cat_ids for a in anns)
            for label in np.unique(pred['labels']):
                keep = pred['labels'] == label
                gt = np.array([[x, y, x + w, y + h]
                               for x, y, w, h in (a['bbox'] for a in anns
                                                  if a['category_id'] == cat_ids[int(label)])
                               ]).reshape(-1, 4)
                scores.append(pred['scores'][keep])
                true_positive.append(
                    match_detections(pred['bboxes'][keep], pred['scores'][keep], gt, self.iou_thr))
        scores = np.concatenate(scores) if scores else np.zeros(0)
        true_positive = np.concatenate(true_positive) if true_positive else np.zeros(0, bool)
        if self.score_thr is not None:
            return f1_at_threshold(scores, true_positive, num_gt, self.score_thr)
        return best_f1_threshold(scores, true_positive, num_gt)
