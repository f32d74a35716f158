"""Errors of the dataset converters and loaders: one line each, naming the file."""


class ConversionError(Exception):
    """A conversion that cannot be done; the message is a single line."""

    def __init__(self, message: str) -> None:
        super().__init__(' '.join(str(message).split()))


class DataFormatError(ConversionError):
    """An input file is missing or not in the expected format.

    The message is one line: ``<file>: <problem>``; ``path`` and ``problem`` are kept apart too.
    """

    def __init__(self, path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f'{path}: {problem}')

    def __reduce__(self):
        # raised in a worker process, it crosses to the parent pickled
        return type(self), (self.path, self.problem)
