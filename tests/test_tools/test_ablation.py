"""tools/analysis_tools/ablation.py end to end on a tiny dataset (2 configs x 2 seeds x 2
iterations): the table holds mean ± std and per-seed values, a second call redoes nothing; and the
demo-scale configs of the default set build."""
import json
import re

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS

from mmrock.engine.ablation import DEFAULT_CONFIGS, data_root_options, summarise, to_markdown
from conftest import REPO, check_ok, run_python, write_tiny_config

MEAN_STD = re.compile(r'^-?\d+\.\d+ ± \d+\.\d+$')


@pytest.mark.slow
def test_ablation_end_to_end_and_resumable(tiny_nyuv2, tmp_path):
    rock = write_tiny_config(tmp_path / 'tiny_rock.py', tiny_nyuv2)
    flat = write_tiny_config(tmp_path / 'tiny_flat.py', tiny_nyuv2,
                             "\nmodel['rock']['residual'] = False\n")
    out = tmp_path / 'ablation'
    args = ['tools/analysis_tools/ablation.py', rock, flat, '--seeds', 2, '--out', out, '--jobs', 2]
    proc = check_ok(run_python(*args))
    assert proc.stdout.count('training and testing in') == 4

    table = (out / 'ablation.md').read_text()
    header, _, *rows = table.splitlines()[:4]
    titles = [c.strip() for c in header.strip('|').split('|')]
    assert titles[:5] == ['config', 'seeds', 'mAP@0.5', 'mAP@0.75', 'mAP@[.5:.95]']
    for row, name in zip(rows, ('tiny_rock', 'tiny_flat')):
        cells = dict(zip(titles, (c.strip() for c in row.strip('|').split('|'))))
        assert cells['config'] == name and cells['seeds'] == '0, 1'
        for title in ('mAP@0.5', 'mAP@[.5:.95]', 'scene top-1 %', 'depth AbsRel'):
            assert MEAN_STD.match(cells[title]), (title, cells[title])
    report = json.loads((out / 'ablation.json').read_text())
    values = report['summary']['tiny_rock']['mAP@0.5']['values']
    assert len(values) == 2
    assert values == [100 * report['runs']['tiny_rock'][s]['coco/bbox_mAP_50'] for s in '01']
    assert (out / 'ablation.png').stat().st_size > 1000
    # the seed reaches training: the two seeds' first losses differ
    logs = [(out / 'tiny_rock' / f'seed{s}' / 'ablation.log').read_text() for s in (0, 1)]
    first_loss = [re.search(r'Iter\(train\) \[1/2\].*? loss: (\S+)', log).group(1) for log in logs]
    assert first_loss[0] != first_loss[1]

    mtimes = {p: p.stat().st_mtime for p in out.glob('*/seed*/test/metrics.json')}
    proc = check_ok(run_python(*args))  # everything finished: nothing is redone
    assert proc.stdout.count('finished before, skipped') == 4
    assert 'training and testing' not in proc.stdout
    assert {p: p.stat().st_mtime for p in mtimes} == mtimes
    assert (out / 'ablation.md').read_text() == table


def test_summary_mean_and_sample_std():
    runs = {
        'a': {
            0: {
                'coco/bbox_mAP_50': 0.1
            },
            1: {
                'coco/bbox_mAP_50': 0.3
            },
            2: {
                'coco/bbox_mAP_50': 0.2
            }
        },
        'b': {
            0: {
                'coco/bbox_mAP_50': 0.25,
                'aux/scene_acc': None
            }
        }
    }
    summary = summarise(runs)
    assert summary['a']['mAP@0.5']['mean'] == pytest.approx(20.)
    assert summary['a']['mAP@0.5']['std'] == pytest.approx(10.)  # sample std of 10, 30, 20
    assert summary['b']['mAP@0.5'] == dict(values=[25.], mean=25., std=None)
    assert 'scene top-1 %' not in summary['b']  # missing in a seed: not summarised
    assert '| a | 0, 1, 2 | 20.0 ± 10.0 |' in to_markdown(summary)
    assert '| b | 0 | 25.0 |' in to_markdown(summary)  # one seed: no spread shown


@pytest.mark.parametrize('config', DEFAULT_CONFIGS)
def test_default_set_configs_build(config):
    cfg = Config.fromfile(str(REPO / config))
    model = MODELS.build(cfg.model)
    heads = set(model.rock.aux_heads) if hasattr(model, 'rock') else set()
    expected = {
        'ssd_r18_1xb8-400it_demo': set(),
        'ssd_r18_flatmtl_1xb8-400it_demo': {'scene', 'depth', 'normals'},
        'ssd_r18_rock_demo': {'scene', 'depth', 'normals'},
        'ssd_r18_rock-near-identity_1xb8-400it_demo': {'scene', 'depth', 'normals'},
        'ssd_r18_rock-per-side-anchors_1xb8-400it_demo': {'scene', 'depth', 'normals'},
        'ssd_r18_per-side-anchors_1xb8-400it_demo': set(),
        'ssd_r18_flatmtl-per-side-anchors_1xb8-400it_demo': {'scene', 'depth', 'normals'}
    }
    name = config.split('/')[-1][:-3]
    if name not in expected:  # ssd_r18_rock-<task>_1xb8-400it_demo
        expected[name] = {name.split('-')[1].split('_')[0]}
    assert heads == expected[name]
    if name.startswith('ssd_r18_flatmtl'):
        assert not model.rock.residual
    if name == 'ssd_r18_rock-near-identity_1xb8-400it_demo':
        assert model.rock.decoder_norm_init == 0.1
    if 'per-side-anchors' in name:
        head = model.detector.bbox_head if hasattr(model, 'rock') else model.bbox_head
        assert type(head.prior_generator).__name__ == 'PerSideSSDAnchorGenerator'


