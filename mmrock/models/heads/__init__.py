from .base_aux_head import BaseAuxiliaryHead, MissingAuxiliaryLabelError
from .dense_aux_head import DenseAuxiliaryHead
from .depth_head import DepthHead
from .normal_head import NormalHead
from .presence_head import PresenceHead
from .scene_head import SceneHead
from .segmentation_head import SegmentationHead

__all__ = [
    'BaseAuxiliaryHead', 'MissingAuxiliaryLabelError', 'DenseAuxiliaryHead', 'SceneHead',
    'DepthHead', 'NormalHead', 'PresenceHead', 'SegmentationHead'
]
