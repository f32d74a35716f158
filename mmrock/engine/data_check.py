"""Before a tool builds its runner: are the dataset files the config points at there, does the
train pipeline keep the dense labels aligned, has every instance a mask where the pipeline loads
masks, does the scene head match the dataset?"""
import json
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EVALUATORS = ('val_evaluator', 'test_evaluator')
DEFAULT_DATA_ROOT = 'data/nyuv2'


def leaf_dataset_items(dataset_cfg, key: str = 'dataset') -> Iterator[Tuple[str, dict]]:
    """The leaf datasets of a dataset config, through wrappers (``dataset=`` /
    ``datasets=[...]``).

    Args:
        dataset_cfg (dict | None): A dataset config (None or empty: nothing).
        key (str): Its dotted key in the config. Defaults to 'dataset'.

    Yields:
        tuple[str, dict]: ``(dotted config key, dataset config)`` of each leaf dataset.
    """
    if not dataset_cfg:
        return
    if 'dataset' in dataset_cfg:
        yield from leaf_dataset_items(dataset_cfg['dataset'], f'{key}.dataset')
    elif 'datasets' in dataset_cfg:
        for i, sub in enumerate(dataset_cfg['datasets']):
            yield from leaf_dataset_items(sub, f'{key}.datasets.{i}')
    else:
        yield key, dataset_cfg


def _leaf_datasets(dataset_cfg) -> Iterator[dict]:
    """The datasets of a dataset config, through wrappers."""
    return (dataset for _, dataset in leaf_dataset_items(dataset_cfg))


def _join(root: Optional[str], path: str) -> str:
    return path if root is None or osp.isabs(path) else osp.join(root, path)


def missing_data_files(cfg,
                       dataloaders: Sequence[str] = DATALOADERS,
                       evaluators: Sequence[str] = EVALUATORS) -> List[Tuple[str, Optional[str]]]:
    """The data roots, annotation files (joined with ``data_root`` as mmengine's
    ``BaseDataset`` does) and evaluator ``ann_file`` of a config that do not exist.

    Args:
        cfg (Config): The config.
        dataloaders (Sequence[str]): Dataloader keys to check (absent or None: skipped).
            Defaults to the train, val and test ones.
        evaluators (Sequence[str]): Evaluator keys to check. Defaults to val and test.

    Returns:
        list[tuple[str, str | None]]: ``(missing path, its dataset's data_root)``.
    """
    return [(path, root) for path, root, _ in _missing_files(cfg, dataloaders, evaluators)]


def _missing_files(cfg, dataloaders: Sequence[str],
                   evaluators: Sequence[str]) -> List[Tuple[str, Optional[str], Optional[str]]]:
    """:func:`missing_data_files` with the dotted config key of each path's dataset (None for
    an evaluator's file)."""
    missing, roots = [], []
    for key in dataloaders:
        loader = cfg.get(key)
        for item_key, dataset in leaf_dataset_items(
                loader.get('dataset') if loader else None, f'{key}.dataset'):
            root = dataset.get('data_root')
            roots.append(root)
            if root and not osp.isdir(root):
                missing.append((root, root, item_key))
            elif dataset.get('ann_file'):
                path = _join(root, dataset['ann_file'])
                if not osp.isfile(path):
                    missing.append((path, root, item_key))
    for key in evaluators:
        metrics = cfg.get(key) or []
        for metric in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
            path = metric.get('ann_file') if hasattr(metric, 'get') else None
            if path and not osp.isfile(path):
                missing.append((path, next((r for r in roots if r), None), None))
    seen, unique = set(), []
    for item in missing:
        if item[0] not in seen:
            seen.add(item[0])
            unique.append(item)
    return unique


def _is_multitask(dataset: dict) -> bool:
    """Whether a dataset config's type is mmrock's ``MultiTaskCocoDataset`` (or a subclass)."""
    from mmrock.datasets import MultiTaskCocoDataset
    cls = _dataset_class(dataset)
    return isinstance(cls, type) and issubclass(cls, MultiTaskCocoDataset)


def _dataset_class(dataset: dict):
    """The class a dataset config builds (its ``type`` looked up in mmdet's registry)."""
    from mmdet.registry import DATASETS
    kind = dataset.get('type')
    return DATASETS.get(kind) if isinstance(kind, str) else kind


def _metainfo_names(dataset: dict, key: str) -> Optional[Sequence[str]]:
    """``key`` ('classes', 'scene_classes') of a dataset config's metainfo, else of its class'
    ``METAINFO``; None when neither gives any."""
    names = (dataset.get('metainfo') or {}).get(key)
    if not names:
        names = getattr(_dataset_class(dataset), 'METAINFO', {}).get(key)
    return names or None


