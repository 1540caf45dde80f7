"""Bounds on a request, checked before any work starts (values in params.yaml `limits`)."""

from emsync.core.errors import InputError


def check_limit(what: str, value: float, limit: float, param: str, unit: str = "s"):
    """One line naming the input, the limit and the params key that raises it."""
    if not value <= limit:  # also refuses NaN
        raise InputError(f"{what}: {value:g} {unit} is over the {limit:g} {unit} limit ({param}); raise it in params.yaml to allow it")
