#!/usr/bin/env python
"""The train pipelines with the geometric transforms of a git ref (before) against the working
tree's (after), in one process: samples bit for bit equal (same seed), then speed, the two
alternating, for the packed + fused pipeline and the PNG step-by-step one.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/scripts/geometry_mechanism_before_after.py \
        [--ref main] [--data-dir work_dirs/benchmark_pipeline_data] [--images 24] \
        [--samples 100] [--num-images 40] [--rounds 5] [--pipelines 'packed fused' ...] \
        [--out results.json]

The ref's ``geometry.py``, ``fused_geometry.py``, ``multitask_pipeline.py`` and ``loading.py``
are loaded as a separate package whose classes are not registered: its pipelines are built
from them (other transforms from the registry).
"""
import argparse
import copy
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import import_module

import numpy as np
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmrock.benchmark import pipeline_bench  # noqa: E402
from mmrock.benchmark.report import write_json  # noqa: E402

CONFIGS = {
    'packed fused': 'configs/rock/ssd_r50_rock_nyuv2.py',
    'png step by step': 'configs/rock/ssd_r50_rock_nyuv2_png.py'
}
REF_MODULES = ('loading', 'multitask_pipeline', 'geometry', 'fused_geometry')
REF_PACKAGE = 'mmrock_ref_transforms'


def load_ref(ref: str, tmp: str) -> dict:
    """Load the ref's transform modules as the package ``REF_PACKAGE`` under ``tmp``.

    Args:
        ref (str): A git ref.
        tmp (str): A scratch folder.

    Returns:
        dict: The ref's classes by name (unregistered; its ``FusedGeometry`` builds its steps
        from them), and ``build``: a builder of configs from them, else from the registry.
    """
    package = osp.join(tmp, REF_PACKAGE)
    os.makedirs(package)
    open(osp.join(package, '__init__.py'), 'w').close()
    for name in REF_MODULES:
        src = subprocess.run(['git', 'show', f'{ref}:mmrock/datasets/transforms/{name}.py'],
                             cwd=REPO,
                             capture_output=True,
                             text=True,
                             check=True).stdout
        src = src.replace('@TRANSFORMS.register_module()\n',
                          '').replace('TRANSFORMS.build(', 'ref_build(')
        with open(osp.join(package, f'{name}.py'), 'w') as f:
            f.write(src)
    sys.path.insert(0, tmp)
    classes = {}

    def ref_build(cfg: dict):
        from mmdet.registry import TRANSFORMS
        cfg = dict(cfg)
        cls = classes.get(cfg['type'])
        if cls is None:
            return TRANSFORMS.build(cfg)
        cfg.pop('type')
        return cls(**cfg)

    for name in REF_MODULES:
        module = import_module(f'{REF_PACKAGE}.{name}')
        module.ref_build = ref_build
        classes.update({k: v for k, v in vars(module).items() if isinstance(v, type)})
    classes['build'] = ref_build
    return classes


def same_samples(a, b, samples: int) -> None:
    """Assert that ``samples`` outputs of datasets ``a`` and ``b`` from the same seed are bit
    for bit equal (image, boxes, labels, depth, normals, image shape).

    Args:
        a: A dataset.
        b: Another with the same data.
        samples (int): Samples compared.
    """
    outputs = []
    for dataset in (a, b):
        np.random.seed(7)
        outputs.append([dataset[i % len(dataset)] for i in range(samples)])
    for x, y in zip(*outputs):
        sx, sy = x['data_samples'], y['data_samples']
        assert torch.equal(x['inputs'], y['inputs'])
        assert torch.equal(sx.gt_instances.bboxes.tensor, sy.gt_instances.bboxes.tensor)
        assert torch.equal(sx.gt_instances.labels, sy.gt_instances.labels)
        assert torch.equal(sx.gt_depth.data, sy.gt_depth.data)
        assert torch.equal(sx.gt_normals.data, sy.gt_normals.data)
        assert sx.metainfo['img_shape'] == sy.metainfo['img_shape']


