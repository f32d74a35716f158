"""A stock mmdet pipeline as its multi-task version, and the check that no
transform of a pipeline moves the image without ROCK's dense labels.

In a config (one line)::

    from mmrock.datasets import multitask_pipeline
    train_dataloader = dict(dataset=dict(
        pipeline=multitask_pipeline(_base_.train_pipeline)))
"""
import copy
from typing import List, Optional, Sequence

# stock type -> its multi-task version (same arguments)
MULTITASK_TYPES = {
    'LoadAnnotations': 'LoadMultiTaskAnnotations',
    'PackDetInputs': 'PackMultiTaskInputs',
    'Resize': 'MultiTaskResize',
    'RandomFlip': 'MultiTaskRandomFlip',
    'RandomCrop': 'MultiTaskRandomCrop',
    'Pad': 'MultiTaskPad',
    'Expand': 'MultiTaskExpand',
    'MinIoURandomCrop': 'MultiTaskMinIoURandomCrop',
}
# mmcv's random resizes: they build a ``resize_type`` transform (default 'Resize')
RESIZE_WRAPPERS = ('RandomResize', 'RandomChoiceResize')
# mmcv's wrappers of sub-pipelines: ``transforms`` is a list of transforms or of lists
PIPELINE_WRAPPERS = ('RandomChoice', 'RandomApply')
MULTITASK_MOVERS = frozenset(
    set(MULTITASK_TYPES.values()) - {'LoadMultiTaskAnnotations', 'PackMultiTaskInputs'}
    | {'FixedRatioMinIoURandomCrop', 'FusedGeometry'})
# transforms that leave every pixel where it is: loading, colour, filtering, erasing, packing
PIXEL_KEEPING = frozenset({
    'LoadImageFromFile', 'LoadImageFromNDArray', 'LoadMultiChannelImageFromFiles',
    'LoadAnnotations', 'LoadMultiTaskAnnotations', 'LoadEmptyAnnotations', 'LoadPackedImage',
    'LoadPackedMultiTaskAnnotations', 'LoadProposals', 'PhotoMetricDistortion', 'YOLOXHSVRandomAug',
    'PCALighting', 'ColorTransform', 'Color', 'Brightness', 'Contrast', 'Sharpness', 'Solarize',
    'SolarizeAdd', 'Posterize', 'Equalize', 'AutoContrast', 'Invert', 'Normalize', 'CutOut',
    'RandomErasing', 'FilterAnnotations', 'PackDetInputs', 'PackMultiTaskInputs', 'ImageToTensor',
    'ToTensor'
})
SUPPORTED = ', '.join(list(MULTITASK_TYPES)[2:] + list(RESIZE_WRAPPERS))


def _type_name(transform: dict) -> str:
    """'mmdet.Resize' / 'Resize' / the class Resize -> 'Resize'."""
    kind = transform['type']
    return (kind if isinstance(kind, str) else kind.__name__).split('.')[-1]


def _convert(transform: dict) -> dict:
    transform = copy.deepcopy(transform)
    name = _type_name(transform)
    if name in MULTITASK_TYPES:
        transform['type'] = MULTITASK_TYPES[name]
    elif name in RESIZE_WRAPPERS:
        resize = _type_name(dict(type=transform.get('resize_type', 'Resize')))
        transform['resize_type'] = MULTITASK_TYPES.get(resize, resize)
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
    (:func:`check_multitask_pipeline`)."""
    return [_convert(t) for t in pipeline]


def _problem(transform: dict) -> Optional[str]:
    """Why ``transform`` would misalign dense labels loaded before it; None if
    it keeps them aligned."""
    name = _type_name(transform)
    if name in PIXEL_KEEPING or name in MULTITASK_MOVERS:
        return None
    if name in RESIZE_WRAPPERS:
        resize = _type_name(dict(type=transform.get('resize_type', 'Resize')))
        return None if resize in MULTITASK_MOVERS else _problem(dict(type=resize))
    if name in PIPELINE_WRAPPERS:
        for sub in transform['transforms']:
            for t in sub if isinstance(sub, (list, tuple)) else [sub]:
                problem = _problem(t)
                if problem:
                    return problem
        return None
    if name in MULTITASK_TYPES:
        return (f"'{name}' moves the image but not gt_depth / gt_normals: use "
                f"'{MULTITASK_TYPES[name]}' (multitask_pipeline(train_pipeline) from "
                'mmrock.datasets converts a stock pipeline)')
    return (f"'{name}' may move pixels and ROCK's dense labels (depth, normals) cannot follow "
            f'it: remove it from the pipeline (supported geometric transforms: {SUPPORTED})')


def check_multitask_pipeline(pipeline: Sequence[dict], where: str = 'pipeline') -> None:
    """Refuse a pipeline that loads depth or normals and then moves pixels
    without them.

    Transforms before ``LoadMultiTaskAnnotations`` are not checked (the labels
    are loaded at the original size, as test pipelines do). Labels loaded
    undecoded (``decode_dense=False``) must reach a ``FusedGeometry``, the
    transform that decodes them.

    Raises:
        ValueError: one line naming the transform and its position ``where[i]``.
    """
    loaded, undecoded = False, None
    for i, transform in enumerate(pipeline):
        name = _type_name(transform)
        if name in ('LoadMultiTaskAnnotations', 'LoadPackedMultiTaskAnnotations'):
            loaded = transform.get('with_depth', True) or transform.get('with_normals', True)
            if loaded and not transform.get('decode_dense', True):
                undecoded = i
        elif name == 'FusedGeometry':
            undecoded = None
        elif undecoded is not None and name not in PIXEL_KEEPING:
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
