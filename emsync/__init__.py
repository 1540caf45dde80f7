"""emsync: video-based music generation (S. Sulun, Video-based Music Generation, 2025)."""

import importlib.util
import sys
from pathlib import Path

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent
_FOLDERS = ("models", "tasks", "flows")


class _CheckoutFolders:
    """Import finder for a checkout: emsync.models/.tasks/.flows are its top-level folders."""

    @staticmethod
    def find_spec(name: str, path=None, target=None):
        parent, _, child = name.rpartition(".")
        if parent != __name__ or child not in _FOLDERS:
            return None
        folder = _HERE.parent / child
        return importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])


# A wheel installs models/, tasks/ and flows/ as emsync/models etc. (pyproject's package-dir); a
# checkout keeps them at its root, so there this finder (first on sys.meta_path) loads them from there.
if not (_HERE / "models").exists() and (_HERE.parent / "models" / "__init__.py").is_file():
    sys.meta_path.insert(0, _CheckoutFolders)
