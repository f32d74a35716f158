"""Learning curves on a val split, and the schedule at which a baseline has converged.

Each config is trained once by ``tools/train.py`` for ``max_iters`` at a constant learning rate
after the warm-up (the configs' step drop moved to the end), validating every ``val_interval``
iterations on the **val** split (never the test split); the curves are read back from mmengine's
``vis_data/scalars.json`` files. A training killed on the way resumes from its last checkpoint
when the tool is called again, and a finished curve is continued when asked for more
iterations (at the same constant lr).

**Plateau rule** (:func:`plateau_iteration`): smooth the baseline's val mAP@0.5 by a trailing
mean over ``window`` validations; the plateau is the first validation whose smoothed value is
within ``tolerance`` points of the best smoothed value of the whole curve, provided the curve
goes on for at least ``window`` more validations (else it has not been seen to plateau). The
comparison schedule is then that many iterations, with the lr drop at 80 % of them (the demo
configs' ratio).
"""
import glob
import json
import os.path as osp
import statistics
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .ablation import AblationError, _tool

VAL_ANN = 'annotations/nyuv2_val.json'
CURVE_KEYS = ('coco/bbox_mAP_50', 'coco/bbox_mAP_75', 'coco/bbox_mAP', 'aux/scene_acc')
TRAIN_KEYS = ('loss', 'rock_residual_rms', 'rock_input_rms')
DROP_AT = 0.8


