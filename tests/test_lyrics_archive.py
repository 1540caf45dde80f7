"""Import of the author's published lyric labels (Emotion4MIDI, §3.2.3.2) keyed by midi_id."""

import pytest

from emsync.core.errors import InputError
from emsync.lyrics.archive import load_archive
from emsync.lyrics.labels import EKMAN7, GO28, TABLE_3_2, columns, read_mapping, to_ekman


@pytest.fixture(scope="module")
def archive(shared_data):
    return load_archive(shared_data / "lyrics_emotions")


def test_archive_counts_match_the_thesis(archive):
    # §3.2.2: 12,509 files, 8,386 from Lakh and 4,123 from Reddit
    assert len(archive) == 12509 and archive["midi_id"].is_unique
    assert archive["dataset"].value_counts().to_dict() == {"lakh": 8386, "reddit": 4123}
    assert archive[columns(7) + columns(28)].notna().all().all()


def test_known_md5_has_the_published_probabilities(archive):
    row = archive.set_index("midi_id").loc["b97c529ab9ef783a849b896816001748"]  # the LPD file in shared/data
    assert row["archive_file"] == "lakh/b/b97c529ab9ef783a849b896816001748.mid"
    assert row["p7_joy"] == 0.9295 and row["p7_neutral"] == 0.0585
    assert row["p28_love"] == 0.5579 and row["p28_neutral"] == 0.6503


def test_imagine_matches_thesis_tables_3_5_and_3_6(archive):
    row = archive.set_index("midi_id").loc["58c076b72d5115486c09a7d9e6df1029"]  # John Lennon - Imagine
    assert [row[c] for c in columns(7)] == [0.0051, 0.0003, 0.0005, 0.8072, 0.1953, 0.0013, 0.0754]
    assert row["p28_optimism"] == 0.7554 and row["p28_neutral"] == 0.2954 and row["p28_desire"] == 0.0482


def test_missing_or_malformed_archive(tmp_path):
    with pytest.raises(InputError, match="7labels.csv: lyric-label archive not found"):
        load_archive(tmp_path)
    (tmp_path / "7labels.csv").write_text("file,anger\nlakh/0/x.mid,0.1\n")
    (tmp_path / "28labels.csv").write_text("file\n")
    with pytest.raises(InputError, match="not a 7-label archive"):
        load_archive(tmp_path)


def test_table_3_2_equals_the_published_mapping(shared_data):
    mapping = read_mapping(shared_data / "goemotions" / "data" / "original" / "ekman_mapping.json")
    assert mapping == {f: g for g, fs in TABLE_3_2.items() for f in fs} | {"neutral": "neutral"}
    assert sorted(mapping) == sorted(GO28)
    assert to_ekman([GO28.index("nervousness"), GO28.index("pride")]) == [EKMAN7.index("fear"), EKMAN7.index("joy")]


def test_ekman_split_is_the_mapped_original_split(shared_data):
    """GoEmotions' ekman/ files are the original labels under Table 3.2 (first 2,000 rows)."""
    d = shared_data / "goemotions" / "data"
    orig = (d / "original" / "train.tsv").read_text(encoding="utf-8").splitlines()[:2000]
    ekm = (d / "ekman" / "train.tsv").read_text(encoding="utf-8").splitlines()[:2000]
    for o, e in zip(orig, ekm):
        to, lo, co = o.split("\t")
        te, le, ce = e.split("\t")
        assert (to, co) == (te, ce)
        assert to_ekman([int(x) for x in lo.split(",")]) == sorted(int(x) for x in le.split(","))


def test_store_joins_lyric_labels_with_valence_arousal(tmp_path, monkeypatch):
    import duckdb
    import pandas as pd

    from emsync.pipeline import store

    data = tmp_path / "data"
    (data / "labeling").mkdir(parents=True)
    (data / "lyrics").mkdir()
    pd.DataFrame({"midi_id": ["a", "b"], "valence": [0.5, -0.25], "arousal": [0.1, 0.2], "split": ["train", "test"]}).to_parquet(
        data / "labeling" / "labels.parquet"
    )
    pd.DataFrame({"midi_id": ["b", "c"], "p7_joy": [0.9, 0.2]}).to_parquet(data / "lyrics" / "labels.parquet")
    monkeypatch.setenv("EMSYNC_ROOT", str(tmp_path))
    views = store.refresh(tmp_path / "s.duckdb", data)
    assert sorted(views) == ["labeling_labels", "lyrics_labels"]
    monkeypatch.chdir(tmp_path)
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    rows = con.execute("SELECT midi_id, p7_joy, valence FROM lyrics_labels_va ORDER BY midi_id").fetchall()
    assert rows == [("b", 0.9, -0.25), ("c", 0.2, None)]
