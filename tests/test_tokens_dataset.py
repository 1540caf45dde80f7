"""Training chunks (§4.4): the 5 % start rule, transposition, CHORD dropout, labels, determinism."""

import numpy as np
import pandas as pd
import pytest
import torch

from emsync.music import vocab as V
from emsync.music.corpus import add_shard, finish_outputs, list_files, recover_shards, tokenize_batch
from emsync.music.dataset import ChunkConfig, ChunkDataset, sample_chunk, transpose
from emsync.music.offsets import boundary_offsets
from emsync.music.tokenizer import encode
from tests._tokens_helpers import song_from_notes


def long_song(n_bars=120):
    """Drums + bass + piano chords (pitches 40..80, so no transposition drops a note)."""
    notes = []
    for b in range(n_bars):
        t = 2.0 * b
        notes += [(V.DRUMS, 36, t, t + 0.1), (V.DRUMS, 42, t + 1, t + 1.1), (V.BASS, 40 + b % 5, t, t + 1.0)]
        notes += [(V.PIANO, p, t, t + 1.0) for p in (60, 64, 67)]  # 2 beats at 120 bpm: strong chords
    return encode(song_from_notes(notes, downbeats=np.arange(n_bars) * 2.0)).ids.astype(np.int64)


CFG = ChunkConfig(chunk_len=256)


def test_five_percent_of_chunks_start_at_the_song_start():
    seq = long_song()
    n, starts = 4000, 0
    for i in range(n):
        tokens, offsets, from_start = sample_chunk(seq, np.random.default_rng(i), CFG)
        assert tokens.shape == offsets.shape == (256,) and tokens[0] == V.MORE  # 3 instruments
        assert (tokens[1] == V.START) == from_start and (V.START not in tokens[2:])
        starts += from_start
    sigma = (0.05 * 0.95 / n) ** 0.5
    assert abs(starts / n - 0.05) < 4 * sigma


def test_transposition_spares_drums_and_covers_minus3_to_3():
    seq = long_song()
    cfg = ChunkConfig(chunk_len=256, start_prob=1.0, chord_dropout=0.0)
    seen = []
    for i in range(350):
        tokens, _, _ = sample_chunk(seq, np.random.default_rng(i), cfg)
        orig = seq[:256]
        assert np.array_equal(V.INSTRUMENT[tokens], V.INSTRUMENT[orig])  # same events, same order
        drums = V.INSTRUMENT[orig] == V.DRUMS
        assert np.array_equal(tokens[drums], orig[drums])
        moved = V.IS_NOTE[orig] & ~drums
        k = np.unique(V.PITCH[tokens[moved]] - V.PITCH[orig[moved]])
        assert len(k) == 1
        seen.append(int(k[0]))
    counts = np.bincount(np.array(seen) + 3, minlength=7)
    assert len(counts) == 7 and counts.min() > 25  # all of -3..3, roughly uniform (50 expected each)


def test_transpose_drops_notes_pushed_out_of_range():
    ids = np.array([V.on_id(V.PIANO, 107), V.on_id(V.DRUMS, 107), V.shift_id(8), V.off_id(V.PIANO, 107), V.off_id(V.DRUMS, 107)])
    assert [V.id_to_token(i) for i in transpose(ids, 2)] == ["DRUMS_ON_107", "TIMESHIFT_8", "DRUMS_OFF_107"]
    assert [V.id_to_token(i) for i in transpose(ids, -2)][0] == "PIANO_ON_105"


def test_chord_dropout_removes_a_fifth_of_chords_and_their_boundaries():
    seq = long_song()
    cfg = ChunkConfig(chunk_len=4000, start_prob=1.0, transpose_min=0, transpose_max=0)
    n_orig = int((seq == V.CHORD).sum())
    assert n_orig == 120
    kept = []
    for i in range(50):
        tokens, offsets, _ = sample_chunk(seq, np.random.default_rng(i), cfg)
        body = tokens[1:][tokens[1:] != V.PAD]
        kept.append((body == V.CHORD).sum() / n_orig)
        assert np.allclose(offsets[1 : 1 + len(body)], boundary_offsets(body, cfg.max_offset_s))
        assert np.array_equal(body[body != V.CHORD], seq[1:][seq[1:] != V.CHORD])  # nothing else removed
    assert abs(np.mean(kept) - 0.8) < 0.03


