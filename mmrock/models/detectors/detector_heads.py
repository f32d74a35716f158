"""What each mmdet detector family does after ``extract_feat`` (its heads' loss, predict and raw
forward), run by :class:`~mmrock.models.detectors.ROCKDetector` on the ROCK-refined features."""
import copy
from typing import Tuple, Type

import torch
from mmdet.models.detectors import (BaseDetector, DetectionTransformer, SingleStageDetector,
                                    TwoStageDetector)
from mmdet.structures import OptSampleList, SampleList
from mmdet.utils import InstanceList
from torch import Tensor


class DetectorHeads:
    """What a detector family's ``loss`` / ``predict`` / ``_forward`` do after ``extract_feat``,
    run by :class:`ROCKDetector` on the ROCK-refined features.

    Each subclass mirrors the methods of one mmdet base class, :attr:`family`, and serves the
    detectors that inherit those three methods unchanged (:func:`detector_heads`). Stateless: the
    methods take the wrapped detector. Strategies rather than ROCKDetector subclasses, so that any
    stock config, whatever its family, still gains ROCK by merging one ``type='ROCKDetector'``.
    """
    family: Type[BaseDetector] = BaseDetector

    @staticmethod
    def loss(detector: BaseDetector, feats: Tuple[Tensor, ...],
             batch_data_samples: SampleList) -> dict:
        """The detector's losses on ``feats`` (the neck's outputs, (B, C_l, H_l, W_l) per level).

        Args:
            detector (BaseDetector): The wrapped detector.
            feats (tuple[Tensor]): Features for its heads, (B, C_l, H_l, W_l) per level.
            batch_data_samples (list[:obj:`DetDataSample`]): The batch's samples with
                ``gt_instances``.

        Returns:
            dict[str, Tensor | list[Tensor]]: The heads' losses, named as the detector names them.
        """
        raise NotImplementedError

    @staticmethod
    def predict(detector: BaseDetector, feats: Tuple[Tensor, ...], batch_data_samples: SampleList,
                rescale: bool) -> InstanceList:
        """The detections of the heads on ``feats``.

        Args:
            detector (BaseDetector): The wrapped detector.
            feats (tuple[Tensor]): Features for its heads, (B, C_l, H_l, W_l) per level.
            batch_data_samples (list[:obj:`DetDataSample`]): The batch's samples (metainfo).
            rescale (bool): Return boxes in the original image's coordinates.

        Returns:
            list[:obj:`InstanceData`]: Per image ``bboxes`` (N, 4), ``scores`` (N, ),
            ``labels`` (N, ) (and ``masks`` where the heads predict them).
        """
        raise NotImplementedError

    @staticmethod
    def forward(detector: BaseDetector, feats: Tuple[Tensor, ...],
                batch_data_samples: OptSampleList) -> tuple:
        """The heads' raw outputs on ``feats`` (no post-processing).

        Args:
            detector (BaseDetector): The wrapped detector.
            feats (tuple[Tensor]): Features for its heads, (B, C_l, H_l, W_l) per level.
            batch_data_samples (list[:obj:`DetDataSample`], optional): The batch's samples.

        Returns:
            tuple: What the detector's ``_forward`` returns.
        """
        raise NotImplementedError


class SingleStageHeads(DetectorHeads):
    """:class:`~mmdet.models.detectors.SingleStageDetector`: one dense ``bbox_head``."""
    family = SingleStageDetector

    @staticmethod
    def loss(detector: SingleStageDetector, feats: Tuple[Tensor, ...],
             batch_data_samples: SampleList) -> dict:
        """The ``bbox_head``'s losses on ``feats``.

        See :meth:`DetectorHeads.loss` for Args and Returns.
        """
        return detector.bbox_head.loss(feats, batch_data_samples)

    @staticmethod
    def predict(detector: SingleStageDetector, feats: Tuple[Tensor, ...],
                batch_data_samples: SampleList, rescale: bool) -> InstanceList:
        """The ``bbox_head``'s detections on ``feats``.

        See :meth:`DetectorHeads.predict` for Args and Returns.
        """
        return detector.bbox_head.predict(feats, batch_data_samples, rescale=rescale)

    @staticmethod
    def forward(detector: SingleStageDetector, feats: Tuple[Tensor, ...],
                batch_data_samples: OptSampleList) -> tuple:
        """The ``bbox_head``'s raw outputs on ``feats``.

        See :meth:`DetectorHeads.forward` for Args and Returns.
        """
        return detector.bbox_head.forward(feats)