def _wrapper_note(cfg, key: Optional[str]) -> str:
    """For a dataset at dotted ``key`` inside dataset wrappers: the wrappers' types and where it
    is; for a stock dataset left inside them (your dataset keys merged into a stock config's
    wrapper), how to give yours. '' for a dataset that is not wrapped."""
    parts = (key or '').split('.')
    node, wrappers = cfg, []
    for depth, part in enumerate(parts):
        node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
        if depth >= 1 and isinstance(node, dict) and depth < len(parts) - 1:
            wrappers.append(str(node.get('type', 'a wrapper')).split('.')[-1])
    if not wrappers:
        return ''
    note = f', inside {" > ".join(wrappers)} at {key}'
    if _is_multitask(node):
        return note
    return (f'{note}: the stock config wraps its dataset, and your dataset keys merged into the '
            'wrapper leave the stock one inside; give yours with `dataset=multitask_dataset('
            f"_base_.{parts[0]}.dataset, type='MultiTaskCocoDataset', ...)` (mmrock.datasets; "
            'docs/your_detector_and_data.md)')


def phase_data(cfg, phase: str) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """The dataloaders and evaluators that a phase reads.

    Args:
        cfg (Config): The config.
        phase (str): 'test' (the test ones) or 'train' (the train dataloader, plus the val
            ones when the config has a val loop).

    Returns:
        tuple[tuple[str, ...], tuple[str, ...]]: (dataloader keys, evaluator keys).
    """
    if phase == 'test':
        return ('test_dataloader', ), ('test_evaluator', )
    if phase != 'train':
        raise ValueError(f"phase must be 'train' or 'test', got {phase!r}")
    if cfg.get('val_cfg') and cfg.get('val_dataloader'):
        return ('train_dataloader', 'val_dataloader'), ('val_evaluator', )
    return ('train_dataloader', ), ()


def _phase_datasets(cfg, phase: str) -> List[dict]:
    """The leaf dataset configs of the dataloaders ``phase`` reads, train (or test) first."""
    return [
        dataset for key in phase_data(cfg, phase)[0] if cfg.get(key)
        for dataset in _leaf_datasets(cfg.get(key).get('dataset'))
    ]


def missing_data_message(cfg, phase: str) -> Optional[str]:
    """Which dataset file of a phase is missing and how to make it for the configured dataset
    (NYUv2 and synthetic rooms, or your own data through ``coco_rgbd.py``).

    Args:
        cfg (Config): The config.
        phase (str): 'train' or 'test'.

    Returns:
        str | None: One line, or None when every file is there.
    """
    missing = _missing_files(cfg, *phase_data(cfg, phase))
    if not missing:
        return None
    path, root, key = missing[0]
    more = f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''
    datasets = _phase_datasets(cfg, phase)
    kind = str(datasets[0].get('type', 'the dataset')) if datasets else 'the dataset'
    where = ('(--cfg-options data_root=... train_dataloader.dataset.data_root=...)')
    if kind.split('.')[-1] != 'NYUv2MultiTaskDataset':
        out = (root or 'data/my_rgbd').rstrip('/')
        return (f'Dataset not found: {path}{more} ({kind} of the config'
                f'{_wrapper_note(cfg, key)}). Convert your RGB-D '
                'data: `python tools/dataset_converters/coco_rgbd.py --coco-json ANN.json '
                '--images IMAGES --depth DEPTHS --depth-scale UNITS_PER_METRE [--normals '
                f'NORMALS | --intrinsics FX FY CX CY] [--scenes SCENES.csv] --out {out}` '
                '(docs/your_detector_and_data.md); or point the config at '
                f'your data {where}.')
    out = (root or DEFAULT_DATA_ROOT).rstrip('/')
    val = (": the val split of the paper's protocol (a folder converted without `--val-split` "
           'is replaced with `--overwrite`; without the re-implementation\'s val_split.txt, '
           '`--val-split auto` chooses 122 train images by whole scenes, seeded)'
           if osp.basename(path) == 'nyuv2_val.json' else '')
    return (f'Dataset not found: {path}{more} ({kind} of the config){val}. Get NYUv2: download '
            'the official files, then `python tools/dataset_converters/nyuv2.py --mat '
            'nyu_depth_v2_labeled.mat --splits splits.mat --normals normals_gt --val-split '
            f'val_split.txt --out {out}` (docs/nyuv2.md); or '
            'generate synthetic rooms: `make demo`, or `python '
            'tools/dataset_converters/make_synthetic_nyuv2.py --out DIR --num N` then nyuv2.py '
            f"on DIR's files (`--val-split DIR/val_scenes.txt`) with `--out {out}`; or point the "
            f'config at your data {where}.')


