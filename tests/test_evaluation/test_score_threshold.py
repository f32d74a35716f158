"""ScoreThresholdMetric: the score threshold of best F1 on a split, against a hand-computed
example (greedy matching by score, duplicates and wrong classes false, crowd boxes ignored,
ties never split)."""
import json

import numpy as np
import pytest
import torch

from mmrock.evaluation import ScoreThresholdMetric
from mmrock.evaluation.metrics.score_threshold_metric import best_f1_threshold
from mmrock_data.nyuv2_meta import DETECTION_CLASSES

CHAIR, TABLE = DETECTION_CLASSES.index('chair'), DETECTION_CLASSES.index('table')


def evaluate(tmp_path, anns, dets, **kwargs):
    """``dets``: {img_id: [(label, x1, y1, x2, y2, score), ...]}."""
    ann_file = tmp_path / 'val.json'
    ann_file.write_text(
        json.dumps(
            dict(
                images=[dict(id=i, file_name=f'{i}.png', height=60, width=80) for i in (1, 2)],
                annotations=[{
                    **dict(id=k + 1, area=1., iscrowd=0),
                    **a
                } for k, a in enumerate(anns)],
                categories=[dict(id=i + 1, name=n) for i, n in enumerate(DETECTION_CLASSES)])))
    metric = ScoreThresholdMetric(ann_file=str(ann_file), **kwargs)
    metric.dataset_meta = dict(classes=DETECTION_CLASSES)
    for img_id, mine in dets.items():
        rows = np.array(mine, np.float32).reshape(-1, 6)
        pred = dict(
            bboxes=torch.from_numpy(rows[:, 1:5]),
            scores=torch.from_numpy(rows[:, 5]),
            labels=torch.from_numpy(rows[:, 0]).long())
        metric.process({}, [dict(img_id=img_id, ori_shape=(60, 80), pred_instances=pred)])
    return metric.evaluate(size=len(dets))


def gt(img_id, label, x1, y1, x2, y2, **extra):
    return dict(image_id=img_id, category_id=label + 1, bbox=[x1, y1, x2 - x1, y2 - y1], **extra)


def test_hand_computed_example(tmp_path):
    anns = [
        gt(1, CHAIR, 0, 0, 10, 10),
        gt(1, TABLE, 20, 20, 40, 40),
        gt(2, CHAIR, 0, 0, 20, 20),
        gt(2, TABLE, 50, 30, 70, 50, iscrowd=1)
    ]  # crowd: neither counted nor matched
    dets = {
        1: [
            (CHAIR, 0, 0, 10, 10, .9),  # TP
            (CHAIR, 0, 0, 10, 10, .8),  # FP: its chair is taken by the .9
            (TABLE, 20, 20, 40, 40, .7),  # TP
            (TABLE, 50, 50, 55, 55, .2)
        ],  # FP
        2: [
            (CHAIR, 30, 30, 40, 40, .6),  # FP: no overlap
            (CHAIR, 0, 0, 20, 21, .4),  # TP: IoU 400 / 420
            (TABLE, 0, 0, 20, 20, .3)
        ]
    }  # FP: right place, wrong class
    # by score: TP FP TP FP TP FP FP; 3 ground-truth boxes
    # k:      1    2    3    4    5    6    7
    # P:      1   1/2  2/3  1/2  3/5  1/2  3/7
    # R:     1/3  1/3  2/3  2/3   1    1    1
    # F1:    1/2  2/5  2/3  4/7  3/4  2/3  3/5   -> best k = 5, kept scores >= .4
    results = evaluate(tmp_path, anns, dets)
    assert results == pytest.approx({
        'score_thr/threshold': (.4 + .3) / 2,
        'score_thr/precision': 3 / 5,
        'score_thr/recall': 1.,
        'score_thr/f1': 3 / 4,
        'score_thr/kept': 5
    })

    # at IoU 0.96 the .4 chair (IoU 0.952) is false: P 2/3, R 2/3 at k = 3 is then the best
    strict = evaluate(tmp_path, anns, dets, iou_thr=0.96)
    assert strict['score_thr/kept'] == 3 and strict['score_thr/f1'] == pytest.approx(2 / 3)
    assert strict['score_thr/threshold'] == pytest.approx((.7 + .6) / 2)

    # a threshold chosen elsewhere (on val), scored here: above .65, 2 of 3 kept boxes are true
    given = evaluate(tmp_path, anns, dets, score_thr=.65)
    assert given == pytest.approx({
        'score_thr/threshold': .65,
        'score_thr/precision': 2 / 3,
        'score_thr/recall': 2 / 3,
        'score_thr/f1': 2 / 3,
        'score_thr/kept': 3
    })


def test_ties_are_kept_or_dropped_together():
    # two boxes scoring .5, one true: the cut-off cannot fall between them
    result = best_f1_threshold(np.array([.5, .5]), np.array([False, True]), num_gt=1)
    assert result['kept'] == 2 and result['threshold'] == pytest.approx(.25)
    assert result['f1'] == pytest.approx(2 / 3)


def test_nothing_to_find_keeps_nothing():
    for scores, tp, num_gt in ((np.zeros(0), np.zeros(0, bool), 3),
                               (np.array([.9]), np.array([False]), 2), (np.array([.9]),
                                                                        np.array([False]), 0)):
        assert best_f1_threshold(scores, tp, num_gt) == dict(
            threshold=1., precision=0., recall=0., f1=0., kept=0)


def test_it_scores_boxes_of_a_split_only():
    with pytest.raises(ValueError, match='ann_file'):
        ScoreThresholdMetric(ann_file=None)
    with pytest.raises(ValueError, match="'bbox'"):
        ScoreThresholdMetric(ann_file='val.json', metric='segm')
