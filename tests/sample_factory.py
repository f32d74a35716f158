"""Builds DetDataSamples with detection and auxiliary labels for the model tests."""
from typing import Optional, Sequence

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData, PixelData


def make_sample(img_hw: Sequence[int],
                pad_hw: Optional[Sequence[int]] = None,
                num_boxes: int = 2,
                depth: bool = True,
                normals: bool = True,
                scene: bool = True,
                num_classes: int = 19,
                seed: int = 0) -> DetDataSample:
    """A sample of an (H, W) image padded to ``pad_hw``; each auxiliary label optional."""
    g = torch.Generator().manual_seed(seed)
    h, w = img_hw
    pad_hw = tuple(pad_hw or img_hw)
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(h, w),
            ori_shape=(h, w),
            pad_shape=pad_hw,
            batch_input_shape=pad_hw,
            scale_factor=(1.0, 1.0),
            img_id=seed))
    xy = torch.rand(num_boxes, 2, generator=g) * torch.tensor([w * 0.5, h * 0.5])
    wh = (0.2 + 0.3 * torch.rand(num_boxes, 2, generator=g)) * torch.tensor([w, h])
    sample.gt_instances = InstanceData(
        bboxes=torch.cat([xy, xy + wh], dim=1),
        labels=torch.randint(0, num_classes, (num_boxes, ), generator=g))
    if depth:
        d = 1 + 4 * torch.rand(1, h, w, generator=g)
        d[:, :h // 4] = 0  # a band of invalid pixels
        sample.gt_depth = PixelData(data=d)
    if normals:
        # a smooth surface: one direction per sample plus mild per-pixel noise
        base = torch.randn(3, 1, 1, generator=g)
        n = torch.nn.functional.normalize(base + 0.2 * torch.randn(3, h, w, generator=g), dim=0)
        n[:, :, :w // 4] = 0  # invalid
        sample.gt_normals = PixelData(data=n)
    if scene:
        sample.gt_scene_label = torch.randint(0, 27, (), generator=g)
    return sample


def build_model(config: str, **overrides):
    """The model of ``configs/rock/<config>``, randomly initialised (no ImageNet weights)."""
    from pathlib import Path

    from mmdet.registry import MODELS
    from mmengine.config import Config
    cfg = Config.fromfile(str(Path(__file__).parents[1] / 'configs' / 'rock' / config))
    cfg.model.backbone.init_cfg = None
    cfg.model.update(overrides)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def preprocess(model, samples: Sequence[DetDataSample], seed: int = 0) -> dict:
    """Random uint8 images of the samples' ``img_shape`` through the model's data preprocessor
    (training mode): ``dict(inputs=..., data_samples=...)``."""
    g = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(0, 255, (3, ) + tuple(s.img_shape), dtype=torch.uint8, generator=g)
        for s in samples
    ]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=list(samples)), training=True)
