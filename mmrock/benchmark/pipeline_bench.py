"""Throughput of a config's data pipeline alone (loading + the full augmentation chain), per
worker process, with a per-transform profile; optionally on a generated synthetic NYUv2."""
import math
import os
import os.path as osp
import statistics
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

SPLIT_LOADERS = dict(train='train_dataloader', val='val_dataloader', test='test_dataloader')


def dataset_cfg(cfg: Config, split: str) -> dict:
    """The dataset config of a split's dataloader.

    Args:
        cfg (Config): The config.
        split (str): 'train', 'val' or 'test'.

    Returns:
        dict: The dataset config.
    """
    return cfg[SPLIT_LOADERS[split]]['dataset']


def annotation_path(ds_cfg: dict) -> str:
    """The annotation file of a dataset config, joined with its ``data_root``.

    Args:
        ds_cfg (dict): The dataset config.

    Returns:
        str: The path.
    """
    return osp.join(ds_cfg.get('data_root') or '', ds_cfg['ann_file'])


def make_synthetic_dataset(out_dir: str, num_images: int, seed: int = 0) -> str:
    """Generate ``num_images`` synthetic 480x640 rooms in the official NYUv2 layout under
    ``out_dir/raw`` and convert them into ``out_dir/nyuv2`` (reused when already there), with a
    val split as the configs read it when the rooms have train scenes to spare.

    Args:
        out_dir (str): The folder.
        num_images (int): Rooms to generate.
        seed (int): Seed of the generator. Defaults to 0.

    Returns:
        str: The data root (``out_dir/nyuv2/``).
    """
    from mmrock_data.converters import convert_nyuv2, make_synthetic_nyuv2
    raw, root = osp.join(out_dir, 'raw'), osp.join(out_dir, 'nyuv2')
    if not osp.exists(osp.join(root, 'annotations', 'nyuv2_train.json')):
        info = make_synthetic_nyuv2(raw, num_images, seed=seed, progress=False)
        convert_nyuv2(
            info['mat'],
            info['splits'],
            root,
            normals_dir=info['normals'],
            val_split=info['val_split'] if info['val_scenes'] else None,
            overwrite=True,
            progress=False)
    return root + '/'


def build_dataset(cfg: Config, split: str):
    """Build a split's dataset in the config's default scope.

    Args:
        cfg (Config): The config.
        split (str): 'train', 'val' or 'test'.

    Returns:
        BaseDataset: The dataset.
    """
    from mmdet.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return DATASETS.build(dataset_cfg(cfg, split))


def worker_threads(cfg: Config) -> None:
    """What a dataloader worker of the runner runs with: one torch thread (PyTorch's worker
    default) and OpenCV's thread count from ``env_cfg.mp_cfg`` (0 in the configs); set in this
    process.

    Args:
        cfg (Config): The config.
    """
    import cv2
    torch.set_num_threads(1)
    cv2.setNumThreads(cfg.get('env_cfg', {}).get('mp_cfg', {}).get('opencv_num_threads', 0))


class _TimedTransform:
    """Calls a pipeline transform and adds its wall-clock and CPU durations to
    ``totals[name]`` (a [wall, cpu] pair)."""

    def __init__(self, transform, name: str, totals: Dict[str, List[float]]) -> None:
        self.transform, self.name, self.totals = transform, name, totals

    def __call__(self, results):
        start, cpu = time.perf_counter(), time.process_time()
        out = self.transform(results)
        total = self.totals.setdefault(self.name, [0., 0.])
        total[0] += time.perf_counter() - start
        total[1] += time.process_time() - cpu
        return out


def _indices(dataset, num_images: int, offset: int = 0) -> List[int]:
    return [(offset + i) % len(dataset) for i in range(num_images)]


