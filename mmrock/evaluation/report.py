"""The metric summary of tools/test.py: the headline numbers of both tasks in one table, and the
metrics as strict JSON.

Reads the dict ``Runner.test()`` returns with mmrock's evaluators: mmdet's ``CocoMetric``
(prefix ``coco/``: ``bbox_mAP``, ``bbox_mAP_50``, ``bbox_mAP_75``, ... in [0, 1]) and
``AuxiliaryTaskMetric`` (prefix ``aux/``, already in % / metres / degrees). What mmdet and
mmengine already give is not repeated: ``CocoMetric(classwise=True)`` logs the per-class AP
table, and mmengine's ``LoggerHook`` writes every test metric to ``<timestamp>/<timestamp>.json``.
What they lack: one table putting detection (in %, as in the paper) beside the auxiliary tasks,
and a JSON file at a fixed path that strict parsers read (mmengine writes NaN as a bare ``NaN``).
"""
import math
import os.path as osp
from typing import Dict, List, Optional, Tuple

import mmengine

COCO_PREFIX = 'coco/'
AUX_PREFIX = 'aux/'
# (key, label). COCO values are fractions, shown in percent as in the paper.
DETECTION_ROWS = (
    ('bbox_mAP_50', 'mAP@0.5 (%)'),
    ('bbox_mAP_75', 'mAP@0.75 (%)'),
    ('bbox_mAP', 'mAP@[0.5:0.95] (%)'),
)
AUXILIARY_ROWS = (
    ('scene_acc', 'scene top-1 accuracy (%)'),
    ('depth_abs_rel', 'depth AbsRel'),
    ('depth_rmse', 'depth RMSE (m)'),
    ('depth_delta1', 'depth delta<1.25 (%)'),
    # AuxiliaryTaskMetric(eigen_depth=True): per image, Eigen crop, gt <= 10 m
    ('depth_eigen_abs_rel', 'depth AbsRel (Eigen)'),
    ('depth_eigen_rmse', 'depth RMSE (m) (Eigen)'),
    ('depth_eigen_log10', 'depth log10 (Eigen)'),
    ('depth_eigen_delta1', 'depth delta<1.25 (%) (Eigen)'),
    ('depth_eigen_delta2', 'depth delta<1.25^2 (%) (Eigen)'),
    ('depth_eigen_delta3', 'depth delta<1.25^3 (%) (Eigen)'),
    ('normal_mean', 'normals mean angle (deg)'),
    ('normal_median', 'normals median angle (deg)'),
    ('normal_11.25', 'normals within 11.25 deg (%)'),
    ('normal_22.5', 'normals within 22.5 deg (%)'),
    ('normal_30', 'normals within 30 deg (%)'),
)
PRECISE_LABELS = (
    'depth AbsRel',
    'depth RMSE (m)',
    'depth AbsRel (Eigen)',  # one more decimal
    'depth RMSE (m) (Eigen)',
    'depth log10 (Eigen)')


def _finite(value) -> Optional[float]:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _coco_percent(value) -> Optional[float]:
    """A COCO fraction in percent; None when missing, NaN or pycocotools' -1 (no ground truth)."""
    value = _finite(value)
    return None if value is None or value < 0 else 100. * value


def metric_rows(metrics: Dict[str, float]) -> List[Tuple[str, List[Tuple]]]:
    """The summary of the metrics, in sections.

    Sections: detection (mAP@0.5, mAP@0.75, mAP@[0.5:0.95], in %; always, None when
    ``CocoMetric`` gave nothing, e.g. no detection above the score threshold), auxiliary tasks
    (only the metrics present), then the metrics of other evaluators as they are. A value that
    is NaN or COCO's -1 (no ground truth) is None.

    Args:
        metrics (dict[str, float]): The dict ``Runner.test()`` returns.

    Returns:
        list[tuple[str, list[tuple]]]: ``[(section title, [(label, value or None), ...]), ...]``.
    """
    det = [(label, _coco_percent(metrics.get(COCO_PREFIX + key))) for key, label in DETECTION_ROWS]
    sections = [('Detection (COCO bbox)', det)]
    aux = [(label, _finite(metrics[AUX_PREFIX + key])) for key, label in AUXILIARY_ROWS
           if AUX_PREFIX + key in metrics]
    if aux:
        sections.append(('Auxiliary tasks', aux))
    shown = {AUX_PREFIX + k for k, _ in AUXILIARY_ROWS}
    others = [(k, _finite(v)) for k, v in metrics.items()
              if k not in shown and not k.startswith(COCO_PREFIX)]
    if others:
        sections.append(('Other metrics', others))
    return sections


def format_metric_table(metrics: Dict[str, float],
                        title: str = 'Test metrics',
                        digits: int = 2) -> str:
    """One text table (sections separated by rules) of :func:`metric_rows`.

    Args:
        metrics (dict[str, float]): The dict ``Runner.test()`` returns.
        title (str): Title row of the table. Defaults to 'Test metrics'.
        digits (int): Decimals of the values (AbsRel and RMSE get one more). Defaults to 2.

    Returns:
        str: The table, 'n/a' for missing or NaN values.
    """
    sections = metric_rows(metrics)

    def text(label, value):
        places = digits + 1 if label in PRECISE_LABELS else digits
        return 'n/a' if value is None else f'{value:.{places}f}'

    rows = [(label, text(label, value)) for _, section in sections for label, value in section]
    width_l = max([len(title)] + [len(s) for s, _ in sections] + [len(r[0]) + 2 for r in rows])
    width_v = max([5] + [len(r[1]) for r in rows])
    rule = f'+-{"-" * width_l}-+-{"-" * width_v}-+'
    lines = [rule, f'| {title:<{width_l}} | {"value":>{width_v}} |', rule]
    for section_title, section in sections:
        lines.append(f'| {section_title:<{width_l}} | {"":>{width_v}} |')
        for label, value in section:
            lines.append(f'|   {label:<{width_l - 2}} | {text(label, value):>{width_v}} |')
        lines.append(rule)
    return '\n'.join(lines)


def dump_metrics_json(metrics: Dict[str, float], path: str) -> str:
    """Write the metrics as strict JSON (mmengine's dump), NaN and inf as null.

    Args:
        metrics (dict[str, float]): The runner's dict, values as the evaluators give them (COCO
            mAPs in [0, 1]).
        path (str): The JSON file to write (its directory is created).

    Returns:
        str: ``path``.
    """
    clean = {
        k: (_finite(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
        for k, v in metrics.items()
    }
    mmengine.mkdir_or_exist(osp.dirname(osp.abspath(path)))
    mmengine.dump(clean, path, file_format='json', indent=2, allow_nan=False)
    return path
