from .base_loss_balancer import BaseLossBalancer
from .dynamic_weight_average import DynamicWeightAverage
from .fixed_weights import FixedWeights
from .grad_norm import GradNorm
from .uncertainty_weighting import UncertaintyWeighting

__all__ = [
    'BaseLossBalancer', 'FixedWeights', 'UncertaintyWeighting', 'DynamicWeightAverage', 'GradNorm'
]
