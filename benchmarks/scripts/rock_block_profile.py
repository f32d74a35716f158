#!/usr/bin/env python
"""Where ROCK's inference time goes: each part of the ROCK block on the C5 of a 480x640 image,
against the SSD network's forward, all timed in turns (round-robin) in one process.

    python benchmarks/scripts/rock_block_profile.py [--rounds 20] [--out FILE]

Also times two inference-only variants: BN folded into the convolutions (mmcv's fuse_conv_bn,
exact in eval mode) and one fused decoder conv over the concatenated task maps (NOT the paper's
architecture: one BN/ReLU after the sum instead of one per task; timed for reference only).
"""
import argparse
import copy
import os.path as osp
import statistics
import sys
import time

import torch
from mmcv.cnn import fuse_conv_bn
from mmengine.registry import init_default_scope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmrock.benchmark.env_info import environment  # noqa: E402
from mmrock.benchmark.model_bench import load_bench_config, quiet_mmengine  # noqa: E402
from mmrock.benchmark.report import write_json  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument('--rounds', type=int, default=20)
    p.add_argument('--out')
    args = p.parse_args()
    from mmdet.registry import MODELS
    cfg = load_bench_config(osp.join(REPO, 'configs/rock/ssd_r50_rock_nyuv2.py'))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    with quiet_mmengine():
        model = MODELS.build(cfg.model)
        model.init_weights()
    model.eval()
    det, rock = model.detector, model.rock
    x = torch.randn(1, 3, 480, 640)
    with torch.no_grad():
        c5s = det.backbone(x)
        c5 = c5s[-1]
        enc0 = rock.encoder[0](c5)
        enc = rock.encoder[1](enc0)
        maps = {k: conv(enc) for k, conv in rock.task_convs.items()}
        conv_out = {k: rock.decoders[k].conv(maps[k]) for k in maps}
        dec = {k: rock.decoders[k](maps[k]) for k in maps}
        cat = torch.cat(list(maps.values()), 1)
        fused_decoder = torch.nn.Conv2d(cat.shape[1], c5.shape[1], 1, bias=False).eval()
        folded = fuse_conv_bn(copy.deepcopy(model)).eval()
        parts = {
            'SSD network forward (backbone + neck + head)':
                lambda: det.bbox_head(det.neck(det.backbone(x))),
            'ROCK block (forward_with_aux)': lambda: rock.forward_with_aux(c5s),
            'encoder 1x1 2048->512 + BN + ReLU': lambda: rock.encoder[0](c5),
            'encoder 3x3 512->512 + BN + ReLU': lambda: rock.encoder[1](enc0),
            'task convs 512->27/128/384': lambda: [conv(enc) for conv in rock.task_convs.values()],
            'decoder convs 27/128/384->2048':
                lambda: [rock.decoders[k].conv(maps[k]) for k in maps],
            'decoder BN + ReLU (3 x 2048x30x40)':
                lambda: [rock.decoders[k].activate(rock.decoders[k].bn(conv_out[k]))
                         for k in maps],
            'residual adds (3 x 2048x30x40)': lambda: c5 + dec['scene'] + dec['depth']
            + dec['normals'],
            'predictors (pooling)': lambda: [h(maps[k]) for k, h in rock.aux_heads.items()],
            'variant: ROCK block with BN folded': lambda: folded.rock.forward_with_aux(c5s),
            'variant: one fused decoder conv 539->2048 (not the paper\'s block)':
                lambda: fused_decoder(cat),
        }
        for fn in parts.values():
            fn()
        seconds = {k: [] for k in parts}
        for _ in range(args.rounds):
            for k, fn in parts.items():
                start = time.perf_counter()
                fn()
                seconds[k].append(time.perf_counter() - start)
    result = dict(environment=environment('cpu'), rounds=args.rounds, ms_median={
        k: 1e3 * statistics.median(v) for k, v in seconds.items()},
        ms_min={k: 1e3 * min(v) for k, v in seconds.items()})
    ssd = result['ms_median']['SSD network forward (backbone + neck + head)']
    print('| part | ms (median) | ms (min) | % of the SSD forward |\n|---|---:|---:|---:|')
    for k in parts:
        med = result['ms_median'][k]
        print(f"| {k} | {med:.1f} | {result['ms_min'][k]:.1f} | {100 * med / ssd:.1f}% |")
    if args.out:
        write_json(result, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
