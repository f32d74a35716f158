"""Before a tool builds its runner: are the dataset files the config points at there?"""
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EVALUATORS = ('val_evaluator', 'test_evaluator')
DEFAULT_DATA_ROOT = 'data/nyuv2'


def _leaf_datasets(dataset_cfg) -> Iterator[dict]:
    """The datasets of a dataset config, through wrappers (``dataset=`` / ``datasets=[...]``)."""
    if not dataset_cfg:
        return
    if 'dataset' in dataset_cfg:
        yield from _leaf_datasets(dataset_cfg['dataset'])
    elif 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            yield from _leaf_datasets(sub)
    else:
        yield dataset_cfg


def _join(root: Optional[str], path: str) -> str:
    return path if root is None or osp.isabs(path) else osp.join(root, path)


def missing_data_files(cfg, dataloaders: Sequence[str] = DATALOADERS,
                       evaluators: Sequence[str] = EVALUATORS) -> List[Tuple[str, Optional[str]]]:
    """``(missing path, its dataset's data_root)`` for every data root, annotation file (joined
    with ``data_root`` as mmengine's ``BaseDataset`` does) and evaluator ``ann_file`` that the
    named parts of ``cfg`` use and that does not exist. Parts absent or None are skipped."""
    missing, roots = [], []
    for key in dataloaders:
        loader = cfg.get(key)
        for dataset in _leaf_datasets(loader.get('dataset') if loader else None):
            root = dataset.get('data_root')
            roots.append(root)
            if root and not osp.isdir(root):
                missing.append((root, root))
            elif dataset.get('ann_file'):
                path = _join(root, dataset['ann_file'])
                if not osp.isfile(path):
                    missing.append((path, root))
    for key in evaluators:
        metrics = cfg.get(key) or []
        for metric in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
            path = metric.get('ann_file') if hasattr(metric, 'get') else None
            if path and not osp.isfile(path):
                missing.append((path, next((r for r in roots if r), None)))
    seen, unique = set(), []
    for item in missing:
        if item[0] not in seen:
            seen.add(item[0])
            unique.append(item)
    return unique


def phase_data(cfg, phase: str) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """(dataloaders, evaluators) that a phase reads: 'test' the test ones; 'train' the train
    dataloader, plus the val ones when the config has a val loop."""
    if phase == 'test':
        return ('test_dataloader', ), ('test_evaluator', )
    if phase != 'train':
        raise ValueError(f"phase must be 'train' or 'test', got {phase!r}")
    if cfg.get('val_cfg') and cfg.get('val_dataloader'):
        return ('train_dataloader', 'val_dataloader'), ('val_evaluator', )
    return ('train_dataloader', ), ()


def missing_data_message(cfg, phase: str) -> Optional[str]:
    """One line saying which dataset file of ``phase`` ('train' | 'test') is missing and how to
    get NYUv2 or synthetic rooms; None when every file is there."""
    missing = missing_data_files(cfg, *phase_data(cfg, phase))
    if not missing:
        return None
    path, root = missing[0]
    out = (root or DEFAULT_DATA_ROOT).rstrip('/')
    more = f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''
    return (f'Dataset not found: {path}{more}. Get NYUv2: download the official files, then '
            f'`python tools/dataset_converters/nyuv2.py --mat nyu_depth_v2_labeled.mat '
            f'--splits splits.mat --normals normals_gt --out {out}` (README.md, "Data: NYUv2"); '
            'or generate synthetic rooms: `make demo`, or '
            '`python tools/dataset_converters/make_synthetic_nyuv2.py --out DIR --num N` then '
            f'nyuv2.py on DIR\'s files with `--out {out}`; or point the config at your data '
            '(--cfg-options data_root=... train_dataloader.dataset.data_root=...).')
