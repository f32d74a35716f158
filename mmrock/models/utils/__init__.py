from .dense_targets import labelled_indices, masked_downsample, select_labelled, stack_dense_targets

__all__ = ['labelled_indices', 'masked_downsample', 'select_labelled', 'stack_dense_targets']