def profile_transforms(dataset, num_images: int, seed: int = 0) -> dict:
    """In this process (set up with :func:`worker_threads`): img/s of ``dataset[i]`` over
    ``num_images`` samples after 2 warm-up samples, and the mean milliseconds per sample of each
    transform; ``other`` is the rest (data info copy, retries of a sample the pipeline dropped).
    The same in CPU time of this process (``img_per_cpu_s``, ``cpu_ms_per_img``): what a core of
    its own would give, less sensitive to other processes' load.

    Args:
        dataset (BaseDataset): The dataset (its pipeline is wrapped, then restored).
        num_images (int): Timed samples.
        seed (int): numpy's seed (random augmentations). Defaults to 0.

    Returns:
        dict: ``img_per_s``, ``img_per_cpu_s``, ``num_images``, and ``ms_per_img`` /
        ``cpu_ms_per_img``: ``{transform: ms}``.
    """
    np.random.seed(seed)
    transforms = dataset.pipeline.transforms
    totals: Dict[str, List[float]] = {}
    names = []
    for i, t in enumerate(transforms):
        name = f'{i}:{type(t).__name__}'
        names.append(name)
        transforms[i] = _TimedTransform(t, name, totals)
    try:
        for idx in _indices(dataset, 2):
            dataset[idx]
        totals.clear()
        start, cpu = time.perf_counter(), time.process_time()
        for idx in _indices(dataset, num_images, offset=2):
            dataset[idx]
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        for i, t in enumerate(transforms):
            transforms[i] = t.transform
    out = dict(
        img_per_s=num_images / elapsed, img_per_cpu_s=num_images / cpu, num_images=num_images)
    for key, j, total in (('ms_per_img', 0, elapsed), ('cpu_ms_per_img', 1, cpu)):
        ms = {name: 1e3 * totals.get(name, (0., 0.))[j] / num_images for name in names}
        ms['other'] = 1e3 * total / num_images - sum(ms.values())
        out[key] = ms
    return out


def compare_pipelines(datasets: Dict[str, object], num_images: int, rounds: int, log=print) -> dict:
    """Profile each dataset's pipeline (:func:`profile_transforms`) ``rounds`` times,
    alternating, in this process (the same seed each round), so that both see the same load.

    Args:
        datasets (dict[str, BaseDataset]): The datasets, by name.
        num_images (int): Timed samples per profile.
        rounds (int): Profiles per dataset.
        log (Callable[[str], None]): Where the per-round lines go. Defaults to ``print``.

    Returns:
        dict: Per dataset its ``profiles``, and the medians ``img_per_s`` and
        ``img_per_cpu_s``.
    """
    runs: Dict[str, List[dict]] = {name: [] for name in datasets}
    for r in range(rounds):
        for name, dataset in datasets.items():
            runs[name].append(profile_transforms(dataset, num_images, seed=r))
            log(f"round {r}, {name}: {runs[name][-1]['img_per_s']:.1f} img/s, "
                f"{runs[name][-1]['img_per_cpu_s']:.1f} img per CPU s")
    return {
        name:
        dict(
            profiles=profiles,
            img_per_s=statistics.median(p['img_per_s'] for p in profiles),
            img_per_cpu_s=statistics.median(p['img_per_cpu_s'] for p in profiles))
        for name, profiles in runs.items()
    }


def _identity_collate(batch):
    return batch


def _seed_worker(worker_id: int) -> None:
    np.random.seed(1000 + worker_id)


def measure_workers(dataset, num_images: int, workers: int) -> dict:
    """Total and per-worker img/s of a DataLoader with ``workers`` processes (batch size 1, no
    collation), timed from the moment every worker has delivered its first sample (start-up
    and first-sample warm-up excluded).

    Args:
        dataset (BaseDataset): The dataset.
        num_images (int): Timed samples.
        workers (int): Worker processes (0: in this process).

    Returns:
        dict: ``workers``, ``img_per_s``, ``img_per_s_per_worker`` and ``num_images``.
    """
    warm = max(workers, 1)
    loader = DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        sampler=_indices(dataset, num_images + warm),
        collate_fn=_identity_collate,
        worker_init_fn=_seed_worker if workers else None,
        multiprocessing_context='fork' if workers else None)
    it = iter(loader)
    for _ in range(warm):
        next(it)
    start = time.perf_counter()
    count = sum(1 for _ in it)
    elapsed = time.perf_counter() - start
    total = count / elapsed
    return dict(
        workers=workers, img_per_s=total, img_per_s_per_worker=total / warm, num_images=count)


