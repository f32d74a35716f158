"""Does a trained ROCK detector use its auxiliary features? The test metrics with each task's
residual removed at test time (``ROCKNeck.removed_residuals``), one task at a time and all at
once (the detector then sees the unrefined backbone features), beside the full model's.

Every variant is one ``tools/test.py`` run of the same checkpoint in ``<work_dir>/<variant>/``;
a variant whose ``metrics.json`` exists is not redone. Command line:
``tools/analysis_tools/residual_removal.py``.
"""
import json
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from .ablation import METRICS, AblationError, _tool

FULL = 'full model'
ALL = 'all removed'


def rock_tasks(config: str) -> List[str]:
    """The residual tasks of a config's ROCK neck.

    Args:
        config (str): Path of the config.

    Returns:
        list[str]: The task names.

    Raises:
        AblationError: When it has none (not a ROCK model, or flat MTL).
    """
    from mmengine.config import Config

    from ..models.necks.rock_neck import DEFAULT_AUX_HEADS
    rock = Config.fromfile(config).model.get('rock')
    if rock is None or rock.get('residual', True) is False:
        raise AblationError(f'{config}: no ROCK residual to remove (not a ROCK model, or '
                            'flat MTL)')
    return list(rock.get('aux_heads', DEFAULT_AUX_HEADS))


def variants(tasks: Sequence[str]) -> List[Tuple[str, List[str]]]:
    """The variants to test: the full model, each task alone removed, then all.

    Args:
        tasks (Sequence[str]): The residual tasks.

    Returns:
        list[tuple[str, list[str]]]: ``(name, removed tasks)``.
    """
    return [(FULL, [])] + [(f'no {t}', [t]) for t in tasks] + [(ALL, list(tasks))]


def run_variants(config: str, checkpoint: str, work_dir: Path,
                 cfg_options: Sequence[str] = ()) -> Dict[str, dict]:
    """Test a checkpoint once per variant (a variant tested before is read back).

    Args:
        config (str): Path of the config.
        checkpoint (str): The trained checkpoint.
        work_dir (Path): Where each variant's test goes.
        cfg_options (Sequence[str]): More ``--cfg-options``. Defaults to none.

    Returns:
        dict[str, dict]: ``{variant: test metrics}``.

    Raises:
        AblationError: A test failed.
    """
    results = {}
    for name, removed in variants(rock_tasks(config)):
        out = Path(work_dir) / name.replace(' ', '_')
        metrics = out / 'metrics.json'
        if not metrics.is_file():
            out.mkdir(parents=True, exist_ok=True)
            option = 'model.rock.removed_residuals=[' + ','.join(f"'{t}'" for t in removed) + ']'
            args = [
                'tools/test.py', config, checkpoint, '--work-dir', out, '--cfg-options', option,
                *cfg_options
            ]
            if _tool(args, out / 'test.log') != 0 or not metrics.is_file():
                raise AblationError(f'testing "{name}" failed: see {out / "test.log"}')
        results[name] = json.loads(metrics.read_text())
    return results


def to_markdown(results: Dict[str, dict]) -> str:
    """Markdown table of the detection mAPs (%) and their change from the full model.

    Args:
        results (dict[str, dict]): :func:`run_variants`'s output.

    Returns:
        str: The table, one row per variant.
    """
    titles = [(key, title, scale) for key, title, scale in METRICS[:3]]
    head = ['test-time residuals'] + [t for _, t, _ in titles] + [f'Δ {t}' for _, t, _ in titles]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    full = results[FULL]
    for name, metrics in results.items():
        values = [scale * metrics[key] for key, _, scale in titles]
        deltas = [scale * (metrics[key] - full[key]) for key, _, scale in titles]
        lines.append(f'| {name} | ' + ' | '.join(f'{v:.1f}' for v in values) + ' | ' +
                     ' | '.join(f'{d:+.1f}' for d in deltas) + ' |')
    return '\n'.join(lines) + '\n'
