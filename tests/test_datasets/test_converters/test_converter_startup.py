"""The converter tools start without the deep-learning stack: they import only ``mmrock_data``
(numpy, Pillow, h5py, scipy, tqdm), never ``mmrock`` (torch, mmdet, mmcv, mmengine)."""
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[3] / 'tools' / 'dataset_converters'
HEAVY = ('torch', 'mmdet', 'mmcv', 'mmengine', 'mmrock')

# the tool as ``python TOOL --help`` would run it, then the heavy modules it imported
_RUN = f"""
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit as exc:
    assert not exc.code, exc.code
print('imported:', *[name for name in {HEAVY!r} if name in sys.modules])
"""


@pytest.mark.parametrize('tool', sorted(p.name for p in TOOLS.glob('*.py')))
def test_help_does_not_import_torch_or_mmdet(tool):
    proc = subprocess.run(
        [sys.executable, '-c', _RUN, str(TOOLS / tool), '--help'],
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith('usage: ')
    assert lines[-1] == 'imported:'