@pytest.fixture(scope="module")
def token_dir(demo_corpus, tmp_path_factory):
    files = list_files(demo_corpus.midi_dir)
    items = list(files.items())
    results = {0: tokenize_batch(items[:20]), 1: tokenize_batch(items[20:])}
    ids = sorted(r["midi_id"] for res in results.values() for r in res["rows"])
    labels = pd.DataFrame(
        {
            "midi_id": ids,
            "valence": np.linspace(-0.9, 0.9, len(ids)),
            "arousal": [np.nan if i % 3 == 0 else 0.5 for i in range(len(ids))],
            "split": ["test" if i % 10 == 0 else "train" for i in range(len(ids))],
        }
    )
    labels.loc[1, "valence"] = np.nan
    out = tmp_path_factory.mktemp("tokens")
    rows, rejects = [], []
    for k in sorted(results):  # as flows/tokens.py does, shard by shard
        add_shard(out, k, results[k], rows, rejects)
    index = finish_outputs(out, rows, rejects, labels)
    return out, index, rejects, labels


def test_corpus_files_index_and_rejects(token_dir):
    out, index, rejects, labels = token_dir
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["00000.npy", "00001.npy"]
    # broken files and files without notes are rejected by the one MIDI validator, with its reason
    assert {r["reason"].split(":")[0] for r in rejects} == {"MidiInputError"}
    assert {"zero_notes", "truncated"} <= {r["reason"].split("(")[1].split(":")[0] for r in rejects}
    assert len(index) >= 40 and index["midi_id"].is_unique
    merged = index.merge(labels, on="midi_id", suffixes=("", "_l"))
    assert np.allclose(merged["valence"], merged["valence_l"], equal_nan=True)
    assert merged["arousal"].isna().sum() == labels["arousal"].isna().sum()
    shard = np.load(out / "shards" / "00000.npy")
    r = index[index["shard"] == 0].iloc[0]
    seq = shard[r["offset"] : r["offset"] + r["n_tokens"]]
    assert seq[1] == V.START and seq[0] in (V.FEWER, V.MORE)
    times = np.cumsum(V.TIMESHIFT_MS[seq.astype(np.int64)])[seq == V.CHORD] / 1000
    assert np.allclose(times, r["chord_times"])  # exported chord times = CHORD token times


def test_dataset_items_are_tensors_and_deterministic(token_dir):
    out, index, _, _ = token_dir
    ds = ChunkDataset(out, split="train", chunk_len=128, seed=3)
    assert len(ds) == (index["split"] == "train").sum()
    tokens, offsets, v, a = ds[0]
    assert tokens.dtype == torch.long and tokens.shape == (128,) and offsets.dtype == torch.float32
    assert v.shape == () and a.shape == ()
    assert isinstance(ds.corpus._shard(0), np.memmap)  # shards are memory-mapped, not loaded
    again = ChunkDataset(out, split="train", chunk_len=128, seed=3)
    for i in range(len(ds)):
        assert all(torch.equal(x, y) for x, y in zip(ds[i], again[i]) if not x.isnan().any())
    other = ChunkDataset(out, split="train", chunk_len=128, seed=4)
    assert any(not torch.equal(ds[i][0], other[i][0]) for i in range(len(ds)))
    ds.set_epoch(1)
    assert any(not torch.equal(ds[i][0], again[i][0]) for i in range(len(ds)))
    mid = index.set_index("midi_id").loc[ds.corpus.index["midi_id"]]
    vals = torch.stack([ds[i][2] for i in range(len(ds))]).numpy()
    assert np.allclose(vals, mid["valence"].to_numpy(), equal_nan=True)


def test_shards_replaced_without_a_moment_of_loss(token_dir):
    """finish_outputs swaps shards/ by two renames; a run killed between them gets the old set back."""
    out, *_ = token_dir
    before = sorted(p.name for p in (out / "shards").iterdir())
    (out / "shards").rename(out / "shards.old")  # the state after the first rename
    recover_shards(out)
    assert sorted(p.name for p in (out / "shards").iterdir()) == before and not (out / "shards.old").exists()
