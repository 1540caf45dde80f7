"""The xdist order and guard in tests/conftest.py: a test that builds a minutes-long session fixture
outside its file is refused (it would be built again on another worker); the long files go first."""

import types
from pathlib import Path

import pytest

from conftest import pytest_collection_modifyitems


def _item(file, fixtures=(), slow=False):
    return types.SimpleNamespace(
        path=Path("tests") / file,
        nodeid=f"tests/{file}::t",
        fixturenames=list(fixtures),
        get_closest_marker=lambda name: object() if (slow and name == "slow") else None,
    )


def test_a_shared_fixture_outside_its_file_is_refused():
    with pytest.raises(pytest.UsageError, match="tests/test_pipeline_e2e.py"):
        pytest_collection_modifyitems(None, [_item("test_other.py", ["demo_pipeline"])])


def test_the_shared_fixture_files_then_slow_files_then_the_rest():
    items = [
        _item("test_a.py"),
        _item("test_b.py", slow=True),
        _item("test_classify_training.py", ["classify_videos"]),
        _item("test_pipeline_e2e.py", ["demo_pipeline"]),
        _item("test_a.py"),
    ]
    pytest_collection_modifyitems(None, items)
    assert [i.path.name for i in items] == ["test_pipeline_e2e.py", "test_classify_training.py", "test_b.py", "test_a.py", "test_a.py"]
