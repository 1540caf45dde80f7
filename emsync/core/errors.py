"""Errors a user can act on. The CLI prints them as one line (no traceback unless --debug)."""


class EmsyncError(Exception):
    """Base class: the message names the input and the problem."""


class ParamsError(EmsyncError):
    """params.yaml is malformed, has an unknown key, or a value of the wrong type."""


class InputError(EmsyncError):
    """An input file or folder is missing, unreadable or malformed."""


class DiskFullError(EmsyncError):
    """No space left where an output goes: the command or stage fails (never a recorded skip),
    no partial file is kept, and DVC records nothing."""


class DataCheckError(EmsyncError):
    """A great_expectations suite failed on a table the pipeline produced."""
