"""`make demo`: the main job end to end on the embedded default dataset.

1. data: converted NYUv2 in data/nyuv2 if present; otherwise synthetic rooms are generated in the
   official file format and converted with the real converter (data/synthetic_nyuv2);
2. the model before training is evaluated, then ROCK is trained (a light config: the demo's
   ResNet-18 from the ImageNet stand-in weights in benchmarks/pretrain/) and evaluated on held-out
   rooms; both metric tables are printed;
3. the score threshold of the figures is chosen on the val split (best F1 at IoU 0.5), and scored
   on the held-out rooms;
4. Figure-1 style visualisations of the trained model are written, boxes drawn above it.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmrock.engine.ablation import data_root_options

DEMO_CONFIG = 'configs/rock/ssd_r18-roomspre_rock_1xb8-800it_demo.py'
REAL_DATA = Path('data/nyuv2')
SYNTHETIC_RAW = Path('data/synthetic_nyuv2_raw')
SYNTHETIC_DATA = Path('data/synthetic_nyuv2')
ROOMS_RECORD = 'demo_rooms.json'  # how the synthetic rooms there were made
VAL_ANN = 'annotations/nyuv2_val.json'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--num-images',
        type=int,
        default=400,
        help='synthetic rooms to generate (about 47%% train / 8%% val / 45%% '
        'test)')
    parser.add_argument('--iters', type=int, default=None, help='override the training length')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--data-only',
        action='store_true',
        help='only make sure the dataset is there (step 1), e.g. for `make ablation`')
    return parser.parse_args()


def step(title: str) -> None:
    print(f'\n=== {title} ===', flush=True)


def run(*args: str) -> None:
    """Run a project tool with this interpreter, streaming its output; stop the demo on failure."""
    cmd = [sys.executable, *args]
    print('$', ' '.join(cmd), flush=True)
    if subprocess.run(cmd, cwd=ROOT).returncode != 0:
        sys.exit(f'demo: step failed: {" ".join(args[:2])}')


def rooms_made(num_images: int, seed: int) -> dict:
    """What the demo's synthetic rooms are made from (recorded next to them as ROOMS_RECORD)."""
    from mmrock_data.converters.synthetic_rooms import ROOMS_VERSION
    return dict(
        generator=ROOMS_VERSION,
        num_images=num_images,
        seed=seed,
        height=240,
        width=320,
        val_split='auto')


def stale_rooms(data: Path, wanted: dict) -> Optional[str]:
    """Why the converted synthetic rooms in ``data`` are not the ``wanted`` ones (None: they
    are; the rooms must exist)."""
    try:
        made = json.loads((data / ROOMS_RECORD).read_text())
    except (OSError, ValueError):
        return 'made by an earlier mmrock, which kept no record of how'
    changed = [
        f'{key} {made.get(key)} (now {value})' for key, value in wanted.items()
        if made.get(key) != value
    ]
    return ', '.join(changed) or None


def ensure_dataset(num_images: int, seed: int) -> Path:
    """Return the data root to use, generating and converting synthetic rooms when needed: when
    there are none, or when those there were made otherwise (another generator version, number
    of images or seed)."""
    if (ROOT / REAL_DATA / 'annotations' / 'nyuv2_train.json').is_file():
        if not (ROOT / REAL_DATA / VAL_ANN).is_file():
            sys.exit(f'demo: {REAL_DATA}/{VAL_ANN} is missing: convert NYUv2 with '
                     '--val-split auto (or SCENES.txt) to give the demo its val split')
        print(f'Using the converted NYUv2 found in {REAL_DATA}/ (training stays the light demo '
              'schedule; use configs/rock/ssd_r50_rock_nyuv2.py for the paper).')
        return REAL_DATA
    wanted = rooms_made(num_images, seed)
    if (ROOT / SYNTHETIC_DATA / 'annotations' / 'nyuv2_train.json').is_file():
        reason = stale_rooms(ROOT / SYNTHETIC_DATA, wanted)
        if reason is None:
            print(f'No NYUv2 in {REAL_DATA}/: reusing the synthetic rooms in {SYNTHETIC_DATA}/.')
            return SYNTHETIC_DATA
        print(f'The synthetic rooms in {SYNTHETIC_DATA}/ are not those asked for ({reason}): '
              'replacing them.')
    print(f'No NYUv2 in {REAL_DATA}/: generating {num_images} synthetic rooms (official .mat '
          'format, 240x320) and converting them with the NYUv2 converter, whole scenes of the '
          'train rooms set apart as a val split.')
    run('tools/dataset_converters/make_synthetic_nyuv2.py', '--out', str(SYNTHETIC_RAW), '--num',
        str(num_images), '--seed', str(seed), '--height', '240', '--width', '320')
    run('tools/dataset_converters/nyuv2.py', '--mat',
        str(SYNTHETIC_RAW / 'nyu_depth_v2_labeled.mat'), '--splits',
        str(SYNTHETIC_RAW / 'splits.mat'), '--normals', str(SYNTHETIC_RAW / 'normals_gt'),
        '--val-split', 'auto', '--out', str(SYNTHETIC_DATA), '--overwrite')
    (ROOT / SYNTHETIC_DATA / ROOMS_RECORD).write_text(json.dumps(wanted) + '\n')
    return SYNTHETIC_DATA


