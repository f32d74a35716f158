"""mmrock's torch-free data layer: facts about NYUv2 (``nyuv2_meta``) and the dataset converters
(``converters``: the official NYUv2 files or a COCO json + depth images -> mmrock's dataset folder,
and the synthetic NYUv2 generator).

It lives outside the ``mmrock`` package, whose import registers the models in mmdet's registries
(torch, mmdet, mmcv: seconds and ~400 MB), so that the converter tools start in a fraction of a
second; it imports numpy, Pillow, h5py, scipy and tqdm only.
"""
