"""tools/analysis_tools/residual_removal.py on the tiny trained ROCK checkpoint: one tools/test.py
run per variant, each with its removed tasks (the neck's exactness:
tests/test_models/test_necks/test_rock_neck.py)."""
import json

import pytest

from mmrock.engine.residual_removal import variants
from conftest import check_ok, run_python, write_tiny_config


def test_variants():
    assert variants(['scene', 'depth']) == [('full model', []), ('no scene', ['scene']),
                                            ('no depth', ['depth']),
                                            ('all removed', ['scene', 'depth'])]


@pytest.mark.slow
def test_residual_removal_tool(tiny_rock_config, tiny_trained, tmp_path):
    out = tmp_path / 'removal'
    proc = check_ok(
        run_python('tools/analysis_tools/residual_removal.py', tiny_rock_config,
                   tiny_trained['checkpoint'], '--work-dir', out))
    results = json.loads((out / 'residual_removal.json').read_text())
    assert list(results) == ['full model', 'no scene', 'no depth', 'no normals', 'all removed']
    assert set(results['full model']) == set(results['all removed'])
    assert '| all removed |' in proc.stdout
    log = (out / 'all_removed' / 'test.log').read_text()
    assert "model.rock.removed_residuals=['scene','depth','normals']" in log


@pytest.mark.slow
def test_flat_mtl_is_refused(tiny_nyuv2, tiny_trained, tmp_path):
    flat = write_tiny_config(tmp_path / 'flat.py', tiny_nyuv2,
                             "\nmodel['rock']['residual'] = False\n")
    proc = run_python('tools/analysis_tools/residual_removal.py', flat, tiny_trained['checkpoint'],
                      '--work-dir', tmp_path / 'x')
    assert proc.returncode == 1 and 'no ROCK residual to remove' in proc.stderr