def pack_message(cfg, phase: str) -> Optional[str]:
    """The pack that a train dataset's pipeline reads and that cannot serve it
    (:func:`~mmrock.datasets.packed_split.pack_problem`).

    Args:
        cfg (Config): The config.
        phase (str): 'train' or 'test' (only 'train' is checked).

    Returns:
        str | None: One line naming the pack, the command that writes it and the PNG
        alternative; None when every pack serves.
    """
    from mmrock.datasets.packed_split import pack_problem
    if phase != 'train' or not cfg.get('train_dataloader'):
        return None
    for dataset in _leaf_datasets(cfg.train_dataloader.get('dataset')):
        problem = pack_problem(dataset)
        if problem:
            root = (dataset.get('data_root') or '.').rstrip('/')
            return (f'Pack not usable: {problem}. The train pipeline reads the split\'s images '
                    'and dense labels from this decode-free pack, which the NYUv2 converter '
                    'writes unless --no-pack: `python tools/dataset_converters/pack_split.py '
                    f'--data-root {root} --ann-file {dataset["ann_file"]} --out '
                    f'{osp.join(root, dataset["pack"]).rstrip("/")} --overwrite`; or train '
                    'from the PNGs (slower) with `train_dataloader = dict(dataset=dict('
                    'pipeline=_base_.train_pipeline))` in a config inheriting this one, as '
                    'configs/rock/ssd_r50_rock_nyuv2_png.py does.')
    return None


def pipeline_message(cfg, phase: str) -> Optional[str]:
    """The first transform of a train pipeline that would move the image without its loaded
    depth / normals (:func:`check_multitask_pipeline`).

    Args:
        cfg (Config): The config.
        phase (str): 'train' or 'test' (only 'train' is checked).

    Returns:
        str | None: One line naming it, or None if none.
    """
    from mmrock.datasets.transforms.multitask_pipeline import check_multitask_pipeline
    if phase != 'train' or not cfg.get('train_dataloader'):
        return None
    for dataset in _leaf_datasets(cfg.train_dataloader.get('dataset')):
        try:
            check_multitask_pipeline(
                dataset.get('pipeline') or [], where=f"{dataset.get('type')} pipeline")
        except ValueError as exc:
            return f'Train pipeline refused: {exc}'
    return None


def loads_instance_masks(transform) -> bool:
    """Whether a pipeline step loads instance masks.

    Args:
        transform (dict | callable): A transform config or a built transform.

    Returns:
        bool: True for mmdet's ``LoadAnnotations`` (or a subclass) with ``with_mask=True``.
    """
    from mmdet.datasets.transforms import LoadAnnotations

    from mmrock.datasets.transforms.multitask_pipeline import transform_class
    if isinstance(transform, dict):
        cls = transform_class(transform) if 'type' in transform else None
        return (cls is not None and issubclass(cls, LoadAnnotations)
                and bool(transform.get('with_mask', False)))
    return isinstance(transform, LoadAnnotations) and bool(transform.with_mask)


def _kept_by_coco_dataset(ann: dict, image: dict, cat_ids: set) -> bool:
    """Whether mmdet 3.3's ``CocoDataset.parse_data_info`` keeps an annotation as an instance
    (not ``ignore``, a box of positive area inside the image, a category of the dataset)."""
    if ann.get('ignore', False) or ann.get('category_id') not in cat_ids:
        return False
    x, y, w, h = ann['bbox']
    inter_w = max(0, min(x + w, image['width']) - max(x, 0))
    inter_h = max(0, min(y + h, image['height']) - max(y, 0))
    return inter_w * inter_h > 0 and ann.get('area', 0) > 0 and w >= 1 and h >= 1


def unmasked_instances_message(cfg, phase: str) -> Optional[str]:
    """The first image of a COCO-format dataset whose pipeline loads instance masks and whose
    kept annotations lack a ``segmentation`` (mmdet's ``LoadAnnotations`` would stop on
    ``KeyError('mask')`` at that image, after training started).

    Args:
        cfg (Config): The config.
        phase (str): 'train' or 'test': the datasets that phase reads.

    Returns:
        str | None: One line naming the annotation file and the image; None when every kept
        instance has a mask, or no pipeline loads masks.
    """
    from mmdet.datasets import CocoDataset
    for dataset in _phase_datasets(cfg, phase):
        kind = dataset.get('type')
        cls = _dataset_class(dataset)
        if not (isinstance(cls, type) and issubclass(cls, CocoDataset)
                and any(map(loads_instance_masks,
                            dataset.get('pipeline') or []))):
            continue
        path = _join(dataset.get('data_root'), dataset.get('ann_file', ''))
        try:
            with open(path) as fh:
                coco = json.load(fh)
            classes = set(_metainfo_names(dataset, 'classes') or ())
            cat_ids = {c['id'] for c in coco['categories'] if not classes or c['name'] in classes}
            images = {image['id']: image for image in coco['images']}
            annotations = coco['annotations']
        except (OSError, ValueError, KeyError, TypeError):
            continue  # the dataset reports an unreadable file itself, naming it
        kept, unmasked = {}, {}
        for ann in annotations:
            image = images.get(ann.get('image_id'))
            try:
                keep = image is not None and _kept_by_coco_dataset(ann, image, cat_ids)
            except (KeyError, TypeError, ValueError):
                continue
            if keep:
                kept[image['id']] = kept.get(image['id'], 0) + 1
                if not ann.get('segmentation'):
                    unmasked[image['id']] = unmasked.get(image['id'], 0) + 1
        if unmasked:
            image_id = next(iter(unmasked))
            more = (f' (and {len(unmasked) - 1} more images)' if len(unmasked) > 1 else '')
            return (f'{path}: {unmasked[image_id]} of the {kept[image_id]} annotations of '
                    f'image {image_id} ({images[image_id].get("file_name")}) have no '
                    f"'segmentation'{more}, but the {kind} pipeline loads instance masks "
                    '(LoadAnnotations with_mask=True): give every annotation a polygon or RLE '
                    "mask, or load boxes only (with_mask=False; ROCK's presence head needs no "
                    'mask, docs/without_depth.md)')
    return None


