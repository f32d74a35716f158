"""tools/analysis_tools/learning_curves.py: the plateau rule, and the tool end to end on the tiny
rooms' val split (4 iterations, a validation every 2)."""
import json

import pytest

from mmrock.engine.learning_curves import plateau_iteration
from conftest import check_ok, run_python, write_tiny_config

DEMO_SCHEDULE = '''
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=1),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=2, milestones=[1], gamma=0.1)]
'''


def test_plateau_rule():
    iters = [100 * k for k in range(1, 11)]
    # rises, then flat around 20 from iteration 500
    values = [5., 10., 14., 17., 19., 20., 19.5, 20.5, 20., 19.8]
    # trailing means of 3: ..., at 500: 16.67, 600: 18.67, 700: 19.5 (best 20.17 at 900)
    assert plateau_iteration(iters, values, window=3, tolerance=1.0) == 700
    assert plateau_iteration(iters, values, window=3, tolerance=2.0) == 600
    # still rising at the end: the plateau is not followed by `window` more validations
    assert plateau_iteration(iters, [1., 2., 3., 4., 5., 6.], window=3, tolerance=1.0) is None
    assert plateau_iteration(iters[:2], [1., 2.], window=3) is None


@pytest.mark.slow
def test_learning_curves_end_to_end_on_the_val_split(tiny_nyuv2_val, tmp_path):
    ssd = write_tiny_config(tmp_path / 'tiny_rock.py', tiny_nyuv2_val, DEMO_SCHEDULE)
    out = tmp_path / 'curves'
    args = [
        'tools/analysis_tools/learning_curves.py', ssd, '--data-root', tiny_nyuv2_val,
        '--max-iters', 4, '--val-interval', 2, '--window', 1, '--out', out
    ]
    check_ok(run_python(*args))
    result = json.loads((out / 'curves.json').read_text())
    curve = result['curves']['tiny_rock']
    assert sorted(curve['coco/bbox_mAP_50']) == ['2', '4']  # validated at 2 and 4
    assert set(curve['rock_residual_rms']) == {'1', '2', '3', '4'}  # logged every iteration
    assert 'within 1.0 points' in result['rule']
    assert result['plateau_iter'] in (2, None)
    assert (out / 'curves.png').stat().st_size > 1000
    log = (out / 'tiny_rock' / 'seed0' / 'curve.log').read_text()
    assert 'nyuv2_val.json' in log and 'param_scheduler.1.milestones=[4]' in log
    options = log.split('$')[1].split('--cfg-options')[1].split()
    val_options = [
        o for o in options
        if o.startswith(('val_dataloader.dataset.ann_file=', 'val_evaluator.0.ann_file='))
    ]
    last = {o.split('=')[0]: o for o in val_options}  # --cfg-options: the last one wins
    assert len(last) == 2 and all(o.endswith('nyuv2_val.json') for o in last.values())
    check_ok(run_python(*args))  # finished: not trained again
    assert (out / 'tiny_rock' / 'seed0' / 'curve.log').read_text() == log
    (out / 'curves.json').unlink()
    (out / 'tiny_rock' / 'seed0' / 'finished').unlink()
    check_ok(run_python(*args, '--report-only'))  # reads what is there, trains nothing
    assert (out / 'tiny_rock' / 'seed0' / 'curve.log').read_text() == log
    assert json.loads((out / 'curves.json').read_text())['curves'] == result['curves']

    # asked for more iterations: continued from iteration 4 at the same constant lr
    (out / 'tiny_rock' / 'seed0' / 'finished').write_text('')  # as an earlier mmrock left it
    from mmrock.engine.learning_curves import trained_iters
    last = out / 'tiny_rock' / 'seed0' / 'last_checkpoint'
    kept = last.read_text()
    last.unlink()  # as in a fresh clone of committed curves: read from the logged iterations
    assert trained_iters(out / 'tiny_rock' / 'seed0') == 4
    last.write_text(kept)
    check_ok(run_python(*args[:4], '--max-iters', 6, *args[6:]))
    log = (out / 'tiny_rock' / 'seed0' / 'curve.log').read_text()
    assert log.count('$ ') == 2 and '--resume' in log.split('$ ')[2]
    curve = json.loads((out / 'curves.json').read_text())['curves']['tiny_rock']
    assert sorted(curve['coco/bbox_mAP_50']) == ['2', '4', '6']
    lrs = {}
    for path in (out / 'tiny_rock' / 'seed0').glob('*/vis_data/scalars.json'):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if 'lr' in record:
                lrs[record['iter']] = record['lr']
    assert lrs[2] == lrs[4] == lrs[5] == lrs[6]  # no lr drop past the first curve's end
    assert (out / 'tiny_rock' / 'seed0' / 'finished').read_text().strip() == '6'


@pytest.mark.slow
def test_data_without_a_val_split_is_refused(tiny_nyuv2, tmp_path):
    ssd = write_tiny_config(tmp_path / 'tiny_rock.py', tiny_nyuv2, DEMO_SCHEDULE)
    proc = run_python('tools/analysis_tools/learning_curves.py', ssd, '--data-root', tiny_nyuv2,
                      '--out', tmp_path / 'curves')
    assert proc.returncode == 1
    assert 'annotations/nyuv2_val.json: no val split' in proc.stderr.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize('schedule', ['', 'param_scheduler = [dict(type="ConstantLR")]'])
def test_other_schedules_are_refused(tiny_nyuv2_val, tmp_path, schedule):
    ssd = write_tiny_config(tmp_path / 'tiny_rock.py', tiny_nyuv2_val, schedule)
    proc = run_python('tools/analysis_tools/learning_curves.py', ssd, '--data-root', tiny_nyuv2_val,
                      '--out', tmp_path / 'curves')
    assert proc.returncode == 1 and 'need param_scheduler = [warm-up, MultiStepLR]' in proc.stderr


def test_schedule_from_the_plateau(tmp_path):
    from mmrock.engine.ablation import AblationError
    from mmrock.engine.learning_curves import schedule_options
    path = tmp_path / 'curves.json'
    path.write_text(json.dumps(dict(schedule=dict(max_iters=1200, lr_drop_at=960))))
    assert schedule_options(str(path)) == [
        'train_cfg.max_iters=1200', 'param_scheduler.1.end=1200',
        'param_scheduler.1.milestones=[960]', 'default_hooks.checkpoint.interval=1200'
    ]
    path.write_text(json.dumps(dict(schedule=None, plateau_iter=None)))
    with pytest.raises(AblationError, match='did not plateau within its curve'):
        schedule_options(str(path))
