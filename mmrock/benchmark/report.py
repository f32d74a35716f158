"""Summaries of model benchmark records: overheads against a baseline, JSON, markdown."""
import json
from statistics import median
from typing import Dict, List, Optional, Sequence


def pick_baseline(records: Sequence[dict], name: Optional[str] = None) -> Optional[str]:
    """The baseline config of a benchmark.

    Args:
        records (Sequence[dict]): One record per config.
        name (str, optional): The baseline's name. Defaults to None.

    Returns:
        str | None: ``name`` if given, else the first config without a ROCK block (the SSD
        baseline); None when there is none.

    Raises:
        ValueError: ``name`` is not among the configs.
    """
    names = [r['name'] for r in records]
    if name is not None:
        if name not in names:
            raise ValueError(f'baseline {name!r} is not among the configs {names}')
        return name
    for r in records:
        if 'rock_params_m' not in r.get('complexity', {}):
            return r['name']
    return None


def overheads(records: Sequence[dict], baseline: str) -> Dict[str, Dict[str, float]]:
    """Per config and block: extra time per image over the baseline, in percent
    (config time / baseline time - 1; the 18% of ROCK's re-implementation is 65.9 / 55.8 - 1):
    the median over rounds of the ratio of the two iterations of the same round, run one
    after the other.

    Args:
        records (Sequence[dict]): One record per config.
        baseline (str): The baseline's name.

    Returns:
        dict[str, dict[str, float]]: ``{config: {block: percent}}``, the baseline left out.
    """
    base = next(r for r in records if r['name'] == baseline)['throughput']
    out = {}
    for r in records:
        if r['name'] == baseline:
            continue
        out[r['name']] = {
            key: 100 * (median(x / b for b, x in zip(base[key]['seconds'], t['seconds'])) - 1)
            for key, t in r['throughput'].items() if key in base
        }
    return out


def build_report(records: List[dict],
                 settings: dict,
                 env: dict,
                 command: str,
                 baseline: Optional[str] = None) -> dict:
    """The benchmark report.

    Args:
        records (list[dict]): One record per config.
        settings (dict): The benchmark's settings.
        env (dict): :func:`~mmrock.benchmark.env_info.environment`'s output.
        command (str): The command line run.
        baseline (str, optional): See :func:`pick_baseline`. Defaults to None.

    Returns:
        dict: ``command``, ``environment``, ``settings``, ``baseline``, ``configs`` and
        ``overhead_pct``.
    """
    baseline = pick_baseline(records, baseline)
    return dict(
        command=command,
        environment=env,
        settings=settings,
        baseline=baseline,
        configs=records,
        overhead_pct=overheads(records, baseline) if baseline else {})


def write_json(report: dict, path: str) -> None:
    """Write a report as indented JSON.

    Args:
        report (dict): The report.
        path (str): The file.
    """
    with open(path, 'w') as f:
        json.dump(report, f, indent=2)
        f.write('\n')


def _fmt(value, digits: int = 2) -> str:
    return '–' if value is None else f'{value:.{digits}f}'


def block_label(key: str) -> str:
    """The label of a measurement block.

    Args:
        key (str): Its key, ``<phase>_bs<batch size>``.

    Returns:
        str: E.g. ``'infer+post bs2'``.
    """
    phase, bs = key.rsplit('_bs', 1)
    return dict(train='train', predict='infer+post', tensor='infer net')[phase] + f' bs{bs}'


