"""Ablations: every config trained with every seed by ``tools/train.py`` on one dataset, its last
checkpoint tested by ``tools/test.py``, and the test metrics summarised as mean ± std.

Each run lives in ``<out>/<config name>/seed<k>/``: the training's work dir (``train.log``,
checkpoints) and ``test/metrics.json``. A run whose metrics exist is finished and is not redone;
an interrupted training is resumed from its last checkpoint. Validation during training is
switched off (the last checkpoint is tested, nothing is selected on the test split).

Command-line front end: ``tools/analysis_tools/ablation.py``; ``make ablation`` runs the default
set (:data:`DEFAULT_CONFIGS`) at demo scale.
"""
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
# The paper's comparison at demo scale: SSD, flat multi-task learning, ROCK, ROCK with one task;
# then two variants of ROCK: started near identity, and the per-side anchor scales (with SSD and
# flat MTL on them too, to tell the anchors' effect from ROCK's).
DEFAULT_CONFIGS = (
    'configs/rock/ssd_r18_1xb8-400it_demo.py',
    'configs/rock/ssd_r18_flatmtl_1xb8-400it_demo.py',
    'configs/rock/ssd_r18_rock_demo.py',
    'configs/rock/ssd_r18_rock-scene_1xb8-400it_demo.py',
    'configs/rock/ssd_r18_rock-depth_1xb8-400it_demo.py',
    'configs/rock/ssd_r18_rock-normals_1xb8-400it_demo.py',
    'configs/rock/ssd_r18_rock-near-identity_1xb8-400it_demo.py',
    'configs/rock/ssd_r18_rock-per-side-anchors_1xb8-400it_demo.py',
    'configs/rock/ssd_r18_per-side-anchors_1xb8-400it_demo.py',
    'configs/rock/ssd_r18_flatmtl-per-side-anchors_1xb8-400it_demo.py',
)
# (key in tools/test.py's metrics.json, column title, scale to the shown unit)
METRICS = (
    ('coco/bbox_mAP_50', 'mAP@0.5', 100.),
    ('coco/bbox_mAP_75', 'mAP@0.75', 100.),
    ('coco/bbox_mAP', 'mAP@[.5:.95]', 100.),
    ('aux/scene_acc', 'scene top-1 %', 1.),
    ('aux/depth_abs_rel', 'depth AbsRel', 1.),
    ('aux/depth_rmse', 'depth RMSE m', 1.),
    ('aux/normal_mean', 'normals mean °', 1.),
    ('aux/normal_median', 'normals median °', 1.),
    ('aux/presence_mAP', 'presence mAP %', 1.),
    ('aux/seg_mIoU', 'seg mIoU %', 1.),
)
NO_VALIDATION = ('val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
                 'default_hooks.checkpoint.save_best=None')


class AblationError(RuntimeError):
    """A run failed; the message (one line) names it and its log."""


def data_root_options(config: str, data_root: str) -> List[str]:
    """``--cfg-options`` that point a config's loaders and COCO evaluators at another converted
    NYUv2-format folder, keeping each one's split file. Loaders that are off (``None``) are left
    alone; wrapped datasets (``ConcatDataset``, ``RepeatDataset``) get their leaves redirected.

    Args:
        config (str): Path of the config.
        data_root (str): The converted folder.

    Returns:
        list[str]: ``key=value`` options.
    """
    from mmengine.config import Config

    from .data_check import DATALOADERS, EVALUATORS, leaf_dataset_items
    cfg = Config.fromfile(config)
    root = f'{str(data_root).rstrip("/")}/'
    options = [f'data_root={root}']
    for loader in DATALOADERS:
        if cfg.get(loader) is not None:
            options += [
                f'{key}.data_root={root}'
                for key, _ in leaf_dataset_items(cfg[loader].dataset, f'{loader}.dataset')
            ]
    for evaluator in EVALUATORS:
        metrics = cfg.get(evaluator)
        metrics = metrics if isinstance(metrics, (list, tuple)) else [metrics]
        for i, metric in enumerate(metrics):
            if isinstance(metric, dict) and metric.get('ann_file'):
                key = f'{evaluator}.{i}' if isinstance(cfg[evaluator], (list, tuple)) else evaluator
                options.append(
                    f'{key}.ann_file={root}annotations/{osp.basename(metric["ann_file"])}')
    return options


