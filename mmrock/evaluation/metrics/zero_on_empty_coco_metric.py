"""mmdet's ``CocoMetric`` that scores a model without any detection as 0 mAP.

With no box above the score threshold on the whole dataset (an untrained or weak model, early
validation), mmdet 3.3.0's ``CocoMetric`` logs an error and returns no ``bbox_*`` metric at all:
a checkpoint hook with ``save_best='coco/bbox_mAP'`` then stops training with a ``KeyError``,
and the test report has no detection row. Such a model's AP is 0 by definition; this metric says
so and logs why.
"""
import math
from typing import Dict

from mmdet.evaluation import CocoMetric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger

DEFAULT_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
# COCO's area ranges of mAP_s / mAP_m / mAP_l, in pixels²
AREA_RANGES = dict(mAP_s=(0, 32**2), mAP_m=(32**2, 96**2), mAP_l=(96**2, math.inf))


@METRICS.register_module()
class ZeroOnEmptyCocoMetric(CocoMetric):
    """``CocoMetric`` (same arguments) whose ``bbox`` / ``segm`` results, when the model made no
    detection on the whole dataset, are 0 instead of missing.

    As with real detections, an entry without ground truth to score stays undefined: a class
    (``classwise=True``) or an area range (``mAP_s`` / ``_m`` / ``_l``) without ground-truth
    boxes gets NaN / -1 as COCO gives them, not 0.
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """``CocoMetric``'s results, with zeros when no image has a detection.

        Args:
            results (list): ``(gt, pred)`` per image, as ``CocoMetric.process`` stores them.

        Returns:
            dict[str, float]: The COCO metrics (``bbox_mAP``, ``bbox_mAP_50``, ...).
        """
        eval_results = super().compute_metrics(results)
        if self.format_only or any(len(pred['labels']) for _, pred in results):
            return eval_results
        for metric in self.metrics:
            if metric in ('bbox', 'segm') and f'{metric}_mAP' not in eval_results:
                eval_results.update(self._zero_results(metric))
                MMLogger.get_current_instance().warning(
                    f'No detection on the whole dataset (no {metric} scored above the '
                    f'threshold): {metric} mAPs are 0')
        return eval_results

    def _zero_results(self, metric: str) -> Dict[str, float]:
        """The results mmdet gives a model that detects nothing, had it scored them."""
        anns = self._coco_api.load_anns(self._coco_api.get_ann_ids(img_ids=self.img_ids))
        anns = [ann for ann in anns if not ann.get('iscrowd', 0)]
        zeros = {}
        if self.classwise:
            scored = {ann['category_id'] for ann in anns}
            for cat_id in self.cat_ids:
                name = self._coco_api.load_cats(cat_id)[0]['name']
                zeros[f'{name}_precision'] = 0. if cat_id in scored else float('nan')
        for item in self.metric_items or DEFAULT_ITEMS:
            low, high = AREA_RANGES.get(item, (0, math.inf))
            has_gt = any(low <= ann['area'] < high for ann in anns)
            zeros[f'{metric}_{item}'] = 0. if has_gt else -1.
        return zeros
