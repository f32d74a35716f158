"""A stock mmdet pipeline as its multi-task version, and the check that no
transform of a pipeline moves the image without ROCK's dense labels.

In a config (one line)::

    from mmrock.datasets import multitask_pipeline
    train_dataloader = dict(dataset=dict(
        pipeline=multitask_pipeline(_base_.train_pipeline)))
"""
import copy
from typing import Dict, List, Optional, Sequence

from mmcv.transforms import ImageToTensor as MMCVImageToTensor
from mmcv.transforms import LoadAnnotations as MMCVLoadAnnotations
from mmcv.transforms import LoadImageFromFile, Normalize
from mmcv.transforms import ToTensor as MMCVToTensor
from mmdet.datasets.transforms import (ColorTransform, CutOut, FilterAnnotations, ImageToTensor,
                                       LoadEmptyAnnotations, LoadMultiChannelImageFromFiles,
                                       LoadProposals, PackDetInputs, PhotoMetricDistortion,
                                       RandomErasing, ToTensor, YOLOXHSVRandomAug)
from mmdet.registry import TRANSFORMS

# mmcv's random resizes: they build a ``resize_type`` transform (default 'Resize')
RESIZE_WRAPPERS = ('RandomResize', 'RandomChoiceResize')
# mmcv's wrappers of sub-pipelines: ``transforms`` is a list of transforms or of lists
PIPELINE_WRAPPERS = ('RandomChoice', 'RandomApply')
# upstream transforms (and their subclasses) that leave every pixel where it is: loading, colour,
# filtering, erasing, packing; mmrock's own declare ``keeps_pixels = True`` (or move the dense
# labels: ``moves_dense_labels = True``)
UPSTREAM_PIXEL_KEEPING = (LoadImageFromFile, LoadMultiChannelImageFromFiles, MMCVLoadAnnotations,
                          LoadEmptyAnnotations, LoadProposals, FilterAnnotations,
                          PhotoMetricDistortion, YOLOXHSVRandomAug, ColorTransform, Normalize,
                          CutOut, RandomErasing, PackDetInputs, ImageToTensor, ToTensor,
                          MMCVImageToTensor, MMCVToTensor)


def type_name(transform: dict) -> str:
    """The short type name of a transform config.

    Args:
        transform (dict): A transform config.

    Returns:
        str: 'Resize' for 'mmdet.Resize', 'Resize' or the class Resize.
    """
    kind = transform['type']
    return (kind if isinstance(kind, str) else kind.__name__).split('.')[-1]


def transform_class(transform: dict) -> Optional[type]:
    """The class a transform config builds (mmdet's registry, then mmcv's).

    Args:
        transform (dict): A transform config.

    Returns:
        type, optional: The class; None when no registry knows the type.
    """
    kind = transform['type']
    cls = kind if isinstance(kind, type) else TRANSFORMS.get(kind)
    return cls if isinstance(cls, type) else None


def keeps_pixels(transform: dict) -> bool:
    """Whether a transform leaves every pixel where it is: its class declares
    ``keeps_pixels = True``, or is (a subclass of) one of ``UPSTREAM_PIXEL_KEEPING``.

    Args:
        transform (dict): A transform config.

    Returns:
        bool: True when it keeps every pixel.
    """
    cls = transform_class(transform)
    return cls is not None and (getattr(cls, 'keeps_pixels', False)
                                or issubclass(cls, UPSTREAM_PIXEL_KEEPING))


def moves_dense_labels(transform: dict) -> bool:
    """Whether a transform moves ROCK's dense labels with the image: its class declares
    ``moves_dense_labels = True`` (the :class:`GeometricTransform`\\ s, :class:`FusedGeometry`).

    Args:
        transform (dict): A transform config.

    Returns:
        bool: True when the dense labels follow it.
    """
    cls = transform_class(transform)
    return cls is not None and getattr(cls, 'moves_dense_labels', False)


def is_fusable(transform: dict) -> bool:
    """Whether :class:`FusedGeometry` can run a transform: its class moves the dense labels and
    declares ``fusable = True``.

    Args:
        transform (dict): A transform config.

    Returns:
        bool: True when fusable.
    """
    cls = transform_class(transform)
    return moves_dense_labels(transform) and getattr(cls, 'fusable', False)


def multitask_types() -> Dict[str, str]:
    """The multi-task versions that registered transforms declare (``stock_type``, read from
    the class itself, not inherited; same arguments as the stock type).

    Returns:
        dict[str, str]: Stock type name -> registered name of its multi-task version.
    """
    return {
        vars(cls)['stock_type']: name
        for name, cls in TRANSFORMS.module_dict.items()
        if isinstance(cls, type) and vars(cls).get('stock_type')
    }