@pytest.mark.parametrize('config', [
    'configs/rock/ssd_r50_rock_1xb8-30k_nyuv2-795.py', 'configs/rock/ssd_r50_rock_nyuv2.py',
    'configs/rock/ssd_r18_rock_demo.py'
])
def test_data_root_options_redirect_every_file_and_keep_the_splits(config, tmp_path):
    options = data_root_options(str(REPO / config), '/elsewhere/rooms')
    cfg = Config.fromfile(str(REPO / config))
    cfg.merge_from_dict(dict(o.split('=', 1) for o in options))  # what --cfg-options does
    roots, ann_files = [], []

    def walk(node):
        if isinstance(node, dict):
            roots.extend([node['data_root']] if 'data_root' in node else [])
            ann_files.extend([node['ann_file']] if 'ann_file' in node else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk({
        k: cfg.get(k)
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                  'test_evaluator')
    })
    assert roots and set(roots) == {'/elsewhere/rooms/'}
    # evaluators' absolute files moved, the loaders' relative ones (their split) kept
    original = Config.fromfile(str(REPO / config))
    assert sorted(a.split('/')[-1] for a in ann_files
                  if a.startswith('/')) == sorted(m['ann_file'].split('/')[-1]
                                                  for k in ('val_evaluator', 'test_evaluator')
                                                  for m in (original.get(k) or [])
                                                  if isinstance(m, dict) and m.get('ann_file'))
    assert all(a.startswith('/elsewhere/rooms/') or not a.startswith('/') for a in ann_files)


def test_paired_ci95_against_a_hand_computed_example():
    """Differences 1..5: mean 3, sample sd sqrt(2.5), se sqrt(0.5); t(0.975, 4) = 2.776445."""
    from mmrock.engine.ablation import paired_ci95
    half = 2.776445 * (2.5**0.5) / (5**0.5)
    assert paired_ci95([1., 2., 3., 4., 5.]) == pytest.approx([3 - half, 3 + half], abs=1e-5)
    assert paired_ci95([2.]) is None  # one pair: no spread


def test_paired_differences_pair_by_seed_and_reach_the_report(tmp_path):
    from mmrock.engine.ablation import default_pairs, paired_differences, write_report
    runs = {
        name: {
            s: {
                'coco/bbox_mAP_50': v / 100
            }
            for s, v in values.items()
        }
        for name, values in dict(
            ssd={
                0: 10.,
                1: 12.,
                2: 11.
            },
            flat={
                0: 11.,
                1: 14.,
                2: 14.,
                3: 20.
            },
            rock={
                0: 13.,
                1: 13.,
                2: 16.
            }).items()
    }
    assert default_pairs(['ssd', 'flat', 'rock']) == [('flat', 'ssd'), ('rock', 'ssd'),
                                                      ('rock', 'flat')]
    paired = paired_differences(summarise(runs), [('flat', 'ssd')])
    cell = paired[0]['mAP@0.5']
    assert cell['seeds'] == [0, 1, 2]  # seed 3 has no partner
    assert cell['differences'] == pytest.approx([1., 2., 3.])
    assert cell['mean'] == pytest.approx(2.) and cell['std'] == pytest.approx(1.)
    half = 4.302653 * 1. / 3**0.5
    assert cell['ci95'] == pytest.approx([2 - half, 2 + half], abs=1e-5)
    paths = write_report(runs, tmp_path)
    report = json.loads(paths['json'].read_text())
    assert [(p['a'], p['b']) for p in report['paired']] == default_pairs(['ssd', 'flat', 'rock'])
    assert 'ci95' in report['paired'][0]['mAP@0.5']
    text = paths['markdown'].read_text()
    assert f'| flat - ssd | 3 | +2.0 [{2 - half:+.1f}, {2 + half:+.1f}] |' in text


@pytest.mark.slow
def test_pairs_flag_names_configs(tiny_nyuv2, tmp_path):
    rock = write_tiny_config(tmp_path / 'tiny_rock.py', tiny_nyuv2)
    proc = run_python('tools/analysis_tools/ablation.py', rock, '--pairs', 'tiny_rock:nope',
                      '--out', tmp_path / 'out')
    assert proc.returncode == 1 and "--pairs tiny_rock:nope: give A:B" in proc.stderr


def test_threads_are_shared_out_between_jobs(monkeypatch):
    from mmrock.engine import ablation
    monkeypatch.setattr(ablation.os, 'cpu_count', lambda: 2)
    assert ablation.threads_per_job(1) is None  # one job: torch's default
    assert ablation.threads_per_job(2) == 1 and ablation.threads_per_job(3) == 1
