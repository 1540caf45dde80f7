"""One checkpoint format for every network here: {"config", "state_dict", "extra"} in one torch
archive, so a checkpoint always says what it is. Bytes out, file object (or bytes) in: where the
bytes go, atomically, is the caller's business (emsync.core.io.write_bytes)."""

import io
from typing import Any, Callable

import torch
import torch.nn as nn


def to_bytes(model: nn.Module, extra: dict | None = None) -> bytes:
    """The checkpoint of `model` (which has a `cfg` with `to_dict()`), byte-for-byte reproducible:
    torch.save into a buffer, because saving to a temp file embeds its random name in the archive."""
    buf = io.BytesIO()
    torch.save({"config": model.cfg.to_dict(), "state_dict": model.state_dict(), "extra": extra or {}}, buf)  # type: ignore[operator]
    return buf.getvalue()


def load(f: Any, build: Callable[[dict], nn.Module], map_location: Any = "cpu") -> tuple[Any, dict]:
    """(model built by `build(config dict)` with the stored weights, in eval mode; extra) from a
    file object or the bytes of a checkpoint."""
    if isinstance(f, (bytes, bytearray)):
        f = io.BytesIO(f)
    payload = torch.load(f, map_location=map_location, weights_only=False)
    model = build(payload["config"])
    model.load_state_dict(payload["state_dict"])
    return model.eval(), payload.get("extra", {})
