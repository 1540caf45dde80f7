"""Shared fixtures. Real data is read in place from EMSYNC_SHARED_DATA (default ../shared/data)
and tests that need it skip cleanly when it is absent."""
import os

import pytest

from emsync import env

env.apply_defaults()

from emsync.config import shared_data_dir  # noqa: E402


@pytest.fixture(scope="session")
def shared_data():
    d = shared_data_dir()
    if not (d / "MANIFEST.md").exists():
        pytest.skip(f"real data folder not found at {d} (set EMSYNC_SHARED_DATA)")
    return d