def supported_types() -> str:
    """The stock geometric transforms that have a multi-task version, and the random resizes.

    Returns:
        str: Their names, comma-separated.
    """
    geometric = [
        stock for stock, name in multitask_types().items() if moves_dense_labels(dict(type=name))
    ]
    return ', '.join(geometric + list(RESIZE_WRAPPERS))


def _convert(transform: dict) -> dict:
    transform = copy.deepcopy(transform)
    name = type_name(transform)
    versions = multitask_types()
    if name in versions:
        transform['type'] = versions[name]
    elif name in RESIZE_WRAPPERS:
        resize = type_name(dict(type=transform.get('resize_type', 'Resize')))
        transform['resize_type'] = versions.get(resize, resize)
    elif name in PIPELINE_WRAPPERS:
        transform['transforms'] = [
            multitask_pipeline(t) if isinstance(t, (list, tuple)) else _convert(t)
            for t in transform['transforms']
        ]
    return transform


def multitask_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """The multi-task version of a stock mmdet pipeline: ``LoadAnnotations`` ->
    ``LoadMultiTaskAnnotations`` (depth, normals and scene too), each
    geometric transform -> its ``MultiTask*`` version (same arguments; inside
    ``RandomChoice`` / ``RandomApply`` too; ``RandomResize`` /
    ``RandomChoiceResize`` get ``resize_type='MultiTaskResize'``),
    ``PackDetInputs`` -> ``PackMultiTaskInputs``. Other transforms are kept:
    one that moves pixels (``RandomAffine``, ``Mosaic``, ...) is refused
    when the dataset or ``tools/train.py`` checks the pipeline
    (:func:`check_multitask_pipeline`).

    Args:
        pipeline (Sequence[dict]): Transform configs; not modified.

    Returns:
        list[dict]: The converted pipeline (copies of the configs).
    """
    return [_convert(t) for t in pipeline]


def _problem(transform: dict) -> Optional[str]:
    """Why ``transform`` would misalign dense labels loaded before it; None if
    it keeps them aligned."""
    name = type_name(transform)
    if keeps_pixels(transform) or moves_dense_labels(transform):
        return None
    if name in RESIZE_WRAPPERS:
        return _problem(dict(type=transform.get('resize_type', 'Resize')))
    if name in PIPELINE_WRAPPERS:
        for sub in transform['transforms']:
            for t in sub if isinstance(sub, (list, tuple)) else [sub]:
                problem = _problem(t)
                if problem:
                    return problem
        return None
    versions = multitask_types()
    if name in versions:
        return (f"'{name}' moves the image but not gt_depth / gt_normals: use "
                f"'{versions[name]}' (multitask_pipeline(train_pipeline) from "
                'mmrock.datasets converts a stock pipeline)')
    return (f"'{name}' may move pixels and ROCK's dense labels (depth, normals) cannot follow "
            'it: remove it from the pipeline, or give it a multi-task version implementing '
            f'GeometricTransform (supported geometric transforms: {supported_types()})')


def check_multitask_pipeline(pipeline: Sequence[dict], where: str = 'pipeline') -> None:
    """Refuse a pipeline that loads depth or normals and then moves pixels
    without them.

    Transforms before ``LoadMultiTaskAnnotations`` are not checked (the labels
    are loaded at the original size, as test pipelines do). Labels loaded
    undecoded (``decode_dense=False``) must reach a ``FusedGeometry``, the
    transform that decodes them.

    Args:
        pipeline (Sequence[dict]): Transform configs.
        where (str): How the messages name the pipeline. Defaults to 'pipeline'.

    Raises:
        ValueError: one line naming the transform and its position ``where[i]``.
    """
    loaded, undecoded = False, None
    for i, transform in enumerate(pipeline):
        name = type_name(transform)
        if name in ('LoadMultiTaskAnnotations', 'LoadPackedMultiTaskAnnotations'):
            loaded = transform.get('with_depth', True) or transform.get('with_normals', True)
            if loaded and not transform.get('decode_dense', True):
                undecoded = i
        elif name == 'FusedGeometry':
            undecoded = None
        elif undecoded is not None and not keeps_pixels(transform):
            raise ValueError(f'{where}[{i}] {name!r} comes before a FusedGeometry after '
                             f'{where}[{undecoded}] loaded depth / normals undecoded '
                             "(decode_dense=False): only FusedGeometry decodes them")
        elif loaded:
            problem = _problem(transform)
            if problem:
                raise ValueError(f'{where}[{i}] {problem}')
    if undecoded is not None:
        raise ValueError(f'{where}[{undecoded}] loads depth / normals undecoded '
                         '(decode_dense=False) but no FusedGeometry follows to decode them')
