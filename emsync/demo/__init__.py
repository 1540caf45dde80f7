"""Embedded demo data (issue 2, item 6): a seeded, offline, LMD/MSD/Spotify/video/audio/text corpus
with ground truth beside it, so every later stage runs end to end without downloads."""

import hashlib
from pathlib import Path


def code_version() -> str:
    """Digest of this package's source: part of every demo task's cache key."""
    h = hashlib.md5()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()
