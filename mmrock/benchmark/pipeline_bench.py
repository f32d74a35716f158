"""Throughput of a config's data pipeline alone (loading + the full augmentation chain), per
worker process, with a per-transform profile; optionally on a generated synthetic NYUv2."""
import math
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

SPLIT_LOADERS = dict(train='train_dataloader', val='val_dataloader', test='test_dataloader')


def dataset_cfg(cfg: Config, split: str) -> dict:
    return cfg[SPLIT_LOADERS[split]]['dataset']


def annotation_path(ds_cfg: dict) -> str:
    return osp.join(ds_cfg.get('data_root') or '', ds_cfg['ann_file'])


def make_synthetic_dataset(out_dir: str, num_images: int, seed: int = 0) -> str:
    """Generate ``num_images`` synthetic 480x640 rooms in the official NYUv2 layout under
    ``out_dir/raw`` and convert them into ``out_dir/nyuv2`` (reused when already there), with a
    val split as the configs read it when the rooms have train scenes to spare. Returns the data
    root (``out_dir/nyuv2/``)."""
    from mmrock.datasets.converters import convert_nyuv2, make_synthetic_nyuv2
    raw, root = osp.join(out_dir, 'raw'), osp.join(out_dir, 'nyuv2')
    if not osp.exists(osp.join(root, 'annotations', 'nyuv2_train.json')):
        info = make_synthetic_nyuv2(raw, num_images, seed=seed, progress=False)
        convert_nyuv2(info['mat'], info['splits'], root, normals_dir=info['normals'],
                      val_split=info['val_split'] if info['val_scenes'] else None,
                      overwrite=True, progress=False)
    return root + '/'


def build_dataset(cfg: Config, split: str):
    from mmdet.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return DATASETS.build(dataset_cfg(cfg, split))


def worker_threads(cfg: Config) -> None:
    """What a dataloader worker of the runner runs with: one torch thread (PyTorch's worker
    default) and OpenCV's thread count from ``env_cfg.mp_cfg`` (0 in the configs)."""
    import cv2
    torch.set_num_threads(1)
    cv2.setNumThreads(cfg.get('env_cfg', {}).get('mp_cfg', {}).get('opencv_num_threads', 0))


class _TimedTransform:
    """Calls a pipeline transform and adds its duration to ``totals[name]``."""

    def __init__(self, transform, name: str, totals: Dict[str, float]) -> None:
        self.transform, self.name, self.totals = transform, name, totals

    def __call__(self, results):
        start = time.perf_counter()
        out = self.transform(results)
        self.totals[self.name] = self.totals.get(self.name, 0.) + time.perf_counter() - start
        return out


def _indices(dataset, num_images: int, offset: int = 0) -> List[int]:
    return [(offset + i) % len(dataset) for i in range(num_images)]


def profile_transforms(dataset, num_images: int, seed: int = 0) -> dict:
    """In this process (set up with :func:`worker_threads`): img/s of ``dataset[i]`` over
    ``num_images`` samples after 2 warm-up samples, and the mean milliseconds per sample of each
    transform; ``other`` is the rest (data info copy, retries of a sample the pipeline dropped)."""
    np.random.seed(seed)
    transforms = dataset.pipeline.transforms
    totals: Dict[str, float] = {}
    names = []
    for i, t in enumerate(transforms):
        name = f'{i}:{type(t).__name__}'
        names.append(name)
        transforms[i] = _TimedTransform(t, name, totals)
    try:
        for idx in _indices(dataset, 2):
            dataset[idx]
        totals.clear()
        start = time.perf_counter()
        for idx in _indices(dataset, num_images, offset=2):
            dataset[idx]
        elapsed = time.perf_counter() - start
    finally:
        for i, t in enumerate(transforms):
            transforms[i] = t.transform
    ms = {name: 1e3 * totals.get(name, 0.) / num_images for name in names}
    ms['other'] = 1e3 * elapsed / num_images - sum(ms.values())
    return dict(img_per_s=num_images / elapsed, ms_per_img=ms, num_images=num_images)


