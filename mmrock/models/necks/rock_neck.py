"""ROCK: residual auxiliary block (Mordan et al., NeurIPS 2018), as an MMDetection neck."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.model import BaseModule
from torch import Tensor

DEFAULT_AUX_HEADS = dict(
    scene=dict(type='SceneHead', num_classes=27),
    depth=dict(type='DepthHead', maps_per_out_channel=128),
    normals=dict(type='NormalHead', maps_per_out_channel=128))


def aux_export_names(tasks: Sequence[str]) -> List[str]:
    """Output names of the tasks' predictions in exported graphs.

    Args:
        tasks (Sequence[str]): Task names, in order.

    Returns:
        list[str]: ``scene`` -> ``scene_logits``, ``presence`` -> ``presence_logits``, any other
        task keeps its name (``depth``, ``normals``).
    """
    logits = ('scene', 'presence')
    return [f'{name}_logits' if name in logits else name for name in tasks]


@MODELS.register_module()
class ROCKNeck(BaseModule):
    """Refines one backbone feature map with auxiliary tasks and residual fusion.

    For the refined level ``x`` (B, C, h, w), with C = ``in_channels``:

    - encoder (shared): 1x1 conv C->E + BN + ReLU, 3x3 conv E->E + BN + ReLU (E = 512);
    - one **linear** 1x1 conv E->M_t per task t (M_t = ``aux_heads[t].num_maps``: 27 / 128 / 384),
      whose output, the task maps (B, M_t, h, w), feeds the task's parameter-free predictor
      (pooling, owned by the auxiliary head);
    - one decoder per task: 1x1 conv M_t->C + BN + ReLU;
    - fusion: ``x + sum_t decoder_t(maps_t)`` (optionally followed by BN + ReLU).

    Other levels pass through unchanged. With ``residual=False`` there are no decoders and ``x``
    is returned as is: the flat multi-task baseline (auxiliary heads trained on the same features).

    Args:
        in_channels (int): Channels of the refined level (2048 for ResNet-50 C5).
        in_index (int): Which element of the input tuple to refine. Default: the last.
        encoder_channels (int): E, width of the shared encoder. Default 512.
        aux_heads (dict[str, dict]): Task name -> auxiliary head config; any subset of tasks.
        residual (bool): Decode the task maps and add them to the features (ROCK) or not (flat MTL).
        fusion_norm_act (bool): BN + ReLU after the residual sum (a choice the paper leaves
            open, docs/design.md; the paper's fusion is a plain element-wise addition, the
            default).
        decoder_norm_init (float): Initial scale (BN weight) of each decoder's norm layer. The
            default 1 is the usual BN initialisation (the paper's); a small value such as 0.1
            starts the block close to identity, so that randomly initialised decoders do not
            swamp ``x`` at the start of training (docs/design.md, "Starting ROCK near identity").
        removed_residuals (Sequence[str]): Tasks whose decoded maps are left out of the sum
            (a test-time diagnostic: how much the detector relies on each task's residual, e.g.
            ``--cfg-options "model.rock.removed_residuals=['depth']"``). Removing every task's
            returns ``x`` exactly as it came in (the optional fusion is skipped too). The task
            maps and auxiliary predictions are unchanged. Default: none.
        norm_cfg (dict): Norm layer of the encoder, decoders and optional fusion.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 in_index: int = -1,
                 encoder_channels: int = 512,
                 aux_heads: Dict[str, dict] = DEFAULT_AUX_HEADS,
                 residual: bool = True,
                 fusion_norm_act: bool = False,
                 decoder_norm_init: float = 1.0,
                 removed_residuals: Sequence[str] = (),
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not aux_heads:
            raise ValueError('ROCKNeck needs at least one auxiliary head')
        if fusion_norm_act and not residual:
            raise ValueError('fusion_norm_act applies to the residual fusion only')
        if decoder_norm_init != 1.0 and not residual:
            raise ValueError('decoder_norm_init applies to the residual fusion only')
        if not decoder_norm_init > 0:
            raise ValueError(f'decoder_norm_init must be > 0, got {decoder_norm_init}')
        self.decoder_norm_init = decoder_norm_init
        self.in_index = in_index
        self.residual = residual
        unknown = sorted(set(removed_residuals) - set(aux_heads))
        if unknown:
            raise ValueError(f'removed_residuals: {unknown} not among the tasks {list(aux_heads)}')
        if removed_residuals and not residual:
            raise ValueError('removed_residuals applies to the residual fusion only')
        self.removed_residuals = tuple(removed_residuals)
        self.aux_heads = nn.ModuleDict({name: MODELS.build(cfg) for name, cfg in aux_heads.items()})
        self.encoder = nn.Sequential(
            ConvModule(in_channels, encoder_channels, 1, norm_cfg=norm_cfg),
            ConvModule(encoder_channels, encoder_channels, 3, padding=1, norm_cfg=norm_cfg))
        self.task_convs = nn.ModuleDict({
            name: nn.Conv2d(encoder_channels, head.num_maps, 1)
            for name, head in self.aux_heads.items()
        })
        if residual:
            self.decoders = nn.ModuleDict({
                name:
                ConvModule(head.num_maps, in_channels, 1, norm_cfg=norm_cfg)
                for name, head in self.aux_heads.items()
            })
        self.fusion = nn.Sequential(
            build_norm_layer(norm_cfg, in_channels)[1], nn.ReLU(
                inplace=True)) if fusion_norm_act else None

    def init_weights(self) -> None:
        """Usual initialisation, then the decoders' norm weights set to ``decoder_norm_init``
        (BN weights start at 1)."""
        super().init_weights()
        if self.residual:
            for decoder in self.decoders.values():
                nn.init.constant_(decoder.norm.weight, self.decoder_norm_init)

    def forward_with_aux(self,
                         inputs: Sequence[Tensor]) -> Tuple[Tuple[Tensor, ...], Dict[str, Tensor]]:
        """Refine the ``in_index`` level and compute the task maps.

        Args:
            inputs (Sequence[Tensor]): Backbone features, each of shape (B, C_i, h_i, w_i).

        Returns:
            tuple[tuple[Tensor, ...], dict[str, Tensor]]: The features with the ``in_index``
            level refined (same shapes as ``inputs``), and the task maps
            ``{task: (B, M_t, h, w)}`` for the auxiliary heads.
        """
        feats = list(inputs)
        x = feats[self.in_index]
        encoded = self.encoder(x)
        task_maps = {name: conv(encoded) for name, conv in self.task_convs.items()}
        kept = [name for name in task_maps if name not in self.removed_residuals]
        if self.residual and kept:
            for name in kept:
                x = x + self.decoders[name](task_maps[name])
            if self.fusion is not None:
                x = self.fusion(x)
            feats[self.in_index] = x
        return tuple(feats), task_maps

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Neck interface: the features, refined level included.

        Args:
            inputs (Sequence[Tensor]): Backbone features, each of shape (B, C_i, h_i, w_i).

        Returns:
            tuple[Tensor, ...]: The features, same shapes as ``inputs``.
        """
        return self.forward_with_aux(inputs)[0]

    def loss(self, task_maps: Dict[str, Tensor],
             data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """Auxiliary losses of the enabled tasks.

        Args:
            task_maps (dict[str, Tensor]): ``{task: (B, M_t, h, w)}`` from :meth:`forward_with_aux`.
            data_samples (Sequence[DetDataSample]): The batch's samples, with their labels.

        Returns:
            dict[str, Tensor]: One scalar per enabled task (``loss_scene``, ``loss_depth``, ...).
        """
        losses = {}
        for name, head in self.aux_heads.items():
            losses.update(head.loss(task_maps[name], data_samples))
        return losses

    def predict(self, task_maps: Dict[str, Tensor], data_samples: Sequence[DetDataSample]) -> None:
        """Write each task's predictions into ``data_samples``.

        Args:
            task_maps (dict[str, Tensor]): ``{task: (B, M_t, h, w)}`` from :meth:`forward_with_aux`.
            data_samples (Sequence[DetDataSample]): The batch's samples, updated in place.
        """
        for name, head in self.aux_heads.items():
            head.predict(task_maps[name], data_samples)

    def predict_tensors(self, task_maps: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Each task's prediction as one batch tensor at the grid of the task maps.

        Args:
            task_maps (dict[str, Tensor]): ``{task: (B, M_t, h, w)}`` from :meth:`forward_with_aux`.

        Returns:
            dict[str, Tensor]: Keyed by the output name in exported graphs (ONNX, mmdeploy,
            :func:`aux_export_names`), in ``aux_heads`` order: ``scene_logits`` (B, S),
            ``presence_logits`` (B, K), ``depth`` (B, 1, h, w) metres, ``normals`` (B, 3, h, w)
            unit vectors.
        """
        outputs = {}
        for key, (name, head) in zip(self.export_names, self.aux_heads.items()):
            pred = head(task_maps[name])
            outputs[key] = head.decode_pred(pred) if hasattr(head, 'decode_pred') else pred
        return outputs

    @property
    def export_names(self) -> List[str]:
        """list[str]: The output names of :meth:`predict_tensors`, in order."""
        return aux_export_names(self.aux_heads)