@dataclass
class Run:
    """One training + test of a config with a seed.

    Args:
        config (str): Path of the config.
        seed (int): ``randomness.seed`` of the run.
        work_dir (Path): The run's work dir.
    """
    config: str
    seed: int
    work_dir: Path

    @property
    def name(self) -> str:
        """str: The config's file name without extension."""
        return osp.splitext(osp.basename(self.config))[0]

    @property
    def metrics_path(self) -> Path:
        """Path: The test metrics file, ``<work_dir>/test/metrics.json``."""
        return self.work_dir / 'test' / 'metrics.json'

    def metrics(self) -> Optional[dict]:
        """The finished run's test metrics.

        Returns:
            dict | None: The metrics, or None while there are none.
        """
        try:
            return json.loads(self.metrics_path.read_text())
        except (OSError, ValueError):
            return None


def plan(configs: Sequence[str], seeds: Sequence[int], out_dir: Path) -> List[Run]:
    """The runs, config by config, in ``<out_dir>/<config name>/seed<seed>``.

    Args:
        configs (Sequence[str]): Config paths (distinct file names).
        seeds (Sequence[int]): Seeds of each config.
        out_dir (Path): The ablation's folder.

    Returns:
        list[Run]: The runs.

    Raises:
        AblationError: Two configs with the same file name.
    """
    names = [osp.splitext(osp.basename(c))[0] for c in configs]
    if len(set(names)) != len(names):
        raise AblationError(f'configs must have distinct file names, got {names}')
    return [
        Run(config, seed,
            Path(out_dir) / name / f'seed{seed}') for config, name in zip(configs, names)
        for seed in seeds
    ]


def _tool(args: Sequence[str], log_path: Path, threads: Optional[int] = None) -> int:
    """Run a project tool (this interpreter, from the repository root) appending to a log;
    ``threads``: its torch / OpenMP CPU threads (default: inherited)."""
    env = None if threads is None else dict(
        os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with open(log_path, 'a') as log:
        log.write(f'$ {" ".join(map(str, args))}\n')
        log.flush()
        return subprocess.run([sys.executable, *map(str, args)],
                              cwd=REPO,
                              stdout=log,
                              stderr=subprocess.STDOUT,
                              env=env).returncode


def threads_per_job(jobs: int) -> Optional[int]:
    """CPU threads for each of a number of runs side by side (the cores shared out).

    Args:
        jobs (int): Runs side by side.

    Returns:
        int | None: Threads per run; None for one job (torch's default).
    """
    return None if jobs <= 1 else max(1, (os.cpu_count() or 1) // jobs)


def execute(run: Run, cfg_options: Sequence[str] = (), threads: Optional[int] = None) -> dict:
    """Train (or resume) and test a run (nothing when it finished before).

    Args:
        run (Run): The run.
        cfg_options (Sequence[str]): Its config overrides. Defaults to none.
        threads (int, optional): Its CPU threads. Defaults to None (inherited).

    Returns:
        dict: Its test metrics.

    Raises:
        AblationError: Naming the failed step and its log file.
    """
    done = run.metrics()
    if done is not None:
        return done
    run.work_dir.mkdir(parents=True, exist_ok=True)
    log = run.work_dir / 'ablation.log'
    train = ['tools/train.py', run.config, '--work-dir', run.work_dir]
    if (run.work_dir / 'last_checkpoint').is_file():
        train.append('--resume')
    options = [f'randomness.seed={run.seed}', *cfg_options]
    if _tool(train + ['--cfg-options', *options, *NO_VALIDATION], log, threads) != 0:
        raise AblationError(f'training {run.name} seed {run.seed} failed: see {log}')
    checkpoint = (run.work_dir / 'last_checkpoint').read_text().strip()
    test = [
        'tools/test.py', run.config, checkpoint, '--work-dir', run.work_dir / 'test',
        '--cfg-options', *options
    ]
    if _tool(test, log, threads) != 0 or run.metrics() is None:
        raise AblationError(f'testing {run.name} seed {run.seed} failed: see {log}')
    return run.metrics()


def run_all(runs: Sequence[Run],
            cfg_options: Optional[Dict[str, Sequence[str]]] = None,
            echo: Callable[[str], None] = print,
            jobs: int = 1) -> Dict[str, Dict[int, dict]]:
    """Execute the runs in order, ``jobs`` at a time side by side (each with its share of the
    CPU threads), saying which one runs and how long each took.

    Args:
        runs (Sequence[Run]): The runs.
        cfg_options (dict[str, Sequence[str]], optional): Config path -> its overrides.
        echo (Callable[[str], None]): Where the progress lines go. Defaults to ``print``.
        jobs (int): Runs side by side. Defaults to 1.

    Returns:
        dict[str, dict[int, dict]]: ``{config name: {seed: metrics}}``.
    """
    threads = threads_per_job(jobs)

    def one(numbered):
        i, run = numbered
        what = f'[{i}/{len(runs)}] {run.name} seed {run.seed}'
        if run.metrics() is not None:
            echo(f'{what}: finished before, skipped')
            return
        echo(f'{what}: training and testing in {run.work_dir} ...')
        start = time.time()
        execute(run, (cfg_options or {}).get(run.config, ()), threads)
        echo(f'{what}: done in {(time.time() - start) / 60:.1f} min')

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, enumerate(runs, 1)))  # re-raises a run's AblationError
    results: Dict[str, Dict[int, dict]] = {}
    for run in runs:
        results.setdefault(run.name, {})[run.seed] = run.metrics()
    return results


