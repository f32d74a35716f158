#!/usr/bin/env python
"""The train pipeline with mmrock/datasets/transforms/geometry.py as of a given commit (before the
speed-ups) against the working tree's: outputs bitwise equal (same seed), then in-process speed,
the two alternating.

    python benchmarks/scripts/geometry_speedup_check.py DATA_ROOT [--commit f623cd0] \
        [--samples 200] [--repeats 3] [--out benchmarks/pipeline_geometry_before_after.json]
"""
import argparse
import os.path as osp
import statistics
import subprocess
import sys
import types

import numpy as np
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmrock.benchmark.pipeline_bench import (build_dataset, profile_transforms,  # noqa: E402
                                             worker_threads)
from mmrock.benchmark.report import write_json  # noqa: E402
from mmrock.datasets.transforms import geometry  # noqa: E402

PATCHED = (('MultiTaskExpand', 'transform'), ('FixedRatioMinIoURandomCrop', 'transform'),
           ('FixedRatioMinIoURandomCrop', '_crop'))


def implementation(module) -> dict:
    return {(cls, name): getattr(getattr(module, cls), name) for cls, name in PATCHED}


def use(impl: dict) -> None:
    for (cls, name), fn in impl.items():
        setattr(getattr(geometry, cls), name, fn)


def old_module(commit: str):
    src = subprocess.run(['git', 'show', f'{commit}:mmrock/datasets/transforms/geometry.py'],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    module = types.ModuleType('geometry_' + commit)
    exec(compile(src.replace('@TRANSFORMS.register_module()', ''), module.__name__, 'exec'),
         module.__dict__)
    return module


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument('data_root')
    p.add_argument('--commit', default='f623cd0')
    p.add_argument('--samples', type=int, default=200)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--out')
    args = p.parse_args()
    cfg = Config.fromfile(osp.join(REPO, 'configs/rock/ssd_r50_rock_nyuv2.py'))
    cfg.train_dataloader.dataset.data_root = args.data_root
    worker_threads(cfg)
    dataset = build_dataset(cfg, 'train')
    impls = {args.commit: implementation(old_module(args.commit)),
             'working tree': implementation(geometry)}

    outputs = {}
    for name, impl in impls.items():
        use(impl)
        np.random.seed(7)
        outputs[name] = [dataset[i % len(dataset)] for i in range(args.samples)]
    for a, b in zip(*outputs.values()):
        sa, sb = a['data_samples'], b['data_samples']
        assert torch.equal(a['inputs'], b['inputs'])
        assert torch.equal(sa.gt_instances.bboxes.tensor, sb.gt_instances.bboxes.tensor)
        assert torch.equal(sa.gt_instances.labels, sb.gt_instances.labels)
        assert torch.equal(sa.gt_depth.data, sb.gt_depth.data)
        assert torch.equal(sa.gt_normals.data, sb.gt_normals.data)
        assert sa.metainfo['img_shape'] == sb.metainfo['img_shape']
    print(f'bitwise identical outputs on {args.samples} samples')

    runs = {name: [] for name in impls}
    for rep in range(args.repeats):
        for name, impl in impls.items():
            use(impl)
            runs[name].append(profile_transforms(dataset, 40, seed=rep))
    result = dict(identical_samples=args.samples, data_root=args.data_root, speed={})
    for name, profiles in runs.items():
        result['speed'][name] = dict(
            img_per_s=[p['img_per_s'] for p in profiles],
            ms_per_img_median={k: statistics.median(p['ms_per_img'][k] for p in profiles)
                               for k in profiles[0]['ms_per_img']})
        print(name, [round(p['img_per_s'], 1) for p in profiles], 'img/s')
    if args.out:
        write_json(result, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
