from .base_aux_head import BaseAuxiliaryHead, MissingAuxiliaryLabelError
from .dense_aux_head import DenseAuxiliaryHead
from .depth_head import DepthHead
from .normal_head import NormalHead
from .presence_head import PresenceHead
from .scene_head import SceneHead

__all__ = [
    'BaseAuxiliaryHead', 'MissingAuxiliaryLabelError', 'DenseAuxiliaryHead', 'SceneHead',
    'DepthHead', 'NormalHead', 'PresenceHead'
]
