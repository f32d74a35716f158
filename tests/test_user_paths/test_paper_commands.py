"""The paper's commands as a user runs them: ``python tools/train.py configs/rock/<config>`` at
480x640 on NYUv2-format data (synthetic rooms written in the official format and converted by the
project's converter with a val split, the paper's protocol), with ImageNet weights from a local
file in torchvision's format, validating on the val split, then ``tools/test.py`` on the test
split; and a model without detections that validates to 0 mAP while training goes on."""
import json
import math

import pytest

from conftest import (UserCheckout, check_ok, convert_synthetic, run_python, table_rows,
                      write_tiny_config)
from weights_factory import write_torchvision_resnet50

PAPER_CONFIGS = ('ssd_r50_rock_nyuv2', 'ssd_r50_nyuv2')


@pytest.fixture(scope='module')
def paper_checkout(tmp_path_factory):
    """6 synthetic rooms at 480x640 converted with their val scenes to ``data/nyuv2`` of a
    user's checkout, and a random ResNet-50 file in torchvision's format standing in for the
    ImageNet download."""
    root = tmp_path_factory.mktemp('paper')
    raw = root / 'raw'
    check_ok(
        run_python('tools/dataset_converters/make_synthetic_nyuv2.py', '--out', raw, '--num', 6,
                   '--seed', 1, '--no-progress'))
    data = convert_synthetic(raw, root / 'nyuv2', val_split=True)
    weights = root / 'resnet50-0676ba61.pth'
    write_torchvision_resnet50(weights)
    return UserCheckout(root / 'checkout', data), weights


@pytest.mark.slow
@pytest.mark.parametrize('name', PAPER_CONFIGS)
def test_paper_command_trains_and_tests(paper_checkout, name):
    checkout, weights = paper_checkout
    config = f'configs/rock/{name}.py'
    # the README's offline way: the ImageNet file pointed at by --cfg-options; 2 iterations of
    # 2 images, each iteration logged (the schedule's 40k x 8 is what the command runs without
    # these options)
    proc = check_ok(
        checkout.run('tools/train.py', config, '--cfg-options',
                     f'model.backbone.init_cfg.checkpoint={weights}', 'train_cfg.max_iters=2',
                     'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1'))
    log = proc.stdout + proc.stderr
    assert f'load model from: {weights}' in log
    assert 'unexpected key in source state_dict: fc.weight, fc.bias' in log
    assert 'missing keys in source state_dict' not in log
    assert 'Iter(train) [2/2]' in log and 'coco/bbox_mAP:' in log  # trained, then validated
    num = {
        split:
        len(
            json.loads((checkout.root / 'data' / 'nyuv2' / 'annotations' /
                        f'nyuv2_{split}.json').read_text())['images'])
        for split in ('val', 'test')
    }
    assert f'Iter(val) [{num["val"]}/{num["val"]}]' in log  # on the val split (batch 1)
    if name == 'ssd_r50_rock_nyuv2':
        assert 'loss_scene' in log and 'loss_depth' in log and 'loss_normals' in log
    work_dir = checkout.root / 'work_dirs' / name
    assert (work_dir / 'iter_2.pth').is_file()
    assert list(work_dir.glob('best_coco_bbox_mAP_iter_2.pth'))  # kept on val, did not crash

    proc = check_ok(
        checkout.run('tools/test.py', config, f'work_dirs/{name}/iter_2.pth', '--cfg-options',
                     'default_hooks.logger.interval=1'))
    assert f'Iter(test) [{num["test"]}/{num["test"]}]' in proc.stdout + proc.stderr
    rows = table_rows(proc.stdout)
    for label in ('mAP@0.5 (%)', 'mAP@0.75 (%)', 'mAP@[0.5:0.95] (%)'):
        assert 0. <= float(rows[label]) <= 100., (label, rows[label])
    if name == 'ssd_r50_rock_nyuv2':
        assert math.isfinite(float(rows['depth AbsRel']))
        # docs/nyuv2.md, "Protocols": the last checkpoint on val, as the paper reports it
        proc = check_ok(
            checkout.run('tools/test.py', config, f'work_dirs/{name}/iter_2.pth', '--cfg-options',
                         'test_dataloader.dataset.ann_file=annotations/nyuv2_val.json',
                         'test_evaluator.0.ann_file=data/nyuv2/annotations/nyuv2_val.json',
                         'default_hooks.logger.interval=1'))
        assert f'Iter(test) [{num["val"]}/{num["val"]}]' in proc.stdout + proc.stderr


@pytest.mark.slow
def test_no_detection_validates_to_zero_and_training_goes_on(tiny_nyuv2, tmp_path):
    """A model that detects nothing (score threshold above 1): validation after iteration 1
    gives 0 mAP, save_best keeps that checkpoint, and training goes on to iteration 2."""
    config = write_tiny_config(
        tmp_path / 'weak.py', tiny_nyuv2,
        "\nmodel['test_cfg'] = dict(score_thr=1.01, max_per_img=50)\n"
        "train_cfg = dict(max_iters=2, val_interval=1)\n"
        "default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, "
        "save_best='coco/bbox_mAP', "
        "rule='greater'))\n")
    proc = check_ok(run_python('tools/train.py', config, '--work-dir', tmp_path / 'wd'))
    log = proc.stdout + proc.stderr
    assert 'No detection on the whole dataset' in log
    assert 'coco/bbox_mAP: 0.0000' in log and 'coco/bbox_mAP_50: 0.0000' in log
    assert 'Iter(train) [2/2]' in log
    assert (tmp_path / 'wd' / 'best_coco_bbox_mAP_iter_1.pth').is_file()
    assert (tmp_path / 'wd' / 'iter_2.pth').is_file()