def curve_options(config: str, data_root: str, max_iters: int, val_interval: int,
                  seed: int) -> List[str]:
    """``--cfg-options`` of one curve's training: the val split of ``data_root``, validation and
    a checkpoint every ``val_interval``, no lr drop before ``max_iters``.

    Args:
        config (str): Path of the config.
        data_root (str): The converted NYUv2-format folder, with a val split.
        max_iters (int): Iterations of the curve.
        val_interval (int): Iterations between validations (and checkpoints).
        seed (int): ``randomness.seed``.

    Returns:
        list[str]: ``key=value`` options.

    Raises:
        AblationError: A config whose schedule is not the demo family's [warm-up,
            MultiStepLR], or data without a val split (one line).
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    schedulers = cfg.get('param_scheduler') or []
    if len(schedulers) != 2 or schedulers[1].get('type') != 'MultiStepLR':
        raise AblationError(f'{config}: learning curves need param_scheduler = [warm-up, '
                            'MultiStepLR] (the demo configs\' schedule)')
    root = f'{str(data_root).rstrip("/")}/'
    if not osp.isfile(osp.join(root, VAL_ANN)):
        raise AblationError(f'{root}{VAL_ANN}: no val split (convert the data with '
                            'tools/dataset_converters/nyuv2.py --val-split SCENES.txt)')
    from .ablation import data_root_options
    options = data_root_options(config, root)
    return options + [
        f'randomness.seed={seed}',
        f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_interval={val_interval}',
        f'param_scheduler.1.end={max_iters}',
        f'param_scheduler.1.milestones=[{max_iters}]',
        f'default_hooks.checkpoint.interval={val_interval}',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        'default_hooks.checkpoint.save_best=None',
        # val metrics logged at their iteration (mmengine's default step is the epoch: 0 here)
        'default_hooks.logger.log_metric_by_epoch=False',
        f'val_dataloader.dataset.ann_file={VAL_ANN}',
        f'val_evaluator.0.ann_file={root}{VAL_ANN}'
    ]


def schedule_options(curves_json: str) -> List[str]:
    """``--cfg-options`` that train on the schedule a ``curves.json`` chose (its plateau, the lr
    drop at :data:`DROP_AT` of it, one checkpoint at the end).

    Args:
        curves_json (str): Path of the ``curves.json`` :func:`report` wrote.

    Returns:
        list[str]: ``key=value`` options.

    Raises:
        AblationError: The file cannot be read or the curves did not plateau (one line).
    """
    try:
        with open(curves_json) as f:
            schedule = json.load(f).get('schedule')
    except (OSError, ValueError) as exc:
        raise AblationError(f'{curves_json}: cannot be read ({exc})') from exc
    if not schedule:
        raise AblationError(f'{curves_json}: the baseline did not plateau within its curve: '
                            'train the curves longer (learning_curves.py --max-iters)')
    n, drop = schedule['max_iters'], schedule['lr_drop_at']
    return [
        f'train_cfg.max_iters={n}', f'param_scheduler.1.end={n}',
        f'param_scheduler.1.milestones=[{drop}]', f'default_hooks.checkpoint.interval={n}'
    ]


def read_curves(work_dir: Path) -> Dict[str, Dict[int, float]]:
    """The logged curves of a training.

    Args:
        work_dir (Path): The run's work dir, read from every ``*/vis_data/scalars.json`` (one
            per start of the training; a resumed run's later values win).

    Returns:
        dict[str, dict[int, float]]: ``{key: {iteration: value}}``.
    """
    curves: Dict[str, Dict[int, float]] = {}
    for path in sorted(glob.glob(str(Path(work_dir) / '*' / 'vis_data' / 'scalars.json'))):
        last_iter = 0
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line cut by a kill
                # training records carry their iteration; a validation belongs to the
                # iteration trained last before it (whatever step mmengine gave it)
                last_iter = int(record.get('iter', last_iter))
                for key in CURVE_KEYS + TRAIN_KEYS:
                    if key in record:
                        curves.setdefault(key, {})[last_iter] = float(record[key])
    return curves


def plateau_iteration(iters: Sequence[int],
                      values: Sequence[float],
                      window: int = 3,
                      tolerance: float = 1.0) -> Optional[int]:
    """The plateau of a val curve by the rule in the module docstring.

    Args:
        iters (Sequence[int]): Iterations of the validations.
        values (Sequence[float]): Val metric at each, in points.
        window (int): Validations of the trailing mean. Defaults to 3.
        tolerance (float): Points below the best trailing mean. Defaults to 1.0.

    Returns:
        int | None: The plateau's iteration; None when the curve does not go on for
        ``window`` validations past it.
    """
    if len(values) < window:
        return None
    smooth = [
        statistics.fmean(values[i - window + 1:i + 1]) for i in range(window - 1, len(values))
    ]
    best = max(smooth)
    first = next(i for i, v in enumerate(smooth) if v >= best - tolerance)
    position = first + window - 1
    if len(values) - 1 - position < window:
        return None
    return int(iters[position])


def trained_iters(work_dir: Path) -> int:
    """The iterations a finished curve was trained for. Its ``finished`` file holds them (empty
    in curves of an earlier mmrock: then the last iteration it logged, as in a fresh clone of
    committed curves, whose checkpoints are not kept).

    Args:
        work_dir (Path): The curve's work dir.

    Returns:
        int: The iterations, 0 when not finished.
    """
    finished = Path(work_dir) / 'finished'
    if not finished.is_file():
        return 0
    text = finished.read_text().strip()
    if text:
        return int(text)
    logged = read_curves(Path(work_dir)).get('loss', {})
    return max(logged, default=0)


def run_curve(config: str,
              work_dir: Path,
              options: Sequence[str],
              max_iters: int,
              threads: Optional[int] = None) -> None:
    """Train (or resume) one curve's run. A curve finished at fewer iterations is continued
    from its last checkpoint: its restored lr schedule ended there, so the lr stays constant.

    Args:
        config (str): Path of the config.
        work_dir (Path): The curve's work dir.
        options (Sequence[str]): Its ``--cfg-options`` (:func:`curve_options`).
        max_iters (int): Iterations to train to.
        threads (int, optional): Its CPU threads. Defaults to None (inherited).

    Raises:
        AblationError: If the training fails.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / 'curve.log'
    if trained_iters(work_dir) >= max_iters:
        return
    train = ['tools/train.py', config, '--work-dir', work_dir]
    if (work_dir / 'last_checkpoint').is_file():
        train.append('--resume')
    if _tool(train + ['--cfg-options', *options], log, threads) != 0:
        raise AblationError(f'training {osp.basename(config)} failed: see {log}')
    (work_dir / 'finished').write_text(f'{max_iters}\n')


