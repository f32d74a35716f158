"""The converters live in the torch-free package :mod:`mmrock_data.converters`; this package
keeps :mod:`.errors` importable as ``mmrock.datasets.converters.errors``."""
