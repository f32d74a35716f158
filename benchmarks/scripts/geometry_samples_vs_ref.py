#!/usr/bin/env python
"""The geometric transforms' samples of the working tree against those of a git ref: bit for bit,
for fixed seeds, over step-by-step chains (stock pipelines converted by ``multitask_pipeline``,
masks and seg maps included), and the fused chain from decoded labels and from codes.

    python benchmarks/scripts/geometry_samples_vs_ref.py [--ref main] [--seeds 40]

Each tree samples in its own process (``--sample OUT``: pickled samples); the two are compared.
"""
import argparse
import os
import os.path as osp
import pickle
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MEAN = [123.675, 116.28, 103.53]
CHAINS = {
    'paper': [
        dict(type='Expand', mean=MEAN, to_rgb=True, ratio_range=(1, 4), prob=0.5),
        dict(type='FixedRatioMinIoURandomCrop', min_crop_size=0.3),
        dict(type='Resize', scale=(64, 50), keep_ratio=False),
        dict(type='RandomFlip', prob=0.5)
    ],
    'mmdet_chain': [
        dict(type='Expand', mean=MEAN, ratio_range=(1, 3), prob=0.8, seg_ignore_label=7),
        dict(type='MinIoURandomCrop', min_crop_size=0.3),
        dict(type='RandomResize', scale=(100, 40), ratio_range=(0.5, 1.5), keep_ratio=True),
        dict(type='RandomFlip', prob=[0.3, 0.3], direction=['vertical', 'diagonal'])
    ],
    'crops_and_pads': [
        dict(type='Pad', size=(40, 100)),  # narrower than the image: impad never crops
        dict(
            type='RandomCrop',
            crop_size=(0.5, 0.7),
            crop_type='relative_range',
            allow_negative_crop=True),
        dict(type='Pad', size_divisor=32),
        dict(
            type='RandomCrop',
            crop_size=(20, 50),
            crop_type='absolute_range',
            allow_negative_crop=True,
            recompute_bbox=True),
        dict(type='Pad', size=(96, 72), pad_val=dict(img=5, seg=9, masks=0)),
        dict(type='RandomChoiceResize', scales=[(50, 40), (120, 90)], keep_ratio=False),
        dict(type='Pad', pad_to_square=True, padding_mode='reflect'),
    ],
}


def make_sample(seed: int, h: int = 60, w: int = 80) -> dict:
    """A random sample: image, 0-4 boxes with masks, seg map, depth and normals codes."""
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 5))
    xy = rng.uniform(0, [w - 10, h - 10], (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(4, 40, (n, 2))], 1).clip(0, [w, h, w, h])
    masks = np.zeros((n, h, w), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
        masks[i, y1:y2, x1:x2] = 1
    depth = rng.integers(0, 10000, (h, w)).astype(np.uint16)
    depth[rng.random((h, w)) < 0.1] = 0
    normals = rng.integers(0, 256, (h, w, 4)).astype(np.uint8)
    normals[..., 3] = np.where(rng.random((h, w)) < 0.1, 0, 255)
    return dict(
        img=rng.uniform(-20, 280, (h, w, 3)).astype(np.float32),
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_bboxes=HorizontalBoxes(boxes.astype(np.float32)),
        gt_bboxes_labels=rng.integers(0, 19, n),
        gt_ignore_flags=np.zeros(n, bool),
        gt_masks=BitmapMasks(masks, h, w),
        gt_seg_map=rng.integers(0, 40, (h, w)).astype(np.uint8),
        dense_codes=dict(depth=depth, normals=normals, depth_scale=1000.))


def decoded(sample: dict) -> dict:
    """The sample as ``LoadMultiTaskAnnotations(decode_dense=True)`` gives it."""
    from mmrock.datasets.transforms.loading import decode_depth, decode_normals
    codes = sample.pop('dense_codes')
    sample['gt_depth'] = decode_depth(codes['depth'], codes['depth_scale'])
    sample['gt_normals'] = decode_normals(codes['normals']).transpose(1, 2, 0)
    return sample


def plain(results):
    """Pickle-able values: boxes and masks as arrays, the rest as is."""
    if results is None:
        return None
    out = {}
    for key, value in results.items():
        if key == 'gt_bboxes':
            value = value.numpy()
        elif key == 'gt_masks':
            value = value.masks
        out[key] = np.ascontiguousarray(value) if isinstance(value, np.ndarray) else value
    return out


def sample_all(seeds: int) -> dict:
    """The outputs of every chain for each seed: step by step, and fused for fusable chains."""
    from mmcv.transforms import Compose

    from mmrock.datasets import fused_pipeline, multitask_pipeline
    out = {}
    for name, chain in CHAINS.items():
        steps = Compose(multitask_pipeline(chain))
        fused = fused_pipeline(multitask_pipeline(chain))
        fused = Compose(fused) if any(t['type'] == 'FusedGeometry' for t in fused) else None
        for seed in range(seeds):
            np.random.seed(seed)
            out[name, 'steps',
                seed] = (plain(steps(decoded(make_sample(seed)))), np.random.random())
            if fused is None:
                continue
            for codes in (False, True):
                np.random.seed(seed)
                sample = make_sample(seed)
                out[name, f'fused_codes={codes}',
                    seed] = (plain(fused(sample if codes else decoded(sample))), np.random.random())
    return out


def same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    return type(a) is type(b) and a == b


def run_tree(tree: str, seeds: int, out: str) -> None:
    env = dict(os.environ, PYTHONPATH=tree)
    subprocess.run([sys.executable,
                    osp.abspath(__file__), '--sample', out, '--seeds',
                    str(seeds)],
                   env=env,
                   cwd=tree,
                   check=True)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument('--ref', default='main')
    p.add_argument('--seeds', type=int, default=40)
    p.add_argument('--sample', help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.sample:
        from mmengine.registry import init_default_scope

        import mmrock.datasets  # noqa: F401  (registers the transforms)
        init_default_scope('mmdet')
        with open(args.sample, 'wb') as f:
            pickle.dump(sample_all(args.seeds), f)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        ref_tree = osp.join(tmp, 'ref')
        archive = subprocess.run(['git', 'archive', args.ref, 'mmrock', 'mmrock_data'],
                                 cwd=REPO,
                                 capture_output=True,
                                 check=True).stdout
        with open(osp.join(tmp, 'ref.tar'), 'wb') as f:
            f.write(archive)
        with tarfile.open(osp.join(tmp, 'ref.tar')) as tar:
            tar.extractall(ref_tree)
        run_tree(ref_tree, args.seeds, osp.join(tmp, 'ref.pkl'))
        run_tree(REPO, args.seeds, osp.join(tmp, 'tree.pkl'))
        with open(osp.join(tmp, 'ref.pkl'), 'rb') as f:
            ref = pickle.load(f)
        with open(osp.join(tmp, 'tree.pkl'), 'rb') as f:
            tree = pickle.load(f)
    assert ref.keys() == tree.keys()
    differ = [key for key in ref if not same(ref[key], tree[key])]
    print(f'{len(ref) - len(differ)} of {len(ref)} samples bit for bit equal to {args.ref}\'s')
    for key in differ[:10]:
        print('differs:', key)
    return 1 if differ else 0


if __name__ == '__main__':
    sys.exit(main())
