"""One device resolver for every stage and command."""

import torch

from emsync.core.errors import InputError


def resolve_device(name: str = "auto") -> torch.device:
    """auto -> cuda when a GPU is available, else cpu; a clear error for cuda without a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {name!r} requested but no CUDA GPU is available (use 'auto' or 'cpu')")
    return torch.device(name)