class TwoStageHeads(DetectorHeads):
    """:class:`~mmdet.models.detectors.TwoStageDetector`: ``rpn_head`` proposals (or the samples'
    ``proposals`` without an RPN), then ``roi_head``."""
    family = TwoStageDetector

    @staticmethod
    def loss(detector: TwoStageDetector, feats: Tuple[Tensor, ...],
             batch_data_samples: SampleList) -> dict:
        """The RPN's and RoI head's losses on ``feats``.

        See :meth:`DetectorHeads.loss` for Args and Returns.
        """
        losses = dict()
        if detector.with_rpn:
            proposal_cfg = detector.train_cfg.get('rpn_proposal', detector.test_cfg.rpn)
            rpn_data_samples = copy.deepcopy(batch_data_samples)
            for data_sample in rpn_data_samples:  # the RPN is class-agnostic
                data_sample.gt_instances.labels = torch.zeros_like(data_sample.gt_instances.labels)
            rpn_losses, rpn_results_list = detector.rpn_head.loss_and_predict(
                feats, rpn_data_samples, proposal_cfg=proposal_cfg)
            for key in list(rpn_losses):  # not to collide with the RoI head's names
                if 'loss' in key and 'rpn' not in key:
                    rpn_losses[f'rpn_{key}'] = rpn_losses.pop(key)
            losses.update(rpn_losses)
        else:
            rpn_results_list = TwoStageHeads.given_proposals(batch_data_samples)
        losses.update(detector.roi_head.loss(feats, rpn_results_list, batch_data_samples))
        return losses

    @staticmethod
    def predict(detector: TwoStageDetector, feats: Tuple[Tensor, ...],
                batch_data_samples: SampleList, rescale: bool) -> InstanceList:
        """The RPN's and RoI head's detections on ``feats``.

        See :meth:`DetectorHeads.predict` for Args and Returns.
        """
        if batch_data_samples[0].get('proposals', None) is None:
            rpn_results_list = detector.rpn_head.predict(feats, batch_data_samples, rescale=False)
        else:
            rpn_results_list = TwoStageHeads.given_proposals(batch_data_samples)
        return detector.roi_head.predict(
            feats, rpn_results_list, batch_data_samples, rescale=rescale)

    @staticmethod
    def forward(detector: TwoStageDetector, feats: Tuple[Tensor, ...],
                batch_data_samples: OptSampleList) -> tuple:
        """The RPN's and RoI head's raw outputs on ``feats``.

        See :meth:`DetectorHeads.forward` for Args and Returns.
        """
        if detector.with_rpn:
            rpn_results_list = detector.rpn_head.predict(feats, batch_data_samples, rescale=False)
        else:
            rpn_results_list = TwoStageHeads.given_proposals(batch_data_samples)
        return (detector.roi_head.forward(feats, rpn_results_list, batch_data_samples), )

    @staticmethod
    def given_proposals(batch_data_samples: OptSampleList) -> InstanceList:
        """The samples' own ``proposals`` (a detector without an RPN).

        Args:
            batch_data_samples (list[:obj:`DetDataSample`]): Samples with ``proposals``.

        Returns:
            list[:obj:`InstanceData`]: Each sample's ``proposals``.
        """
        if not batch_data_samples or batch_data_samples[0].get('proposals', None) is None:
            raise ValueError('A two-stage detector without rpn_head needs each data sample\'s '
                             'proposals (e.g. LoadProposals in the pipeline)')
        return [data_sample.proposals for data_sample in batch_data_samples]


class DetectionTransformerHeads(DetectorHeads):
    """:class:`~mmdet.models.detectors.DetectionTransformer` (DETR, Deformable DETR, DINO...):
    ``forward_transformer``, then ``bbox_head`` on its outputs."""
    family = DetectionTransformer

    @staticmethod
    def loss(detector: DetectionTransformer, feats: Tuple[Tensor, ...],
             batch_data_samples: SampleList) -> dict:
        """The transformer and ``bbox_head``'s losses on ``feats``.

        See :meth:`DetectorHeads.loss` for Args and Returns.
        """
        head_inputs_dict = detector.forward_transformer(feats, batch_data_samples)
        return detector.bbox_head.loss(**head_inputs_dict, batch_data_samples=batch_data_samples)

    @staticmethod
    def predict(detector: DetectionTransformer, feats: Tuple[Tensor, ...],
                batch_data_samples: SampleList, rescale: bool) -> InstanceList:
        """The transformer and ``bbox_head``'s detections on ``feats``.

        See :meth:`DetectorHeads.predict` for Args and Returns.
        """
        head_inputs_dict = detector.forward_transformer(feats, batch_data_samples)
        return detector.bbox_head.predict(
            **head_inputs_dict, rescale=rescale, batch_data_samples=batch_data_samples)

    @staticmethod
    def forward(detector: DetectionTransformer, feats: Tuple[Tensor, ...],
                batch_data_samples: OptSampleList) -> tuple:
        """The transformer and ``bbox_head``'s raw outputs on ``feats``.

        See :meth:`DetectorHeads.forward` for Args and Returns.
        """
        head_inputs_dict = detector.forward_transformer(feats, batch_data_samples)
        return detector.bbox_head.forward(**head_inputs_dict)


DETECTOR_HEADS = (SingleStageHeads, TwoStageHeads, DetectionTransformerHeads)


def detector_heads(detector: BaseDetector) -> Type[DetectorHeads]:
    """The :class:`DetectorHeads` of ``detector``'s family.

    Args:
        detector (BaseDetector): The detector ROCK is inserted into.

    Returns:
        type: The entry of :data:`DETECTOR_HEADS` whose ``family`` the detector's class derives
        from with ``loss``, ``predict`` and ``_forward`` inherited unchanged.

    Raises:
        TypeError: For any other detector (one line naming it and what differs).
    """
    cls = type(detector)
    for heads in DETECTOR_HEADS:
        if issubclass(cls, heads.family):
            changed = [
                name for name in ('loss', 'predict', '_forward')
                if getattr(cls, name) is not getattr(heads.family, name)
            ]
            if not changed:
                return heads
            why = 'overrides ' + ', '.join(f'{heads.family.__name__}.{name}' for name in changed)
            break
    else:
        why = 'derives from none of them'
    families = ', '.join(heads.family.__name__ for heads in DETECTOR_HEADS)
    raise TypeError(f'ROCKDetector cannot wrap {cls.__name__}: it runs the heads as the '
                    f'loss/predict/_forward of {families} do, and {cls.__name__} {why}')