def save_untrained_checkpoint(cfg_options: list, path: Path, seed: int) -> None:
    """Initialise the demo model exactly as training will and save it, so that the untrained
    model is measured with the same test tool."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config, DictAction  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed

    import mmrock  # noqa: F401
    cfg = Config.fromfile(str(ROOT / DEMO_CONFIG))
    cfg.merge_from_dict(dict(opt.split('=', 1) for opt in cfg_options))
    init_default_scope('mmdet')
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=0)), path)


def read_metrics(work_dir: Path) -> dict:
    """The metrics JSON tools/test.py wrote last in ``work_dir``."""
    files = sorted(work_dir.glob('**/metrics*.json'), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text()) if files else {}


def main():
    args = parse_args()
    start = time.time()
    work_dir = Path(args.work_dir)
    step('1/6 data')
    data_root = ensure_dataset(args.num_images, args.seed)
    if args.data_only:
        print(f'Dataset: {data_root}/')
        return
    cfg_options = data_root_options(str(ROOT / DEMO_CONFIG), data_root) + [
        f'randomness.seed={args.seed}', 'model.test_cfg.score_thr=0.0'
    ]  # score every box: an untrained model's are all low
    if args.iters:
        cfg_options += [
            f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
            f'default_hooks.checkpoint.interval={args.iters}'
        ]
    print(f'Demo config: {DEMO_CONFIG} (half-width ResNet-18 from the ImageNet stand-in, ROCK '
          'with scene, depth and normals, 240x320 input)')
    val_options = [
        f'test_dataloader.dataset.ann_file={VAL_ANN}',
        f'test_evaluator.0.ann_file={data_root}/{VAL_ANN}',
        f'test_evaluator.2.ann_file={data_root}/{VAL_ANN}', 'test_evaluator.2.score_thr=None'
    ]  # choose, on val

    step('2/6 the model before training, on held-out rooms')
    untrained = work_dir / 'untrained' / 'untrained.pth'
    save_untrained_checkpoint(cfg_options, untrained, args.seed)
    run('tools/test.py', DEMO_CONFIG, str(untrained), '--work-dir', str(untrained.parent),
        '--cfg-options', *cfg_options)
    before = read_metrics(untrained.parent)

    step('3/6 training ROCK')
    run('tools/train.py', DEMO_CONFIG, '--work-dir', str(work_dir), '--cfg-options', *cfg_options)
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()

    step('4/6 the score threshold of the figures, chosen on the val rooms')
    run('tools/test.py', DEMO_CONFIG, checkpoint, '--work-dir', str(work_dir / 'val'),
        '--cfg-options', *cfg_options, *val_options)
    val = read_metrics(work_dir / 'val')
    score_thr = val['score_thr/threshold']

    step('5/6 the trained model on held-out rooms')
    run('tools/test.py', DEMO_CONFIG, checkpoint, '--work-dir', str(work_dir / 'test'),
        '--cfg-options', *cfg_options, f'test_evaluator.2.score_thr={score_thr}')
    after = read_metrics(work_dir / 'test')

    step('6/6 Figure-1 visualisations')
    figures = work_dir / 'figure1'
    run('tools/analysis_tools/visualize_outputs.py', DEMO_CONFIG, checkpoint, '--out', str(figures),
        '--num', '4', '--score-thr', f'{score_thr}', '--cfg-options', *cfg_options)

    step('summary')
    shown = (('mAP@0.5', 'coco/bbox_mAP_50', 100), ('mAP@0.75', 'coco/bbox_mAP_75', 100),
             ('mAP@[.5:.95]', 'coco/bbox_mAP', 100), ('scene top-1 %', 'aux/scene_acc', 1),
             ('depth AbsRel', 'aux/depth_abs_rel', 1), ('normals mean deg', 'aux/normal_mean', 1))
    print(f'{"held-out rooms":<18}' + ''.join(f'{name:>17}' for name, _, _ in shown))
    for name, metrics in (('before training', before), ('trained ROCK', after)):
        values = (metrics.get(key) for _, key, _ in shown)
        print(f'{name:<18}' +
              ''.join(f'{v * scale:>17.2f}' if isinstance(v, (int, float)) else f'{"n/a":>17}'
                      for v, (_, _, scale) in zip(values, shown)))
    print(f'Boxes drawn with score > {score_thr:.3f} (best F1 at IoU 0.5 on the val rooms: '
          f'precision {100 * val["score_thr/precision"]:.1f} %, recall '
          f'{100 * val["score_thr/recall"]:.1f} %); on the held-out rooms they are '
          f'{100 * after["score_thr/precision"]:.1f} % precise and find '
          f'{100 * after["score_thr/recall"]:.1f} % of the boxes '
          f'({int(after["score_thr/kept"])} boxes).')
    print(f'Figures: {figures}/   checkpoint: {checkpoint}')
    print(f'Demo finished in {(time.time() - start) / 60:.1f} min.')


if __name__ == '__main__':
    main()
