"""The demo LMD/MSD/Spotify tables, FluidSynth audio renders and GoEmotions-format text."""

import csv
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from emsync.demo.audio import audio_songs, build_audio, read_wav, render_audio_item
from emsync.demo.text import build_goemotions
from emsync.lyrics.labels import GO28

ARCHIVE_HEADER = ["track_id", "song_id", "artist", "title", "spotify_ids", "tempo", "valence", "energy"]


@pytest.fixture(scope="module")
def lmd(demo_corpus):
    d = demo_corpus.root / "lmd"
    return {
        "scores": json.loads((d / "match_scores.json").read_text()),
        "msd": pd.read_parquet(d / "msd_metadata.parquet"),
        "map": pd.read_csv(d / "echonest_to_spotify.csv"),
        "archive": pd.read_csv(d / "spotify_features.csv"),
        "catalog": json.loads((d / "spotify_catalog.json").read_text()),
        "gt": json.loads((demo_corpus.root / "ground_truth" / "lmd.json").read_text()),
    }


def test_match_scores_chain(demo_corpus, lmd):
    files = demo_corpus.ground_truth["files"]
    scores, truth = lmd["scores"], lmd["gt"]["true_match"]
    per_midi = Counter(m for cands in scores.values() for m in cands)
    assert set(per_midi) <= set(files)  # every candidate is a corpus file
    assert max(per_midi.values()) >= 2 and max(len(c) for c in scores.values()) >= 2
    assert set(scores) <= set(lmd["msd"]["track_id"])
    for midi, track in truth.items():  # the true match is the best-scoring candidate
        mine = {t: c[midi] for t, c in scores.items() if midi in c}
        assert max(mine, key=mine.get) == track
    for group in demo_corpus.ground_truth["duplicate_groups"]:
        assert len({truth[h] for h in group}) == 1  # duplicates match the same track
    assert lmd["gt"]["unmatched_midis"]  # some valid MIDIs are in no match list
    assert any(files[m]["kind"] in ("corrupt", "truncated", "zero_notes") for m in per_midi)


def test_msd_metadata_shape(lmd):
    msd = lmd["msd"]
    assert list(msd.columns) == ["track_id", "song_id", "title", "artist", "release", "year", "duration"]
    assert msd["track_id"].is_unique and msd["track_id"].str.fullmatch(r"TR[A-Z0-9]{16}").all()
    assert msd["release"].isna().any() and msd["year"].isna().any()
    assert any(not t.isascii() for t in msd["title"]) or any(not a.isascii() for a in msd["artist"])


def test_spotify_map_archive_and_catalog(lmd):
    m, arch, cat, gt = lmd["map"], lmd["archive"], lmd["catalog"], lmd["gt"]
    assert list(m.columns) == ["track_id", "spotify_id"] and m.duplicated().any()
    assert m["spotify_id"].str.fullmatch(r"[0-9A-Za-z]{22}").all()
    truth_tracks = set(lmd["gt"]["true_match"].values())
    assert truth_tracks - set(m["track_id"]), "some matched tracks have no Spotify id"
    assert list(arch.columns) == ARCHIVE_HEADER
    assert 0 < len(arch) < len(truth_tracks)
    assert (arch["valence"] == 0.0).any() and arch["valence"].isna().any()
    by_id = {c["id"]: c for c in cat}
    for _, row in arch.dropna(subset=["spotify_ids", "valence"]).iterrows():
        ids = row["spotify_ids"].split()
        assert ids[0] in set(m.loc[m["track_id"] == row["track_id"], "spotify_id"])
        if ids[0] in by_id:
            assert by_id[ids[0]]["audio_features"]["valence"] == row["valence"]
    # search-only tracks: no map row, but the catalog has them under the MSD title + artist
    msd = lmd["msd"].set_index("track_id")
    names = {(c["name"], c["artists"][0]) for c in cat}
    assert gt["search_only"]
    for t in gt["search_only"]:
        assert t not in set(m["track_id"]) and (msd.loc[t, "title"], msd.loc[t, "artist"]) in names


@pytest.mark.shared_data
def test_archive_header_matches_the_thesis_authors_file(shared_data, lmd):
    with open(shared_data / "lakh_spotify" / "cleansed_features.csv", newline="") as f:
        assert next(csv.reader(f)) == ARCHIVE_HEADER == list(lmd["archive"].columns)


def test_audio_render_full_band_stereo(demo_corpus, tmp_path):
    gt = build_audio(tmp_path, seed=demo_corpus.seed, n_audio=1)
    ((audio_id, e),) = gt.items()
    assert audio_id in demo_corpus.ground_truth["files"]  # audio_id = md5 of a corpus MIDI file
    x, sr = read_wav(tmp_path / f"{audio_id}.wav")
    assert sr == 44100 and x.shape[1] == 2 and x.dtype == np.int16
    song = demo_corpus.ground_truth["files"][audio_id]
    assert song["duration"] <= len(x) / sr <= song["duration"] + 8.0  # plus the release/reverb tail
    assert e["duration"] == round(len(x) / sr, 6)
    spec = np.abs(np.fft.rfft(x[: 10 * sr, 0].astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(min(len(x), 10 * sr), 1 / sr)
    above = spec[freqs > 11025].sum() / spec.sum()
    assert above > 1e-4, "no content above the §7.3 cut-off: not full band"  # music: ~4e-4..7e-4
    again, _ = render_audio_item(demo_corpus.seed, audio_songs(demo_corpus.seed, 1)[0])
    assert again == (tmp_path / f"{audio_id}.wav").read_bytes()  # deterministic render


def test_goemotions_format(tmp_path, demo_corpus):
    counts = build_goemotions(tmp_path, seed=3, n_text=100)
    assert counts == {"train": 80, "dev": 10, "test": 10}
    assert (tmp_path / "emotions.txt").read_text().split() == GO28 and len(GO28) == 28
    seen, ids = set(), set()
    for split in ("train", "dev", "test"):
        for line in (tmp_path / f"{split}.tsv").read_text().splitlines():
            text, labels, cid = line.split("\t")
            labs = [int(x) for x in labels.split(",")]
            assert text and all(0 <= k < 28 for k in labs) and cid not in ids
            ids.add(cid)
            seen.update(labs)
    assert len(seen) > 20
    first = (tmp_path / "train.tsv").read_bytes()
    build_goemotions(tmp_path, seed=3, n_text=100)
    assert (tmp_path / "train.tsv").read_bytes() == first


@pytest.mark.shared_data
def test_emotion_names_match_goemotions(shared_data):
    real = (shared_data / "goemotions" / "data" / "original" / "emotions.txt").read_text().split()
    assert real == GO28
