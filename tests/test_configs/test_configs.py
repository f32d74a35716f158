"""Every config in configs/rock/ loads and builds its model, datasets' types and evaluators."""
from pathlib import Path

import pytest
from mmdet.registry import DATASETS, METRICS, MODELS, TRANSFORMS
from mmengine.config import Config

import mmrock  # noqa: F401

CONFIG_DIR = Path(__file__).parents[2] / 'configs' / 'rock'
CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('*.py'))


def test_there_are_configs():
    assert {
        'ssd_r50_rock_nyuv2.py', 'ssd_r50_nyuv2.py', 'ssd_r50_flatmtl_nyuv2.py',
        'retinanet_r50_fpn_rock_nyuv2.py', 'faster-rcnn_r50_fpn_rock_nyuv2.py'
    } <= set(CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds(name):
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    cfg.model.backbone.init_cfg = None
    MODELS.build(cfg.model)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg[split] is None:  # validation off
            continue
        dataset = cfg[split].dataset
        while 'dataset' in dataset:  # wrappers (ConcatDataset, RepeatDataset)
            dataset = dataset.dataset
        datasets = dataset.get('datasets', [dataset])
        for d in datasets:
            assert DATASETS.get(d.type) is not None
            for t in d.pipeline:
                assert TRANSFORMS.get(t['type']) is not None, t['type']
    for evaluator in filter(None, (cfg.val_evaluator, cfg.test_evaluator)):
        for metric in evaluator if isinstance(evaluator, list) else [evaluator]:
            assert METRICS.get(metric['type']) is not None