def summarise(results: Dict[str, Dict[int, dict]]) -> dict:
    """Mean and spread over the seeds of the columns of :data:`METRICS` present in every seed's
    metrics.

    Args:
        results (dict[str, dict[int, dict]]): ``{config name: {seed: metrics}}``.

    Returns:
        dict: ``{config: {'seeds': [...], column: {'values': [...], 'mean': m, 'std': s}}}``
        (std: sample standard deviation, None for one seed; values in the shown units).
    """
    summary = {}
    for name, per_seed in results.items():
        seeds = sorted(per_seed)
        row = {'seeds': seeds}
        for key, title, scale in METRICS:
            values = [per_seed[s].get(key) for s in seeds]
            if any(v is None or not math.isfinite(v) for v in values):
                continue
            values = [v * scale for v in values]
            # one seed has no spread to show: std None (null), the mean alone in the table
            row[title] = dict(
                values=values,
                mean=statistics.fmean(values),
                std=statistics.stdev(values) if len(values) > 1 else None)
        summary[name] = row
    return summary


def paired_ci95(differences: Sequence[float]) -> Optional[List[float]]:
    """95 % confidence interval of the mean of paired differences, ``mean ± t * sd / sqrt(n)``
    with t the 0.975 quantile of Student's t with n - 1 degrees of freedom.

    Args:
        differences (Sequence[float]): The n paired differences.

    Returns:
        list[float] | None: ``[low, high]``; None below two pairs (no spread to estimate).
    """
    from scipy.stats import t
    n = len(differences)
    if n < 2:
        return None
    mean = statistics.fmean(differences)
    half = float(t.ppf(0.975, n - 1)) * statistics.stdev(differences) / math.sqrt(n)
    return [mean - half, mean + half]


def default_pairs(names: Sequence[str]) -> List[tuple]:
    """The pairs of configs to compare: every later config against every earlier one when
    there are at most five (SSD, flat MTL, ROCK, ... given in that order: flat - SSD,
    ROCK - SSD, ROCK - flat, ...), else every config against the first.

    Args:
        names (Sequence[str]): Config names, in order.

    Returns:
        list[tuple]: ``(a, b)`` for a - b.
    """
    names = list(names)
    if len(names) <= 5:
        return [(a, b) for j, a in enumerate(names) for b in names[:j]]
    return [(a, names[0]) for a in names[1:]]


def paired_differences(summary: dict, pairs: Sequence[tuple]) -> List[dict]:
    """Paired differences of the configs, seed by seed (the seeds both have).

    Args:
        summary (dict): :func:`summarise`'s output.
        pairs (Sequence[tuple]): ``(a, b)`` config names compared as a - b.

    Returns:
        list[dict]: Per pair, ``a``, ``b`` and per column the ``seeds``, ``differences``,
        their ``mean``, sample ``std`` and ``ci95`` (:func:`paired_ci95`).
    """
    out = []
    for a, b in pairs:
        if a not in summary or b not in summary:
            continue
        row = dict(a=a, b=b)
        for _, title, _ in METRICS:
            if title not in summary[a] or title not in summary[b]:
                continue
            va = dict(zip(summary[a]['seeds'], summary[a][title]['values']))
            vb = dict(zip(summary[b]['seeds'], summary[b][title]['values']))
            seeds = sorted(set(va) & set(vb))
            diffs = [va[s] - vb[s] for s in seeds]
            if not diffs:
                continue
            row[title] = dict(
                seeds=seeds,
                differences=diffs,
                mean=statistics.fmean(diffs),
                std=statistics.stdev(diffs) if len(diffs) > 1 else None,
                ci95=paired_ci95(diffs))
        out.append(row)
    return out