def workers_needed(target_img_per_s: float, per_worker: float) -> int:
    """Workers needed for a throughput.

    Args:
        target_img_per_s (float): The throughput wanted.
        per_worker (float): One worker's img/s.

    Returns:
        int: The number of workers (rounded up).
    """
    return math.ceil(target_img_per_s / per_worker)


def run_pipeline_benchmark(config: str,
                           split: str = 'train',
                           num_images: int = 50,
                           workers: Sequence[int] = (0, ),
                           cfg_options: Optional[dict] = None,
                           synthetic_dir: Optional[str] = None,
                           synthetic_images: int = 48,
                           target_img_per_s: float = 400.,
                           baseline: Optional[str] = None,
                           rounds: int = 3,
                           log=print) -> dict:
    """Profile the pipeline in-process, then time it with each number of ``workers``; with a
    ``baseline`` config, first profile both pipelines ``rounds`` times, alternating
    (:func:`compare_pipelines`), on the same data.

    Without the config's annotation file, a synthetic NYUv2 of ``synthetic_images`` images is
    generated into ``synthetic_dir`` (default ``work_dirs/benchmark_pipeline_data``) and used,
    with the split's pack when the config reads one.

    Args:
        config (str): Path of the config.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        num_images (int): Timed samples per measurement. Defaults to 50.
        workers (Sequence[int]): Numbers of DataLoader workers to time. Defaults to (0, ).
        cfg_options (dict, optional): Merged into the config. Defaults to None.
        synthetic_dir (str, optional): Folder of the synthetic NYUv2. Defaults to None.
        synthetic_images (int): Images of the synthetic NYUv2. Defaults to 48.
        target_img_per_s (float): Throughput for :func:`workers_needed`. Defaults to 400.
        baseline (str, optional): A config to compare the pipeline with. Defaults to None.
        rounds (int): Profiles per pipeline in the comparison. Defaults to 3.
        log (Callable[[str], None]): Where the progress lines go. Defaults to ``print``.

    Returns:
        dict: The result (``in_process`` profile, ``workers`` runs, ``workers_needed``,
        ``comparison``...), as :func:`pipeline_markdown` reads it.

    Raises:
        DataFormatError: A missing or bad data file (one line naming it).
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    ds = dataset_cfg(cfg, split)
    synthetic = None
    if not osp.exists(annotation_path(ds)):
        synthetic_dir = synthetic_dir or osp.join('work_dirs', 'benchmark_pipeline_data')
        log(f'{annotation_path(ds)} not found: using a synthetic NYUv2 of {synthetic_images} '
            f'images in {synthetic_dir}')
        ds['data_root'] = make_synthetic_dataset(synthetic_dir, synthetic_images)
        synthetic = dict(dir=synthetic_dir, images=synthetic_images)
        from mmrock.datasets.packed_split import pack_split, reads_pack
        if reads_pack(ds):  # the config trains from the split's decode-free pack: write it too
            pack_dir = osp.join(ds['data_root'], ds['pack'])
            if not osp.isfile(osp.join(pack_dir, 'index.json')):
                log(f'packing the synthetic {split} split into {pack_dir}')
                pack_split(
                    ds['ann_file'],
                    pack_dir,
                    data_root=ds['data_root'],
                    overwrite=True,
                    progress=False)
    worker_threads(cfg)
    dataset = build_dataset(cfg, split)
    log(f'{len(dataset)} {split} images in {ds["data_root"]}')
    comparison = None
    if baseline:
        base_cfg = Config.fromfile(baseline)
        if cfg_options:
            base_cfg.merge_from_dict(cfg_options)
        dataset_cfg(base_cfg, split)['data_root'] = ds['data_root']
        runs = compare_pipelines(
            dict(baseline=build_dataset(base_cfg, split), config=dataset),
            num_images,
            rounds,
            log=log)
        comparison = dict(
            baseline=baseline,
            rounds=rounds,
            runs=runs,
            speedup=statistics.median(
                c['img_per_s'] / b['img_per_s']
                for b, c in zip(runs['baseline']['profiles'], runs['config']['profiles'])),
            cpu_speedup=statistics.median(
                c['img_per_cpu_s'] / b['img_per_cpu_s']
                for b, c in zip(runs['baseline']['profiles'], runs['config']['profiles'])))
        log(f"{config} / {baseline}: {comparison['speedup']:.2f}x img/s, "
            f"{comparison['cpu_speedup']:.2f}x img per CPU s (medians over {rounds} rounds)")
    profile = profile_transforms(dataset, num_images)
    log(f"in-process: {profile['img_per_s']:.1f} img/s")
    runs = []
    for k in workers:
        runs.append(measure_workers(dataset, num_images, k))
        log(f"{k} workers: {runs[-1]['img_per_s']:.1f} img/s "
            f"({runs[-1]['img_per_s_per_worker']:.1f} per worker)")
    per_worker = profile['img_per_s']
    return dict(
        config=config,
        split=split,
        data_root=ds['data_root'],
        synthetic=synthetic,
        dataset_size=len(dataset),
        pipeline=[t['type'] for t in ds['pipeline']],
        in_process=profile,
        workers=runs,
        target_img_per_s=target_img_per_s,
        workers_needed=workers_needed(target_img_per_s, per_worker),
        cpu_count=os.cpu_count(),
        comparison=comparison,
        load_average=os.getloadavg())


def _profile_rows(prof: dict) -> List[str]:
    return [
        f"| {name} | {ms:.2f} | {prof['cpu_ms_per_img'][name]:.2f} |"
        for name, ms in prof['ms_per_img'].items()
    ]


def pipeline_markdown(result: dict) -> str:
    """Markdown summary of a pipeline benchmark.

    Args:
        result (dict): :func:`run_pipeline_benchmark`'s output.

    Returns:
        str: The tables.
    """
    prof = result['in_process']
    lines = [
        f"Pipeline `{result['split']}` of `{result['config']}` on {result['dataset_size']} "
        f"images of {result['data_root']}" + (' (synthetic)' if result['synthetic'] else '') +
        ', load average {:.1f} / {:.1f} / {:.1f}'.format(*result['load_average']) +
        f", {result['cpu_count']} CPUs:", '', '| run | img/s | img/s per worker |',
        '|---|---:|---:|', f"| in-process (1 worker's threads) | {prof['img_per_s']:.1f} | "
        f"{prof['img_per_s']:.1f} |",
        f"| in-process, per CPU second of the process | {prof['img_per_cpu_s']:.1f} | "
        f"{prof['img_per_cpu_s']:.1f} |"
    ]
    for r in result['workers']:
        lines.append(f"| DataLoader, {r['workers']} workers | {r['img_per_s']:.1f} | "
                     f"{r['img_per_s_per_worker']:.1f} |")
    lines += [
        '', f"Workers needed for {result['target_img_per_s']:.0f} img/s at the "
        f"in-process rate: {result['workers_needed']}.", '',
        '| transform | ms per image | CPU ms per image |', '|---|---:|---:|'
    ]
    lines += _profile_rows(prof)
    comp = result.get('comparison')
    if comp:
        base, new = comp['runs']['baseline'], comp['runs']['config']
        lines += [
            '', f"Against `{comp['baseline']}`, alternating in this process, "
            f"{comp['rounds']} rounds of {prof['num_images']} images (medians):", '',
            '| pipeline | img/s | img per CPU s |', '|---|---:|---:|',
            f"| `{comp['baseline']}` | {base['img_per_s']:.1f} | "
            f"{base['img_per_cpu_s']:.1f} |", f"| `{result['config']}` | {new['img_per_s']:.1f} | "
            f"{new['img_per_cpu_s']:.1f} |",
            f"| ratio (median of the rounds') | {comp['speedup']:.2f}x | "
            f"{comp['cpu_speedup']:.2f}x |", '',
            f"`{comp['baseline']}` per transform (first round):", '',
            '| transform | ms per image | CPU ms per image |', '|---|---:|---:|'
        ]
        lines += _profile_rows(base['profiles'][0])
    return '\n'.join(lines) + '\n'
