from .dense_targets import labelled_indices, masked_downsample, stack_dense_targets

__all__ = ['labelled_indices', 'masked_downsample', 'stack_dense_targets']
