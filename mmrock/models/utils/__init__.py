from .dense_targets import labelled_indices, masked_downsample, select_labelled, stack_dense_targets
from .prediction_grid import covering_cells, group_mean

__all__ = [
    'covering_cells', 'group_mean', 'labelled_indices', 'masked_downsample', 'select_labelled',
    'stack_dense_targets'
]
