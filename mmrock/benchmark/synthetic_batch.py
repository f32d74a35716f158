"""In-memory batches shaped like the NYUv2 multi-task pipeline's output (``PackMultiTaskInputs``),
so that model benchmarks measure the model and not the data loading."""
from typing import Dict, List, Sequence

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData, PixelData


def synthetic_sample(img_hw: Sequence[int],
                     index: int,
                     num_boxes: int = 4,
                     num_classes: int = 19,
                     num_scenes: int = 27,
                     generator: torch.Generator = None) -> DetDataSample:
    """One sample with boxes, a depth map (metres, a quarter invalid), unit normals (a quarter
    invalid) and a scene label, all at the image's resolution.

    Args:
        img_hw (Sequence[int]): (H, W) of the image.
        index (int): The sample's ``img_id``.
        num_boxes (int): Boxes. Defaults to 4.
        num_classes (int): Detection classes. Defaults to 19.
        num_scenes (int): Scene classes. Defaults to 27.
        generator (torch.Generator, optional): Random generator. Defaults to None.

    Returns:
        DetDataSample: ``gt_instances`` (``bboxes`` (num_boxes, 4), ``labels``
        (num_boxes, )), ``gt_depth`` (1, H, W), ``gt_normals`` (3, H, W) and
        ``gt_scene_label`` (0-dim).
    """
    h, w = img_hw
    g = generator
    sample = DetDataSample(
        metainfo=dict(
            img_id=index,
            img_path=f'synthetic_{index}.png',
            ori_shape=(h, w),
            img_shape=(h, w),
            scale_factor=(1.0, 1.0),
            flip=False,
            flip_direction=None))
    xy = torch.rand(num_boxes, 2, generator=g) * torch.tensor([w * 0.6, h * 0.6])
    wh = (0.1 + 0.3 * torch.rand(num_boxes, 2, generator=g)) * torch.tensor([w, h])
    sample.gt_instances = InstanceData(
        bboxes=torch.cat([xy, xy + wh], dim=1),
        labels=torch.randint(0, num_classes, (num_boxes, ), generator=g))
    depth = 0.5 + 9.5 * torch.rand(1, h, w, generator=g)
    depth[:, :h // 4] = 0
    sample.gt_depth = PixelData(data=depth)
    normals = torch.nn.functional.normalize(
        torch.randn(3, 1, 1, generator=g) + 0.2 * torch.randn(3, h, w, generator=g), dim=0)
    normals[:, :, :w // 4] = 0
    sample.gt_normals = PixelData(data=normals)
    sample.gt_scene_label = torch.randint(0, num_scenes, (), generator=g)
    return sample


def synthetic_batch(batch_size: int,
                    img_hw: Sequence[int],
                    seed: int = 0,
                    **sample_kwargs) -> Dict[str, List]:
    """What a dataloader hands to ``model.train_step`` / ``val_step`` (the data preprocessor
    runs in the model).

    Args:
        batch_size (int): Samples.
        img_hw (Sequence[int]): (H, W) of the images.
        seed (int): Seed of the batch. Defaults to 0.
        **sample_kwargs: Passed to :func:`synthetic_sample`.

    Returns:
        dict[str, list]: ``dict(inputs=[uint8 (3, H, W) BGR], data_samples=[DetDataSample])``.
    """
    g = torch.Generator().manual_seed(seed)
    h, w = img_hw
    inputs = [
        torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g) for _ in range(batch_size)
    ]
    samples = [
        synthetic_sample(img_hw, seed * 1000 + i, generator=g, **sample_kwargs)
        for i in range(batch_size)
    ]
    return dict(inputs=inputs, data_samples=samples)
