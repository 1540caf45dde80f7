"""Shared fixtures. Real data is read in place from EMSYNC_SHARED_DATA (default ../shared/data)
and tests that need it skip cleanly when it is absent."""

import os
import tempfile

import pytest

from emsync import env
from emsync.config import shared_data_dir

# Tests keep their Prefect task cache and default reports folder out of the repository, so a
# developer's own pipeline runs never turn a test's "first run" into cache hits (and vice versa).
_TMP = tempfile.mkdtemp(prefix="emsync-tests-")
os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", os.path.join(_TMP, "prefect_results"))
os.environ.setdefault("EMSYNC_REPORTS_DIR", os.path.join(_TMP, "reports"))
env.apply_defaults()


@pytest.fixture(scope="session")
def shared_data():
    d = shared_data_dir()
    if not (d / "MANIFEST.md").exists():
        pytest.skip(f"real data folder not found at {d} (set EMSYNC_SHARED_DATA)")
    return d


# --- demo data fixtures (emsync/demo): small seeded trees in the data/demo layout -------------


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory):
    """40 LMD-like MIDI files + 4 planted duplicates + corrupt/truncated/empty/zero-note files,
    ground_truth/midi.json and the lmd/ tables. Attributes: root, midi_dir, ground_truth, seed."""
    from emsync.demo.build import build_demo_corpus

    return build_demo_corpus(tmp_path_factory.mktemp("demo_corpus"), seed=7, n_midi=40, n_duplicates=4)


@pytest.fixture(scope="session")
def demo_videos(tmp_path_factory):
    """4 short clips (6-12 s) with ground_truth/videos.json: demo00 speech + caption, demo01 music,
    demo02 no audio stream + caption, demo03 silence. Attributes: root, videos_dir, ground_truth, seed."""
    from emsync.demo.build import build_demo_videos

    return build_demo_videos(tmp_path_factory.mktemp("demo_videos"), seed=7, n_videos=4, min_s=6.0, max_s=10.0)
