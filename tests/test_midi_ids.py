"""midi_id is unique for any folder tree and tables hold no clone path: two files
named Imagine.mid in different folders get two rows; LMD md5 names keep their ids."""

import shutil

from emsync.labeling import stage
from emsync.labeling.scan import list_midi, scan
from emsync.music import corpus
from emsync.music.midi_ids import midi_ids, relative_text

MD5 = "d6caebd1964d9e4a3c5ea59525230e2d"


def _tree(root, shared_data):
    src = sorted((shared_data / "midi").glob("*.mid"))
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    shutil.copy(src[0], root / "a" / "Imagine.mid")
    shutil.copy(src[1], root / "b" / "Imagine.mid")  # same name, other song
    lmd = next(p for p in src if len(p.stem) == 32)  # the LMD md5-named file
    shutil.copy(lmd, root / "b" / lmd.name)
    (root / "a" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    return lmd.stem


def test_ids_unique_per_tree_and_md5_stems_unchanged(tmp_path, shared_data):
    md5 = _tree(tmp_path, shared_data)
    ids = midi_ids(list_midi(tmp_path), tmp_path)
    assert sorted(ids.values()) == sorted(["a/Imagine.mid", "b/Imagine.mid", md5, "broken"])
    assert midi_ids([tmp_path / "x" / f"{MD5}.mid"], tmp_path) == {tmp_path / "x" / f"{MD5}.mid": MD5}
    # the tokens stage lists the same keys, so labels join: two rows for the two Imagine.mid
    assert sorted(corpus.list_files(tmp_path)) == sorted(ids.values())


def test_labeling_rows_have_relative_paths_and_no_clone_path(tmp_path, shared_data):
    _tree(tmp_path, shared_data)
    rows = stage.rekey(tmp_path, scan(list_midi(tmp_path), workers=1))
    valid, rejects = stage.split_scan(rows)
    assert sorted(valid["midi_id"])[:2] == ["a/Imagine.mid", "b/Imagine.mid"]
    assert valid["content_hash"].nunique() == len(valid) == 3  # two files, two rows, never merged
    assert set(valid["path"]) | set(rejects["path"]) == {
        "a/Imagine.mid",
        "b/Imagine.mid",
        f"b/{valid['midi_id'].iloc[2]}.mid",
        "a/broken.mid",
    }
    for df in (valid, rejects):
        text = df.select_dtypes(include="object").astype(str)
        assert not text.apply(lambda c: c.str.contains(str(tmp_path), regex=False)).any().any()
    assert relative_text(f"{tmp_path}/a/broken.mid: bad header", tmp_path) == "a/broken.mid: bad header"
