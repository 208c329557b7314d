"""The errors tfgan2 raises for problems a user can fix. Each message names the problem and the
fix; the commands print them in one line. Any other exception is a bug and keeps its traceback.

They derive from the built-in type a Python user would catch for them (ValueError for bad
settings and data, RuntimeError for a run that cannot go on), and all from `Error`.
"""


class Error(Exception):
    """A problem with the user's settings, data, files or environment, fixable as its message says."""


class ConfigError(Error, ValueError):
    """A setting, argument or flag value that cannot work."""


class DataError(Error, ValueError):
    """Images or labels that cannot be read or used as given."""


class RunError(Error, ValueError):
    """A run folder (record, checkpoints, outputs) that cannot be used as asked."""


class ExportError(Error, ValueError):
    """An export that cannot be written, found or loaded."""
