"""The config tree: SSD, flat MTL and ROCK configs are siblings built from configs/_base_/, at
most 3 levels of inheritance deep, and the restructuring that made them so changed no config.

tests/test_configs/reference/config_dicts_before.json holds every config's built dict
(``Config.fromfile(...).to_dict()``, canonical JSON below) as it was before the restructuring:
each config still there (or under its new name, RENAMED) builds the same dict, except for the
differences listed in INTENDED. After an intended change to a config, add it to INTENDED or
rewrite the file (``python tests/test_configs/test_config_tree.py --write``) and say why in the
commit."""
import ast
import json
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
BEFORE = Path(__file__).parent / 'reference' / 'config_dicts_before.json'
MAX_DEPTH = 3

# old name -> new name, both relative to configs/ (none renamed: every name is kept)
RENAMED: Dict[str, str] = {}
TTA_PIPELINE_ADDED = ('the NYUv2 base defines the TTA pipeline next to the test pipeline it flips, '
                      'so every NYUv2 config has one (read only by tools/test.py --tta)')
# config -> {dotted key: why} for each key whose value may differ from BEFORE
INTENDED: Dict[str, Dict[str, str]] = {
    name: {
        'tta_pipeline': TTA_PIPELINE_ADDED
    }
    for name in ('_base_/datasets/nyuv2_multitask.py', 'rock/ssd_r50_nyuv2.py',
                 'rock/faster-rcnn_r50_fpn_rock_nyuv2.py', 'rock/retinanet_r50_fpn_rock_nyuv2.py')
}


def canonical(value: Any) -> Any:
    """``value`` as JSON that keeps what JSON would lose: tuples, and the repr of the rest."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, tuple):
        return {'__tuple__': [canonical(v) for v in value]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {'__repr__': repr(value)}


def config_files(root: Path = CONFIGS) -> List[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob('*.py'))


def built(name: str, root: Path = CONFIGS) -> dict:
    return canonical(Config.fromfile(str(root / name)).to_dict())


def bases(path: Path) -> List[Path]:
    """The files of configs/ that ``path`` names in ``_base_`` (``pkg::`` bases left out)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [(path.parent / n).resolve() for n in names if '::' not in n]
    return []


def depth(path: Path) -> int:
    """Levels of inheritance below ``path`` within configs/: 0 for a file without bases."""
    return max((1 + depth(b) for b in bases(path)), default=0)


def chain(path: Path) -> List[Path]:
    """Every file of configs/ that ``path`` inherits, directly or not."""
    return [f for b in bases(path) for f in [b, *chain(b)]]


def differences(before: Any, now: Any, key: str = '') -> List[str]:
    """The dotted keys at which ``now`` differs from ``before``."""
    if isinstance(before, dict) and isinstance(now, dict) and '__tuple__' not in before:
        found = []
        for k in sorted(before.keys() | now.keys()):
            found += differences(
                before.get(k, '<absent>'), now.get(k, '<absent>'), f'{key}.{k}' if key else k)
        return found
    return [] if before == now else [key]


BEFORE_DICTS = json.loads(BEFORE.read_text()) if BEFORE.exists() else {}
# head type -> (old argument, new argument): the dense heads' per-output-channel map count took one
# name, maps_per_out_channel (the old names are deprecated); the reference is read with it
RENAMED_ARGUMENTS = {
    'DepthHead': ('num_maps', 'maps_per_out_channel'),
    'NormalHead': ('maps_per_component', 'maps_per_out_channel'),
}


def with_renamed_arguments(value: Any) -> Any:
    """``value`` (a built config dict or part of one) with each head's renamed argument under
    its new name."""
    if isinstance(value, list):
        return [with_renamed_arguments(v) for v in value]
    if not isinstance(value, dict):
        return value
    value = {k: with_renamed_arguments(v) for k, v in value.items()}
    old, new = RENAMED_ARGUMENTS.get(value.get('type'), (None, None))
    if old in value:
        value[new] = value.pop(old)
    return value


def test_the_reference_covers_the_configs_of_the_restructuring():
    names = ('ssd_r50_rock_nyuv2.py', 'ssd_r18_rock_demo.py', 'ssd_r18_1xb8-400it_demo.py')
    assert {f'rock/{name}' for name in names} <= set(BEFORE_DICTS)