def paired_markdown(paired: List[dict]) -> str:
    """Markdown table of the mean paired difference [95 % CI] of the detection mAPs.

    Args:
        paired (list[dict]): :func:`paired_differences`'s output.

    Returns:
        str: The table, one row per pair.
    """
    titles = [t for _, t, _ in METRICS[:3]]
    lines = [
        'Paired differences (a - b, seed by seed; mean [95 % CI, t distribution]):', '',
        '| a - b | seeds | ' + ' | '.join(titles) + ' |', '|' + '---|' * (len(titles) + 2)
    ]
    for row in paired:
        cells = []
        for title in titles:
            cell = row.get(title)
            if cell is None:
                cells.append('n/a')
            elif cell['ci95'] is None:
                cells.append(f'{cell["mean"]:+.1f}')
            else:
                lo, hi = cell['ci95']
                cells.append(f'{cell["mean"]:+.1f} [{lo:+.1f}, {hi:+.1f}]')
        seeds = next((row[t]['seeds'] for t in titles if t in row), [])
        lines.append(f'| {row["a"]} - {row["b"]} | {len(seeds)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def to_markdown(summary: dict) -> str:
    """Markdown of a mean ± std table (one row per config), then the per-seed values.

    Args:
        summary (dict): :func:`summarise`'s output.

    Returns:
        str: The markdown.
    """
    titles = [t for _, t, _ in METRICS if any(t in row for row in summary.values())]
    digits = {'depth AbsRel': 3, 'depth RMSE m': 3}

    def fmt(value, title):
        return f'{value:.{digits.get(title, 1)}f}'

    def mean_std(cell, title):
        if cell['std'] is None:
            return fmt(cell['mean'], title)
        return f'{fmt(cell["mean"], title)} ± {fmt(cell["std"], title)}'

    head = ['config', 'seeds'] + titles
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for name, row in summary.items():
        cells = [name, ', '.join(map(str, row['seeds']))
                 ] + [mean_std(row[t], t) if t in row else 'n/a' for t in titles]
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines += [
        '', 'Per seed (in seed order):', '', '| config | ' + ' | '.join(titles) + ' |',
        '|' + '---|' * (len(titles) + 1)
    ]
    for name, row in summary.items():
        cells = [
            ', '.join(fmt(v, t) for v in row[t]['values']) if t in row else 'n/a' for t in titles
        ]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def bar_chart(summary: dict, path: Path) -> None:
    """Grouped bars of the detection mAPs (mean, ± std as error bars), one group per config.

    Args:
        summary (dict): :func:`summarise`'s output.
        path (Path): The image file to write.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    titles = [t for _, t, _ in METRICS[:3]]
    names = list(summary)
    width = 0.8 / len(titles)
    fig, ax = plt.subplots(figsize=(max(6., 1.4 * len(names)), 4.))
    for i, title in enumerate(titles):
        means = [summary[n][title]['mean'] if title in summary[n] else 0. for n in names]
        stds = [(summary[n][title]['std'] or 0.) if title in summary[n] else 0. for n in names]
        xs = [k + (i - (len(titles) - 1) / 2) * width for k in range(len(names))]
        ax.bar(xs, means, width, yerr=stds, capsize=3, label=title)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha='right', fontsize=8)
    ax.set_ylabel('%')
    seeds = sorted({len(summary[n]['seeds']) for n in names})
    ax.set_title(f'mean ± std over {"/".join(map(str, seeds))} seed(s)')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(results: Dict[str, Dict[int, dict]],
                 out_dir: Path,
                 pairs: Optional[Sequence[tuple]] = None) -> Dict[str, Path]:
    """Write ``ablation.md``, ``ablation.json`` (summary, paired differences and raw per-seed
    metrics) and ``ablation.png``.

    Args:
        results (dict[str, dict[int, dict]]): ``{config name: {seed: metrics}}``.
        out_dir (Path): Where they go.
        pairs (Sequence[tuple], optional): The ``(a, b)`` config names compared as a - b.
            Defaults to :func:`default_pairs`.

    Returns:
        dict[str, Path]: Paths keyed ``markdown``, ``json`` and ``chart``.
    """
    summary = summarise(results)
    paired = paired_differences(summary, default_pairs(summary) if pairs is None else pairs)
    paths = dict(
        markdown=Path(out_dir) / 'ablation.md',
        json=Path(out_dir) / 'ablation.json',
        chart=Path(out_dir) / 'ablation.png')
    os.makedirs(out_dir, exist_ok=True)
    markdown = to_markdown(summary)
    if paired:
        markdown += '\n' + paired_markdown(paired)
    paths['markdown'].write_text(markdown)
    paths['json'].write_text(
        json.dumps(dict(summary=summary, paired=paired, runs=results), indent=2))
    bar_chart(summary, paths['chart'])
    return paths