def report(curves: Dict[str, Dict[str, Dict[int, float]]], baseline: str, window: int,
           tolerance: float, out_dir: Path, max_iters: int) -> dict:
    """Write ``curves.json``, ``curves.md`` and ``curves.png`` (val mAP@0.5 and the ROCK residual
    RMS against the iteration).

    Args:
        curves (dict[str, dict[str, dict[int, float]]]): Per config name, its
            :func:`read_curves`.
        baseline (str): The config name whose plateau sets the schedule.
        window (int): See :func:`plateau_iteration`.
        tolerance (float): See :func:`plateau_iteration`.
        out_dir (Path): Where the files go.
        max_iters (int): Iterations the curves were trained for.

    Returns:
        dict: The json's content (``rule``, ``plateau_iter``, ``schedule``, ``curves``...).
    """
    key = 'coco/bbox_mAP_50'
    base = curves.get(baseline, {}).get(key, {})
    iters = sorted(base)
    plateau = plateau_iteration(iters, [100 * base[i] for i in iters], window, tolerance)
    result = dict(
        rule=f'first validation whose trailing mean over {window} validations of the '
        f'baseline\'s val mAP@0.5 is within {tolerance} points of the best such mean, '
        f'followed by at least {window} more validations',
        baseline=baseline,
        plateau_iter=plateau,
        schedule=None if plateau is None else dict(
            max_iters=plateau, lr_drop_at=int(round(DROP_AT * plateau))),
        max_iters=max_iters,
        curves={
            name: {
                k: {
                    str(i): v
                    for i, v in sorted(series.items())
                }
                for k, series in c.items()
            }
            for name, c in curves.items()
        })
    Path(out_dir, 'curves.json').write_text(json.dumps(result, indent=2))
    lines = [
        f'Baseline: {baseline}. Rule: {result["rule"]}.', '',
        f'Plateau: {plateau if plateau is not None else "not reached"} '
        f'(validated up to iteration {iters[-1] if iters else 0} of {max_iters}).', '',
        '| iteration | ' + ' | '.join(curves) + ' |', '|---|' + '---|' * len(curves)
    ]
    all_iters = sorted({i for c in curves.values() for i in c.get(key, {})})
    for i in all_iters:
        cells = [f'{100 * c[key][i]:.1f}' if i in c.get(key, {}) else '' for c in curves.values()]
        lines.append(f'| {i} | ' + ' | '.join(cells) + ' |')
    Path(out_dir, 'curves.md').write_text('\n'.join(lines) + '\n')
    _plot(curves, plateau, Path(out_dir, 'curves.png'))
    return result


def _plot(curves: dict, plateau: Optional[int], path: Path) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax, ax_rms) = plt.subplots(1, 2, figsize=(11., 4.))
    for name, c in curves.items():
        series = c.get('coco/bbox_mAP_50', {})
        ax.plot(
            sorted(series), [100 * series[i] for i in sorted(series)], marker='o', ms=3, label=name)
        rms = c.get('rock_residual_rms', {})
        if rms and max(rms.values()) > 0:
            ax_rms.plot(sorted(rms), [rms[i] for i in sorted(rms)], label=f'{name}: residual')
            inp = c.get('rock_input_rms', {})
            ax_rms.plot(sorted(inp), [inp[i] for i in sorted(inp)], ls='--', label=f'{name}: C5')
    if plateau is not None:
        ax.axvline(plateau, color='grey', ls=':', label=f'plateau ({plateau})')
    ax.set_xlabel('iteration')
    ax.set_ylabel('val mAP@0.5 (%)')
    ax.set_title('val mAP@0.5 (constant lr after warm-up)')
    ax.legend(fontsize=7)
    ax_rms.set_xlabel('iteration')
    ax_rms.set_ylabel('RMS')
    ax_rms.set_title('ROCK residual sum vs its input (training batches)')
    if ax_rms.lines:
        ax_rms.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
