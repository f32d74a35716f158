"""The lint gate that .ci/run runs before the tests (`make lint`: flake8, isort, yapf, codespell
with setup.cfg's settings) passes on the tree and fails on a file that breaks a rule."""
import subprocess

import pytest

from conftest import REPO


def make_lint(*args) -> subprocess.CompletedProcess:
    return subprocess.run(['make', '-s', 'lint', *args],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=600)


def test_ci_runs_the_gate_before_the_tests():
    lines = (REPO / '.ci' / 'run').read_text().splitlines()
    assert lines.index('make lint') < lines.index('make test')


@pytest.mark.slow
def test_gate_passes_on_the_tree():
    proc = make_lint()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.parametrize(
    'source, rule',
    [
        ("x = '" + 'y' * 100 + "'\n", 'E501'),  # flake8: beyond 100 columns
        ('import sys\nimport os\n\nprint(os, sys)\n', 'isort'),  # imports out of order
        ('x = 1\ny = x*2\n', 'yapf'),  # flake8 lets it pass (E226), yapf writes x * 2
    ])
def test_gate_fails_on_a_lint_error(tmp_path, source, rule):
    bad = tmp_path / 'bad.py'
    bad.write_text(source)
    proc = make_lint(f'LINTED={bad}')
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert str(bad) in out  # named by the tool that stopped the gate
    assert {'E501': 'E501', 'isort': 'incorrectly sorted', 'yapf': '(reformatted)'}[rule] in out