@pytest.mark.parametrize('old', sorted(BEFORE_DICTS))
def test_config_builds_the_same_dict_as_before(old):
    new = RENAMED.get(old, old)
    assert (CONFIGS / new).exists(), f'{old} is gone: add it to RENAMED or say why'
    found = differences(with_renamed_arguments(BEFORE_DICTS[old]), built(new))
    allowed = INTENDED.get(new, {})
    assert set(found) <= set(allowed), f'{new}: unexpected differences {set(found) - set(allowed)}'
    assert set(allowed) <= set(found), f'{new}: INTENDED lists differences that are not there'


def test_old_names_keep_working():
    """The names users cite (README, docs, commands) are files of configs/rock/ still."""
    for name in ('ssd_r50_rock_nyuv2.py', 'ssd_r50_nyuv2.py', 'ssd_r50_flatmtl_nyuv2.py',
                 'ssd_r18_rock_demo.py'):
        assert (CONFIGS / 'rock' / name).is_file()


@pytest.mark.parametrize('name', config_files())
def test_inheritance_depth(name):
    inherited = [str(p.relative_to(CONFIGS)) for p in chain(CONFIGS / name)]
    assert depth(CONFIGS / name) <= MAX_DEPTH, inherited


def test_depth_counts_levels():
    assert depth(CONFIGS / '_base_' / 'default_runtime.py') == 0
    assert depth(CONFIGS / 'rock' / 'ssd_r50_nyuv2.py') == 1
    assert depth(CONFIGS / 'rock' / 'ssd_r18-roomspre_rock_1xb8-400it_demo.py') == 3


def deletes_model(path: Path) -> bool:
    """Does the file assign ``model = dict(_delete_=True, ...)`` at its top level?"""
    for node in ast.parse(path.read_text()).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        if any(isinstance(t, ast.Name) and t.id == 'model'
               for t in node.targets) and any(k.arg == '_delete_' for k in node.value.keywords):
            return True
    return False


@pytest.mark.parametrize('name', config_files())
def test_no_config_removes_rock(name):
    """No config replaces its base's model, and a detector without ROCK inherits no ROCK."""
    path = CONFIGS / name
    assert not deletes_model(path)
    model = Config.fromfile(str(path)).get('model') or {}
    if 'rock' not in model:
        for base in chain(path):
            base_model = Config.fromfile(str(base)).get('model') or {}
            assert 'rock' not in base_model, f'{name} inherits ROCK from {base}'


def test_the_check_catches_a_deleted_model(tmp_path):
    config = tmp_path / 'ssd.py'
    config.write_text("_base_ = ['./rock.py']\nmodel = dict(_delete_=True, type='X')\n")
    assert deletes_model(config)


def test_the_demo_models_agree_with_their_bases():
    """The demo's ResNet-18 SSD is written twice (with and without ROCK: mmengine composes
    one chain of bases), and ROCK twice (on ResNet-50 and on the demo's ResNet-18): the copies
    agree but for the channels."""
    models = CONFIGS / '_base_' / 'models'

    def model(name):
        return Config.fromfile(str(models / name)).model.to_dict()

    ssd18, rock18 = model('ssd_r18-w32_dilated.py'), model('ssd_r18-w32_dilated_rock.py')
    rock50 = model('ssd_r50_dilated_rock.py')
    without_rock = {k: v for k, v in rock18.items() if k not in ('detector_type', 'rock')}
    assert dict(without_rock, type=rock18['detector_type']) == ssd18
    assert dict(rock18['rock'], in_channels=2048, encoder_channels=512) == rock50['rock']
    assert rock18['type'] == rock50['type'] and rock18['detector_type'] == rock50['detector_type']


if __name__ == '__main__':
    # --write [CONFIG_ROOT]: dump every config under CONFIG_ROOT (default configs/) to BEFORE
    assert sys.argv[1:2] == ['--write'], __doc__
    root = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else CONFIGS
    import mmrock  # noqa: F401
    dicts = {name: built(name, root) for name in config_files(root)}
    BEFORE.parent.mkdir(exist_ok=True)
    lines = [f'{json.dumps(k)}: {json.dumps(v, sort_keys=True)}' for k, v in dicts.items()]
    BEFORE.write_text('{\n' + ',\n'.join(lines) + '\n}\n')  # a line a config
    print(f'{len(dicts)} configs -> {BEFORE}')