def to_markdown(report: dict) -> str:
    """Markdown tables: throughput (img/s, median of repeats) and overhead over the baseline;
    memory; parameters and multiply-adds.

    Args:
        report (dict): :func:`build_report`'s output.

    Returns:
        str: The markdown.
    """
    records = report['configs']
    keys = list(records[0]['throughput'])
    env, s = report['environment'], report['settings']
    lines = [
        f"Device: {env['device']}" + (f" ({env['gpu']})" if 'gpu' in env else '') +
        f"; CPU: {env['cpu']}, {env['cpu_count']} cores, torch {env['torch']} "
        f"({env['torch_threads']} threads); {env['date']}; load average (1, 5, 15 min) "
        f"{env.get('load_average_start')} at start, {env.get('load_average')} at end.",
        f"Input {s['input_hw'][0]}x{s['input_hw'][1]}, amp={s['amp']}, "
        f"channels_last={s['channels_last']}, BN folded for inference="
        f"{s.get('fuse_conv_bn', False)}; per config and block {s['repeats']} repeats x "
        f"{s['iters']} timed iterations (after {s['warmup']} warm-up), configs alternating "
        'iteration by iteration; img/s = batch size / median iteration time (in brackets: '
        '/ fastest iteration); synthetic in-memory batches (data loading excluded).', '',
        '| config | ' + ' | '.join(f'{block_label(k)} (img/s)'
                                   for k in keys) + ' |', '|---|' + '---:|' * len(keys)
    ]
    for r in records:
        cells = [r['throughput'][k] for k in keys]
        lines.append(f"| {r['name']} | " +
                     ' | '.join(f"{_fmt(t['img_per_s'])} ({_fmt(t['img_per_s_best'])})"
                                for t in cells) + ' |')
    dets = [(r['name'], {
        k: t['dets_per_img']
        for k, t in r['throughput'].items() if 'dets_per_img' in t
    }) for r in records]
    if any(d for _, d in dets):
        lines += [
            '', 'Boxes kept per image by the post-processing (random initial weights: NMS '
            'work differs from a trained model\'s): ' +
            '; '.join(f'{name} ' + ', '.join(f'{v:.0f} ({block_label(k)})' for k, v in d.items())
                      for name, d in dets) + '.'
        ]
    if report['overhead_pct']:
        lines += [
            '', f"Extra time per image over `{report['baseline']}` (%, median over rounds "
            'of the paired iteration-time ratios):', '',
            '| config | ' + ' | '.join(block_label(k) for k in keys) + ' |',
            '|---|' + '---:|' * len(keys)
        ]
        for name, over in report['overhead_pct'].items():
            lines.append(f'| {name} | ' + ' | '.join(f'{over[k]:+.1f}' if k in over else '–'
                                                     for k in keys) + ' |')
    if any(r['memory_mib'] for r in records):
        cuda = env['device'].startswith('cuda')
        what = ('peak allocated / growth during one iteration' if cuda else
                'peak RSS growth during one iteration (model and optimiser state excluded)')
        lines += [
            '', f'Memory (MiB, {what}):', '',
            '| config | ' + ' | '.join(block_label(k) for k in keys) + ' |',
            '|---|' + '---:|' * len(keys)
        ]
        for r in records:
            cells = []
            for k in keys:
                mem = r['memory_mib'].get(k, {})
                cells.append(f"{_fmt(mem.get('peak'), 0)} / {_fmt(mem.get('growth'), 0)}"
                             if cuda else _fmt(mem.get('growth'), 0))
            lines.append(f"| {r['name']} | " + ' | '.join(cells) + ' |')
    lines += [
        '', 'Parameters and multiply-adds (one image, tensor mode):', '',
        '| config | params (M) | GMACs | backbone GMACs | ROCK block GMACs | '
        'ROCK / backbone |', '|---|---:|---:|---:|---:|---:|'
    ]
    for r in records:
        c = r['complexity']
        ratio = c.get('rock_over_backbone')
        lines.append(f"| {r['name']} | {_fmt(c['params_m'])} | {_fmt(c.get('gmacs'))} | "
                     f"{_fmt(c.get('backbone_gmacs'))} | {_fmt(c.get('rock_gmacs'))} | "
                     f"{'–' if ratio is None else f'{100 * ratio:.1f}%'} |")
    return '\n'.join(lines) + '\n'


def overhead_lines(report: dict) -> List[str]:
    """The overheads printed at the end of a run.

    Args:
        report (dict): :func:`build_report`'s output.

    Returns:
        list[str]: One line per config and block.
    """
    out = []
    for name, over in report['overhead_pct'].items():
        for key, pct in over.items():
            out.append(f"{name} vs {report['baseline']}: {block_label(key)}: {pct:+.1f}% "
                       'time per image')
    return out
