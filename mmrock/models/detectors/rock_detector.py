"""Any MMDetection detector with ROCK between its backbone and the rest of it."""
import copy
from typing import Dict, Tuple, Union

from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList, SampleList
from mmengine.logging import MMLogger
from torch import Tensor

from ..necks import ROCKNeck
from ..utils.backbone_outputs import ROCKInputError, backbone_output_widths, rock_input_problem
from .detector_heads import detector_heads


@MODELS.register_module()
class ROCKDetector(BaseDetector):
    """Any mmdet detector (SSD, RetinaNet, Faster R-CNN, DETR, ...) with an auxiliary block
    between its backbone and the rest: backbone -> ``rock`` (e.g. :class:`ROCKNeck`, refining one
    level and producing the auxiliary task maps) -> the detector's own neck and heads. ``loss()``
    returns the detector's losses and the auxiliary ones in one dict.

    The heads run as the detector's family runs them after ``extract_feat``
    (:class:`SingleStageHeads`, :class:`TwoStageHeads`, :class:`DetectionTransformerHeads`,
    chosen when built by :func:`detector_heads`); a detector of another family, or one overriding
    its family's ``loss`` / ``predict`` / ``_forward``, is refused when built.

    The detector's config keys stay at the top level, so that a stock config gains ROCK by
    merging ``dict(type='ROCKDetector', detector_type=<its type>, rock=dict(type='ROCKNeck', ...))``
    into its ``model``.

    ``in_index`` / ``in_channels`` of a :class:`ROCKNeck` are checked against the backbone's
    real outputs when the detector is built (:meth:`_check_rock_input`).

    A checkpoint of the plain detector (keys ``backbone.*``, ``bbox_head.*``, ... without the
    ``detector.`` prefix, e.g. mmdet's COCO weights) loads too, through ``load_from``,
    ``init_cfg=dict(type='Pretrained', ...)`` or ``load_checkpoint``: its keys are moved under
    ``detector.`` (:meth:`_prefix_plain_detector_keys`) and ROCK keeps its own initialisation.

    Args:
        detector_type (str): Registry type of the wrapped detector, e.g. ``'RetinaNet'``.
        rock (dict): Config of the auxiliary block (``ROCKNeck``).
        predict_aux (bool): Also write the auxiliary predictions into the output samples
            (``pred_scene_scores``, ``pred_depth``, ``pred_normals``).
        loss_balancer (dict): How the detection and auxiliary losses are weighed
            (``mmrock/models/loss_balancers``): ``FixedWeights`` (default: the heads' own loss
            weights, unchanged), ``UncertaintyWeighting``, ``DynamicWeightAverage``, ``GradNorm``.
            Its ``tasks`` are the ROCK heads'.
        data_preprocessor (dict): The detector's data preprocessor (owned by this wrapper).
        **detector_cfg: The wrapped detector's arguments (backbone, neck, bbox_head, train_cfg...).
    """

    def __init__(self,
                 detector_type: str,
                 rock: dict,
                 predict_aux: bool = True,
                 loss_balancer: dict = dict(type='FixedWeights'),
                 data_preprocessor: Union[dict, None] = None,
                 init_cfg=None,
                 **detector_cfg) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.detector = MODELS.build(dict(type=detector_type, **copy.deepcopy(detector_cfg)))
        self.detector_heads = detector_heads(self.detector)
        self.rock = MODELS.build(rock)
        self._check_rock_input()
        self.predict_aux = predict_aux
        self.loss_balancer = MODELS.build(
            loss_balancer,
            default_args=dict(
                tasks=[head.loss_name[len('loss_'):] for head in self.rock.aux_heads.values()]))
        self._register_load_state_dict_pre_hook(self._prefix_plain_detector_keys)

    def _check_rock_input(self) -> None:
        """Raise :class:`ROCKInputError` (one line: the argument, the backbone's output widths,
        the index to use) when the ROCK neck's ``in_index`` / ``in_channels`` do not fit what
        the backbone returns for a probe image (:func:`backbone_output_widths`). A backbone that
        cannot run the probe is logged and left to the first iteration."""
        if not isinstance(self.rock, ROCKNeck):
            return
        backbone = self.detector.backbone
        try:
            widths = backbone_output_widths(backbone)
        except Exception as exc:  # a backbone with input constraints of its own
            MMLogger.get_current_instance().warning(
                f'ROCK in_index / in_channels not checked: {type(backbone).__name__} failed on '
                f'the probe image ({type(exc).__name__}: {exc})')
            return
        problem = rock_input_problem(widths, self.rock.in_index, self.rock.encoder[0].in_channels,
                                     type(backbone).__name__)
        if problem:
            raise ROCKInputError(problem)

    def _prefix_plain_detector_keys(self, state_dict: dict, prefix: str, *args) -> None:
        """Load-state-dict pre-hook: a state dict of the plain detector (none of its keys under
        ``detector.`` / ``rock.``) gets its keys renamed ``<k>`` -> ``detector.<k>`` in place, and
        the log says how many of the detector's weights it provides."""
        own = (prefix + 'detector.', prefix + 'rock.')
        keys = [k for k in state_dict if k.startswith(prefix)]
        if not keys or any(k.startswith(own) for k in keys):
            return
        for key in keys:
            state_dict[prefix + 'detector.' + key[len(prefix):]] = state_dict.pop(key)
        expected = self.detector.state_dict()
        loaded = sum(1 for key in keys if key[len(prefix):] in expected and tuple(
            state_dict[prefix + 'detector.' +
                       key[len(prefix):]].shape) == tuple(expected[key[len(prefix):]].shape))
        MMLogger.get_current_instance().info(
            f'Plain {type(self.detector).__name__} checkpoint: loaded {loaded} of the detector\'s '
            f'{len(expected)} weights (under detector.); ROCK (rock.*) starts from its own '
            'initialisation.')

    def _refine(self, batch_inputs: Tensor) -> tuple:
        """(B, 3, H, W) images -> (backbone outputs, ROCK-refined outputs, ``{task: maps}``)."""
        backbone_feats = self.detector.backbone(batch_inputs)
        refined, task_maps = self.rock.forward_with_aux(backbone_feats)
        return backbone_feats, refined, task_maps

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tuple[Tensor, ...], Dict[str, Tensor]]:
        """Backbone, ROCK, then the detector's neck.

        Args:
            batch_inputs (Tensor): Preprocessed images of shape (B, 3, H, W).

        Returns:
            tuple[tuple[Tensor, ...], dict[str, Tensor]]: Features for the detector's heads,
            (B, C_l, H_l, W_l) per level, and the task maps ``{task: (B, M_t, h, w)}``.
        """
        _, feats, task_maps = self._refine(batch_inputs)
        if self.detector.with_neck:
            feats = self.detector.neck(feats)
        return feats, task_maps

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """The detector's and the auxiliary losses, weighed by the loss balancer.

        Args:
            batch_inputs (Tensor): Preprocessed images (B, 3, H, W).
            batch_data_samples (list[:obj:`DetDataSample`]): The batch's samples with
                ``gt_instances`` and the auxiliary labels.

        Returns:
            dict[str, Tensor | list[Tensor]]: The detector's losses, the auxiliary ones and the
            balancer's entries, plus two logged statistics of the refined level (no ``loss`` in
            their names, so not optimised): ``rock_input_rms``, the RMS of the backbone's
            features there, and ``rock_residual_rms``, the RMS of what ROCK adds to them
            (refined - input; 0 for flat MTL).
        """
        backbone_feats, refined, task_maps = self._refine(batch_inputs)
        feats = self.detector.neck(refined) if self.detector.with_neck else refined
        losses = self.detector_heads.loss(self.detector, feats, batch_data_samples)
        losses = self.loss_balancer(losses, self.rock.loss(task_maps, batch_data_samples), self)
        index = getattr(self.rock, 'in_index', None)
        if index is not None:
            # fp32 whatever the autocast dtype, as the losses (logged values must compare)
            before = backbone_feats[index].detach().float()
            losses['rock_input_rms'] = before.pow(2).mean().sqrt()
            losses['rock_residual_rms'] = (refined[index].detach().float() -
                                           before).pow(2).mean().sqrt()
        return losses

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Detections, and the auxiliary predictions where ``predict_aux``.

        Args:
            batch_inputs (Tensor): Preprocessed images (B, 3, H, W).
            batch_data_samples (list[:obj:`DetDataSample`]): The batch's samples (metainfo).
            rescale (bool): Boxes in the original image's coordinates. Defaults to True.

        Returns:
            list[:obj:`DetDataSample`]: The samples with ``pred_instances`` (and
            ``pred_scene_scores``, ``pred_depth``, ``pred_normals``...).
        """
        feats, task_maps = self.extract_feat(batch_inputs)
        results_list = self.detector_heads.predict(self.detector, feats, batch_data_samples,
                                                   rescale)
        results = self.detector.add_pred_to_datasample(batch_data_samples, results_list)
        if self.predict_aux:
            self.rock.predict(task_maps, results)
        return results

    def _forward(self, batch_inputs: Tensor, batch_data_samples: OptSampleList = None) -> tuple:
        """Raw outputs, without post-processing.

        Args:
            batch_inputs (Tensor): Preprocessed images (B, 3, H, W).
            batch_data_samples (list[:obj:`DetDataSample`], optional): The batch's samples.

        Returns:
            tuple: (what the detector's ``_forward`` returns, ``{task: pooled prediction}``).
        """
        feats, task_maps = self.extract_feat(batch_inputs)
        det_outs = self.detector_heads.forward(self.detector, feats, batch_data_samples)
        aux = {name: head(task_maps[name]) for name, head in self.rock.aux_heads.items()}
        return det_outs, aux
