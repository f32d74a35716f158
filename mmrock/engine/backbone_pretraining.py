"""Pretraining a detection backbone by image classification (an ImageNet stand-in), and writing
its weights in torchvision's format so that detector configs load them with the same
``init_cfg=dict(type='Pretrained', checkpoint=...)`` as torchvision's ImageNet file.

The classifier is mmdet's ``ResNet`` (undilated, all stages trainable, BN in training mode: the
state of an ImageNet network before a detector dilates and freezes it), global average pooling
and a linear layer named ``fc``. mmdet's ResNet and torchvision's share parameter names, so the
backbone's state dict plus ``fc.weight`` / ``fc.bias`` *is* a torchvision checkpoint. A plain loop
trains it (in-memory crops need no data pipeline or runner); ``tools/pretrain_backbone.py`` is the
command line.
"""
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# the detectors' data preprocessor (ImageNet's RGB statistics): crops are normalised alike
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


class BackboneClassifier(nn.Module):
    """mmdet ``ResNet`` -> global average pooling -> ``fc``.

    Args:
        depth (int): ResNet depth (18, 34, 50, 101, 152).
        base_channels (int): Width of the first stage (64 for torchvision's ResNets; the demo's
            half-width ResNet-18 uses 32).
        num_classes (int): Classifier outputs.
    """

    def __init__(self, depth: int, base_channels: int, num_classes: int) -> None:
        super().__init__()
        from mmdet.registry import MODELS
        self.backbone = MODELS.build(
            dict(
                type='mmdet.ResNet',
                depth=depth,
                base_channels=base_channels,
                num_stages=4,
                out_indices=(3, ),
                frozen_stages=-1,
                norm_eval=False,
                style='pytorch',
                norm_cfg=dict(type='BN', requires_grad=True)))
        for m in self.backbone.modules():  # torchvision's ResNet initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        width = base_channels * 8 * self.backbone.block.expansion
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classify images.

        Args:
            x (Tensor): Normalised RGB images of shape (B, 3, S, S).

        Returns:
            Tensor: Logits of shape (B, num_classes).
        """
        c5 = self.backbone(x)[-1]
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(c5, 1), 1))

    def torchvision_state_dict(self) -> Dict[str, torch.Tensor]:
        """The weights under torchvision's ResNet names.

        Returns:
            dict[str, Tensor]: Detached copies keyed ``conv1.weight``, ``layer1.0.bn1.*``, ...,
            ``fc.weight``, ``fc.bias``.
        """
        state = {k: v.detach().clone() for k, v in self.backbone.state_dict().items()}
        state.update({f'fc.{k}': v.detach().clone() for k, v in self.fc.state_dict().items()})
        return state


@dataclass
class PretrainResult:
    """What a pretraining did.

    Args:
        train_loss (list[float]): Per epoch, the mean training loss.
        val_top1 (list[float]): Per epoch, the val top-1 accuracy (%).
        wall_s (float): Wall-clock seconds taken.
        cpu_s (float): CPU seconds of the process.
    """
    train_loss: List[float] = field(default_factory=list)
    val_top1: List[float] = field(default_factory=list)
    wall_s: float = 0.
    cpu_s: float = 0.


def _batch(crops: np.ndarray, index: np.ndarray, size: int, train: bool,
           rng: np.random.Generator) -> torch.Tensor:
    """(B, 3, size, size) normalised float batch: training takes a random ``size`` window of each
    stored crop and mirrors half of them; evaluation takes the centre window."""
    stored = crops.shape[1]
    margin = stored - size
    out = np.empty((len(index), size, size, 3), np.uint8)
    for j, i in enumerate(index):
        if train:
            y, x = rng.integers(0, margin + 1, 2)
        else:
            y = x = margin // 2
        window = crops[i, y:y + size, x:x + size]
        out[j] = window[:, ::-1] if train and rng.random() < 0.5 else window
    batch = torch.from_numpy(out).permute(0, 3, 1, 2).float()
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (batch - mean) / std


@torch.no_grad()
def top1(model: BackboneClassifier,
         crops: np.ndarray,
         labels: np.ndarray,
         index: np.ndarray,
         size: int,
         batch_size: int = 256) -> float:
    """Top-1 accuracy of a classifier on the centre windows of some crops.

    Args:
        model (BackboneClassifier): The classifier (set to eval mode).
        crops (np.ndarray): (N, S', S', 3) uint8 RGB crops, S' >= ``size``.
        labels (np.ndarray): (N, ) int64 class indices.
        index (np.ndarray): Indices of the crops to score.
        size (int): Side of the network's input windows.
        batch_size (int): Crops per forward. Defaults to 256.

    Returns:
        float: Top-1 accuracy in percent.
    """
    model.eval()
    correct = 0
    rng = np.random.default_rng(0)
    for start in range(0, len(index), batch_size):
        chunk = index[start:start + batch_size]
        pred = model(_batch(crops, chunk, size, False, rng)).argmax(1).numpy()
        correct += int((pred == labels[chunk]).sum())
    return 100. * correct / max(len(index), 1)


def pretrain(model: BackboneClassifier,
             crops: np.ndarray,
             labels: np.ndarray,
             train_index: np.ndarray,
             val_index: np.ndarray,
             size: int,
             epochs: int,
             batch_size: int = 128,
             lr: float = 0.1,
             weight_decay: float = 5e-4,
             seed: int = 0,
             log: Callable[[str], None] = print,
             iters: Optional[int] = None) -> PretrainResult:
    """Train ``model`` on ``crops[train_index]`` with SGD (momentum 0.9, Nesterov), one epoch of
    linear warm-up then cosine decay, cross-entropy; evaluate top-1 on ``val_index`` after each
    epoch.

    Args:
        model (BackboneClassifier): The classifier to train.
        crops (np.ndarray): (N, S', S', 3) uint8 RGB, S' >= ``size``.
        labels (np.ndarray): (N, ) int64 class indices.
        train_index (np.ndarray): Indices of the training crops.
        val_index (np.ndarray): Indices of the validation crops.
        size (int): Side of the network's input windows.
        epochs (int): Training epochs.
        batch_size (int): Crops per iteration. Defaults to 128.
        lr (float): Peak learning rate. Defaults to 0.1.
        weight_decay (float): SGD weight decay. Defaults to 5e-4.
        seed (int): Seed of torch and of the crop sampling. Defaults to 0.
        log (Callable[[str], None]): Where the per-epoch lines go. Defaults to ``print``.
        iters (int, optional): Stop after this many iterations in all (tests).

    Returns:
        PretrainResult: the per-epoch loss and accuracy, and the time taken.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    steps_per_epoch = max(1, len(train_index) // batch_size)
    total = steps_per_epoch * epochs if iters is None else iters
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)

    def lr_at(step: int) -> float:
        if step < steps_per_epoch:
            return lr * (step + 1) / steps_per_epoch
        return 0.5 * lr * (1 + math.cos(math.pi * step / total))

    result = PretrainResult()
    start_wall, start_cpu = time.time(), time.process_time()
    step = 0
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(train_index)
        losses = []
        for b in range(steps_per_epoch):
            if step >= total:
                break
            chunk = order[b * batch_size:(b + 1) * batch_size]
            for group in optimizer.param_groups:
                group['lr'] = lr_at(step)
            loss = F.cross_entropy(
                model(_batch(crops, chunk, size, True, rng)), torch.from_numpy(labels[chunk]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
        if not losses:
            break
        result.train_loss.append(float(np.mean(losses)))
        result.val_top1.append(top1(model, crops, labels, val_index, size))
        log(f'epoch {epoch + 1}/{epochs}: train loss {result.train_loss[-1]:.4f}, '
            f'val top-1 {result.val_top1[-1]:.2f} % ({time.time() - start_wall:.0f} s)')
    result.wall_s = time.time() - start_wall
    result.cpu_s = time.process_time() - start_cpu
    return result


def save_torchvision_checkpoint(state: Dict[str, torch.Tensor], path: str) -> None:
    """Write a state dict as torchvision does (a plain state dict, ``torch.save``), through a
    temporary file renamed into place: a killed run leaves no partial file.

    Args:
        state (dict[str, Tensor]): The weights.
        path (str): The checkpoint file (its directory is created).
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f'{path}.part'
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def class_counts(labels: np.ndarray, classes: Sequence[str]) -> Dict[str, int]:
    """Crops per class name.

    Args:
        labels (np.ndarray): (N, ) int64 class indices.
        classes (Sequence[str]): Class names, in index order.

    Returns:
        dict[str, int]: Number of crops of each class.
    """
    counts = np.bincount(labels, minlength=len(classes))
    return {name: int(n) for name, n in zip(classes, counts)}
