"""The converters' and loaders' errors, defined in :mod:`mmrock_data.converters.errors`."""
from mmrock_data.converters.errors import ConversionError, DataFormatError

__all__ = ['ConversionError', 'DataFormatError']