def dataset_scene_classes(dataset: dict) -> Optional[Sequence[str]]:
    """The scene classes of a dataset config.

    Args:
        dataset (dict): A leaf dataset config.

    Returns:
        Sequence[str] | None: Its ``metainfo``'s, else its class' ``METAINFO``'s, else the
        annotation json's ``scene_classes``; None when none says.
    """
    names = _metainfo_names(dataset, 'scene_classes')
    if not names and dataset.get('ann_file'):
        path = _join(dataset.get('data_root'), dataset['ann_file'])
        if osp.isfile(path):
            with open(path) as fh:
                names = json.load(fh).get('scene_classes')
    return names or None


def scene_head_cfg(cfg) -> Optional[dict]:
    """The config of ROCK's scene head.

    Args:
        cfg (Config): The config.

    Returns:
        dict | None: The scene head's config in ``cfg.model`` (the neck's default heads when
        its ``aux_heads`` are not given); None without ROCK or a scene head.
    """
    rock = (cfg.get('model') or {}).get('rock') or {}
    if 'aux_heads' in rock:
        return rock['aux_heads'].get('scene') or None
    from mmrock.models.necks.rock_neck import DEFAULT_AUX_HEADS
    return DEFAULT_AUX_HEADS['scene'] if rock else None


def scene_classes_message(cfg, phase: str, checkpoint_meta: Optional[dict] = None) -> Optional[str]:
    """Give ROCK's ``SceneHead`` the number of scene classes when the config leaves
    ``num_classes`` unset (None), in place.

    Args:
        cfg (Config): The config.
        phase (str): 'train' or 'test': whose datasets give the scene classes.
        checkpoint_meta (dict, optional): A checkpoint's metadata (inference); its
            ``dataset_meta.scene_classes`` come first. Defaults to None.

    Returns:
        str | None: One line when the sources disagree with the config or none says, else
        None.
    """
    scene = scene_head_cfg(cfg)
    if not scene:
        return None
    names, source = None, "the checkpoint's metadata (dataset_meta)"
    if checkpoint_meta is not None:
        names = (checkpoint_meta.get('dataset_meta') or {}).get('scene_classes') or None
    if names is None:
        names, source = next(
            filter(None, map(dataset_scene_classes, _phase_datasets(cfg, phase))),
            None), 'the dataset'
    num = scene.get('num_classes')
    if names is None:
        none = ("neither the checkpoint's metadata nor the dataset gives"
                if checkpoint_meta is not None else 'the dataset gives no')
        return None if num is not None else (
            f'SceneHead.num_classes is not set and {none} scene_classes: set '
            'model.rock.aux_heads.scene.num_classes, or metainfo=dict(scene_classes=[...]) in '
            'the dataset config.')
    if num is None:
        scene['num_classes'] = len(names)
    elif num != len(names):
        return (f'model.rock.aux_heads.scene.num_classes is {num} but {source} has '
                f'{len(names)} scene_classes: set num_classes={len(names)} (or None to take it '
                f'from {source}).')
    return None


def data_check_message(cfg, phase: str) -> Optional[str]:
    """The first problem of :func:`missing_data_message`, :func:`pack_message`,
    :func:`pipeline_message`, :func:`unmasked_instances_message` and
    :func:`scene_classes_message` (which also completes ``SceneHead.num_classes``).

    Args:
        cfg (Config): The config.
        phase (str): 'train' or 'test'.

    Returns:
        str | None: The problem as one line, or None when there is none.
    """
    for check in (missing_data_message, pack_message, pipeline_message, unmasked_instances_message,
                  scene_classes_message):
        message = check(cfg, phase)
        if message:
            return message
    return None
