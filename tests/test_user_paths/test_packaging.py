"""Packaging: a non-editable install ships mmrock_data and the configs, so that a config in any
folder inherits them with ``mmrock::``; the metadata declares the runtime dependencies (torch and
mmcv left to the user, as mmdet does) and the Python range."""
import json
import os
import shutil
import subprocess
import sys
from email.parser import Parser

import pytest

from conftest import REPO, check_ok

USER_CONFIG = '''
_base_ = ['mmrock::rock/ssd_r18_rock_demo.py']
model = dict(rock=dict(fusion_norm_act=True))
'''

BUILD = '''
import json, sys
import mmrock, mmrock_data
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmdet.registry import MODELS
cfg = Config.fromfile('my_rock.py')
init_default_scope(cfg.default_scope)
model = MODELS.build(cfg.model)
print(json.dumps(dict(module=mmrock.__file__, data_module=mmrock_data.__file__,
                      model=type(model).__name__,
                      fusion_norm_act=cfg.model.rock.fusion_norm_act,
                      tta=cfg.tta_model.type, data_root=cfg.data_root)))
'''


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """``pip install --no-deps`` of a copy of the repository into a folder of its own."""
    root = tmp_path_factory.mktemp('packaging')
    src, site = root / 'src', root / 'site'
    shutil.copytree(
        REPO,
        src,
        symlinks=True,
        ignore=shutil.ignore_patterns('.git', '.venv', 'work_dirs', 'data', 'build', '*.egg-info',
                                      '__pycache__'))
    check_ok(
        subprocess.run([
            sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation',
            '--no-index', '--target',
            str(site),
            str(src)
        ],
                       capture_output=True,
                       text=True,
                       timeout=600,
                       env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1')))
    return root, site


@pytest.mark.slow
def test_mmrock_configs_inherit_from_any_folder(installed):
    root, site = installed
    user = root / 'elsewhere'
    user.mkdir()
    (user / 'my_rock.py').write_text(USER_CONFIG)
    proc = check_ok(
        subprocess.run([sys.executable, '-c', BUILD],
                       cwd=user,
                       capture_output=True,
                       text=True,
                       timeout=600,
                       env=dict(os.environ, PYTHONPATH=str(site))))
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['module'] == str(site / 'mmrock' / '__init__.py')
    assert result['data_module'] == str(site / 'mmrock_data' / '__init__.py')
    assert result == dict(
        result,
        model='ROCKDetector',
        fusion_norm_act=True,
        tta='ROCKTTAModel',
        data_root='data/synthetic_nyuv2/')
    assert 'Failed to search registry' not in proc.stdout + proc.stderr
    assert (site / 'mmrock' / '.mim' / 'configs' / 'rock' / 'ssd_r50_rock_nyuv2.py').is_file()


@pytest.mark.slow
def test_metadata_declares_dependencies(installed):
    _, site = installed
    (dist_info, ) = site.glob('mmrock-*.dist-info')
    meta = Parser().parsestr((dist_info / 'METADATA').read_text())
    requires = {
        r.split(';')[0].split('>')[0].split('<')[0].split('=')[0].strip()
        for r in meta.get_all('Requires-Dist') if 'extra ==' not in r
    }
    assert {'mmengine', 'mmdet', 'numpy', 'pycocotools', 'h5py'} <= requires
    assert not requires & {'torch', 'mmcv'}
    assert set(meta['Requires-Python'].split(',')) == {'>=3.9', '<3.12'}
    assert meta['License'] == 'Apache License 2.0'
    assert any(p.name == 'LICENSE' for p in dist_info.rglob('LICENSE'))


@pytest.mark.slow
def test_installed_model_index_lists_every_config(installed):
    """What ``mim search mmrock`` reads: the installed ``.mim/model-index.yml``, its metafiles,
    one entry per config of configs/rock/ (each shipped), and no weights claimed."""
    import yaml
    _, site = installed
    mim = site / 'mmrock' / '.mim'
    index = yaml.safe_load((mim / 'model-index.yml').read_text())
    models = [
        m for path in index['Import'] for m in yaml.safe_load((mim / path).read_text())['Models']
    ]
    assert sorted(m['Name'] for m in models) == sorted(
        p.stem for p in (REPO / 'configs' / 'rock').glob('*.py'))
    for model in models:
        assert model['Config'] == f"configs/rock/{model['Name']}.py"
        assert (mim / model['Config']).is_file(), model['Config']
        assert model['In Collection'] == 'ROCK' and 'Weights' not in model
        assert model['Metadata']['Training Data'] in ('NYUv2', 'Synthetic NYUv2 rooms', 'COCO')