def time_geometry(before, after, samples: int, rounds: int) -> dict:
    """CPU milliseconds per sample of the geometric transforms alone (the steps of ``after``'s
    pipeline that move the dense labels, and the same steps of ``before``'s), on the same inputs
    (loaded and colour-distorted once, copied before each timed pass), the same seed, in the
    order before, after / after, before in alternate rounds.

    Args:
        before: The dataset with the ref's transforms.
        after: The same dataset with the working tree's.
        samples (int): Inputs timed per pass.
        rounds (int): Passes of each.

    Returns:
        dict: The steps, the CPU ms per sample of each pass, and the speed ratios (before's
        time over after's) per round and their median.
    """
    movers = [
        i for i, t in enumerate(after.pipeline.transforms)
        if getattr(type(t), 'moves_dense_labels', False)
    ]
    steps = {
        name: dataset.pipeline.transforms[movers[0]:movers[-1] + 1]
        for name, dataset in (('before', before), ('after', after))
    }
    np.random.seed(11)
    inputs = []
    for i in range(samples):
        results = after.get_data_info(i % len(after))
        for t in after.pipeline.transforms[:movers[0]]:
            results = t(results)
        inputs.append(results)
    cpu_ms = {'before': [], 'after': []}
    for r in range(rounds):
        for name in ('before', 'after') if r % 2 == 0 else ('after', 'before'):
            copies = copy.deepcopy(inputs)
            np.random.seed(r)
            start = time.process_time()
            for results in copies:
                for t in steps[name]:
                    results = t(results)
            cpu_ms[name].append(1e3 * (time.process_time() - start) / samples)
    ratio = [b / a for a, b in zip(cpu_ms['after'], cpu_ms['before'])]
    return dict(
        steps=[type(t).__name__ for t in steps['after']],
        cpu_ms_per_img=cpu_ms,
        speed_after_over_before_per_round=ratio,
        speed_after_over_before_median=statistics.median(ratio))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument('--ref', default='main')
    p.add_argument('--data-dir', default=osp.join('work_dirs', 'benchmark_pipeline_data'))
    p.add_argument('--images', type=int, default=24, help='synthetic NYUv2 images')
    p.add_argument('--samples', type=int, default=100, help='samples compared bit for bit')
    p.add_argument('--num-images', type=int, default=40, help='timed samples per round')
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--pipelines', nargs='+', choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument(
        '--geometry-samples',
        type=int,
        default=30,
        help='inputs of the geometric transforms timed alone')
    p.add_argument('--geometry-rounds', type=int, default=10)
    p.add_argument('--out')
    args = p.parse_args()
    from mmrock.datasets.packed_split import pack_split
    data_root = pipeline_bench.make_synthetic_dataset(args.data_dir, args.images)
    result = dict(ref=args.ref, data_root=data_root, identical_samples=args.samples, speed={})
    with tempfile.TemporaryDirectory() as tmp:
        ref = load_ref(args.ref, tmp)
        for name in args.pipelines:
            cfg = Config.fromfile(osp.join(REPO, CONFIGS[name]))
            ds = cfg.train_dataloader.dataset
            ds.data_root = data_root
            if ds.get('pack') and not osp.isfile(osp.join(data_root, ds.pack, 'index.json')):
                pack_split(
                    ds.ann_file,
                    osp.join(data_root, ds.pack),
                    data_root=data_root,
                    overwrite=True,
                    progress=False)
            pipeline_bench.worker_threads(cfg)
            after = pipeline_bench.build_dataset(cfg, 'train')
            before = pipeline_bench.build_dataset(cfg, 'train')
            before.pipeline.transforms[:] = [ref['build'](t) for t in ds.pipeline]
            assert any(
                type(t).__module__.startswith(REF_PACKAGE) for t in before.pipeline.transforms)
            same_samples(before, after, args.samples)
            print(f'{name}: {args.samples} samples bit for bit equal')
            speed = pipeline_bench.compare_pipelines({
                'before': before,
                'after': after
            }, args.num_images, args.rounds)
            ratio = [
                a['img_per_s'] / b['img_per_s']
                for a, b in zip(speed['after']['profiles'], speed['before']['profiles'])
            ]
            result['speed'][name] = dict(
                before_img_per_s=[p['img_per_s'] for p in speed['before']['profiles']],
                after_img_per_s=[p['img_per_s'] for p in speed['after']['profiles']],
                after_over_before_per_round=ratio,
                after_over_before_median=statistics.median(ratio),
                after_over_before_cpu=speed['after']['img_per_cpu_s'] /
                speed['before']['img_per_cpu_s'],
                cpu_ms_per_img_median={
                    version: {
                        step:
                        statistics.median(p['cpu_ms_per_img'][step]
                                          for p in speed[version]['profiles'])
                        for step in speed[version]['profiles'][0]['cpu_ms_per_img']
                    }
                    for version in ('before', 'after')
                })
            print(f"{name}: after / before {statistics.median(ratio):.3f} (median of rounds), "
                  f"CPU {result['speed'][name]['after_over_before_cpu']:.3f}")
            geometry = time_geometry(before, after, args.geometry_samples, args.geometry_rounds)
            result['speed'][name]['geometry_alone'] = geometry
            print(f"{name}, {'+'.join(geometry['steps'])} alone: speed after / before "
                  f"{geometry['speed_after_over_before_median']:.3f} (median of rounds, CPU)")
    if args.out:
        write_json(result, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
