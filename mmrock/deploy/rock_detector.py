"""mmdeploy rewrite of ``ROCKDetector.forward``: the wrapped detector's deployed heads on the
ROCK-refined features, plus ROCK's auxiliary predictions the deploy config asks for."""
from typing import List, Sequence

import torch
from mmdeploy.core import FUNCTION_REWRITER
from mmdeploy.utils import get_onnx_config, is_dynamic_shape
from mmdet.structures import DetDataSample
from torch import Tensor

from ..models.detectors import SingleStageHeads
from .nms_pre import nms_pre_problem


@torch.fx.wrap
def _with_img_shape(data_samples, img_shape) -> List[DetDataSample]:
    """The samples (one empty one if None) with ``img_shape`` set in place, as mmdeploy's own
    detector rewrites do (``set_metainfo`` would deep-copy, which breaks the trace)."""
    data_samples = data_samples or [DetDataSample()]
    for sample in data_samples:
        sample.set_field(name='img_shape', value=img_shape, field_type='metainfo')
    return data_samples


def _aux_outputs(deploy_cfg, rock) -> List[str]:
    """Names in the deploy config's ``onnx_config.output_names`` that are ROCK's auxiliary
    predictions (``scene_logits``, ``depth``, ``normals``), in that list's order."""
    names = get_onnx_config(deploy_cfg).get('output_names', [])
    return [name for name in names if name in rock.export_names]


@FUNCTION_REWRITER.register_rewriter('mmrock.models.detectors.rock_detector.ROCKDetector.forward')
def rock_detector__forward(self,
                           batch_inputs: Tensor,
                           data_samples: Sequence = None,
                           mode: str = 'tensor',
                           **kwargs) -> tuple:
    """The exported forward of a :class:`ROCKDetector`.

    Args:
        batch_inputs (Tensor): Preprocessed images of shape (B, 3, H, W).
        data_samples (Sequence[DetDataSample], optional): The batch's samples. Defaults to
            None.
        mode (str): Unused (always 'tensor' in export). Defaults to 'tensor'.
        **kwargs: Unused.

    Returns:
        tuple: What mmdeploy's detector rewrites return (``dets`` (B, N, 5), ``labels``
        (B, N)[, ``masks``]), then the auxiliary predictions named in the deploy config's
        ``output_names`` (see ``ROCKNeck.predict_tensors``).

    Raises:
        ValueError: Where mmdeploy 1.3.1 would silently lose a class
            (:func:`~mmrock.deploy.nms_pre_problem`), one line.
    """
    ctx = FUNCTION_REWRITER.get_context()
    img_shape = torch._shape_as_tensor(batch_inputs)[2:]
    if not is_dynamic_shape(ctx.cfg):
        img_shape = [int(v) for v in img_shape]
    data_samples = _with_img_shape(data_samples, img_shape)
    feats, task_maps = self.extract_feat(batch_inputs)
    if self.detector_heads is SingleStageHeads:
        problem = nms_pre_problem(self.detector.bbox_head, feats)
        if problem:
            raise ValueError(problem)
    # the heads as the detector's family runs them; mmdeploy rewrites their predict
    outputs = self.detector_heads.predict(self.detector, feats, data_samples, rescale=False)
    aux = _aux_outputs(ctx.cfg, self.rock)
    if not aux:
        return outputs
    predictions = self.rock.predict_tensors(task_maps)
    return (*outputs, *(predictions[name] for name in aux))