def _identity_collate(batch):
    return batch


def _seed_worker(worker_id: int) -> None:
    np.random.seed(1000 + worker_id)


def measure_workers(dataset, num_images: int, workers: int) -> dict:
    """Total and per-worker img/s of a DataLoader with ``workers`` processes (batch size 1, no
    collation), timed from the moment every worker has delivered its first sample (start-up
    and first-sample warm-up excluded)."""
    warm = max(workers, 1)
    loader = DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers,
                        sampler=_indices(dataset, num_images + warm), collate_fn=_identity_collate,
                        worker_init_fn=_seed_worker if workers else None,
                        multiprocessing_context='fork' if workers else None)
    it = iter(loader)
    for _ in range(warm):
        next(it)
    start = time.perf_counter()
    count = sum(1 for _ in it)
    elapsed = time.perf_counter() - start
    total = count / elapsed
    return dict(workers=workers, img_per_s=total, img_per_s_per_worker=total / warm,
                num_images=count)


def workers_needed(target_img_per_s: float, per_worker: float) -> int:
    return math.ceil(target_img_per_s / per_worker)


def run_pipeline_benchmark(config: str, split: str = 'train', num_images: int = 50,
                           workers: Sequence[int] = (0, ), cfg_options: Optional[dict] = None,
                           synthetic_dir: Optional[str] = None, synthetic_images: int = 48,
                           target_img_per_s: float = 400., log=print) -> dict:
    """Profile the pipeline in-process, then time it with each number of ``workers``.

    Without the config's annotation file, a synthetic NYUv2 of ``synthetic_images`` images is
    generated into ``synthetic_dir`` (default ``work_dirs/benchmark_pipeline_data``) and used.
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
    worker_threads(cfg)
    dataset = build_dataset(cfg, split)
    log(f'{len(dataset)} {split} images in {ds["data_root"]}')
    profile = profile_transforms(dataset, num_images)
    log(f"in-process: {profile['img_per_s']:.1f} img/s")
    runs = []
    for k in workers:
        runs.append(measure_workers(dataset, num_images, k))
        log(f"{k} workers: {runs[-1]['img_per_s']:.1f} img/s "
            f"({runs[-1]['img_per_s_per_worker']:.1f} per worker)")
    per_worker = profile['img_per_s']
    return dict(config=config, split=split, data_root=ds['data_root'], synthetic=synthetic,
                dataset_size=len(dataset), pipeline=[t['type'] for t in ds['pipeline']],
                in_process=profile, workers=runs, target_img_per_s=target_img_per_s,
                workers_needed=workers_needed(target_img_per_s, per_worker),
                cpu_count=os.cpu_count())


def pipeline_markdown(result: dict) -> str:
    prof = result['in_process']
    lines = [f"Pipeline `{result['split']}` of `{result['config']}` on {result['dataset_size']} "
             f"images of {result['data_root']}"
             + (' (synthetic)' if result['synthetic'] else '') + ':', '',
             '| run | img/s | img/s per worker |', '|---|---:|---:|',
             f"| in-process (1 worker's threads) | {prof['img_per_s']:.1f} | "
             f"{prof['img_per_s']:.1f} |"]
    for r in result['workers']:
        lines.append(f"| DataLoader, {r['workers']} workers | {r['img_per_s']:.1f} | "
                     f"{r['img_per_s_per_worker']:.1f} |")
    lines += ['', f"Workers needed for {result['target_img_per_s']:.0f} img/s at the "
              f"in-process rate: {result['workers_needed']}.", '',
              '| transform | ms per image |', '|---|---:|']
    lines += [f'| {name} | {ms:.2f} |' for name, ms in prof['ms_per_img'].items()]
    return '\n'.join(lines) + '\n'
