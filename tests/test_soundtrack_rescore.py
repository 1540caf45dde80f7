"""Re-scoring a re-cut video (`emsync soundtrack NEW --keep PREVIOUS.json`): the music is kept note
for note up to ξ before the first changed boundary, and the regenerated rest sees the new cut coming
(it gets its chord as in a fresh run); a cut moved earlier shortens the kept part."""

import contextlib
import io
import json

import numpy as np
import pretty_midi
import pytest
import torch

from emsync.cli import main
from emsync.music import vocab as V
from emsync.soundtrack.rescore import first_change, kept_tokens

from emsync.music.generator import save_generator

from _model_helpers import PIANO_KEYS, one_thread, tiny_model  # noqa: F401 (autouse fixture)
from _videos import cut_video

FIRST = [5.0, 5.0, 5.0, 6.5, 4.0]  # cuts 5, 10, 15, 21.5: all boundaries; 25.5 s
RECUT = [5.0, 5.0, 5.0, 8.0, 4.5]  # the same first 21.5 s, then the fourth cut moved to 23 s; 27.5 s


def boundary_chord_model(seed: int = 0):
    """A tiny model that plays a CHORD when a boundary is under 0.5 s ahead, by construction: the
    blocks pass their input through, FFN_b writes 800 x relu(0.05 - offset / δ_max) into feature 0
    that then dominates the final LayerNorm, and the head reads that feature into the CHORD logit;
    otherwise it plays piano notes over 200 ms TIMESHIFTs, leaning to higher keys the further the
    next boundary (feature 1: 3 x offset / δ_max), so a changed boundary changes the notes played
    while it is the next one. It stands in for a trained generator when testing that the boundaries ahead
    reach the regenerated music."""
    model = tiny_model(None, seed, max_len=64)
    with torch.no_grad():
        for blk in model.blocks:
            for lin in (blk.attn.proj, blk.ff[2]):
                lin.weight.zero_(), lin.bias.zero_()
        model.tok_emb.weight[:, :3] = 0.0  # features 0-2 carry only what FFN_b writes
        b = model.ffn_b.net
        b[0].weight.zero_(), b[0].bias.zero_(), b[2].weight.zero_(), b[2].bias.zero_()
        b[0].weight[0, 0], b[0].bias[0] = -1.0, 0.05  # relu(0.05 - offset / 10 s): > 0 only within 0.5 s of a boundary
        b[2].weight[0, 0] = 800.0  # into feature 0 (the boundary half of the positional encoding)
        b[0].weight[1, 0], b[2].weight[1, 1] = 1.0, 3.0  # feature 1: 3 x offset / 10 s
        b[2].bias[2] = 10.0  # feature 2: a constant 10, the scale the final LayerNorm measures the others against
        model.head.weight.zero_()
        model.head.bias.fill_(-10.0)
        model.head.bias[V.shift_id(200)] = 3.0
        for p in PIANO_KEYS:
            model.head.bias[V.on_id(V.PIANO, p)], model.head.bias[V.off_id(V.PIANO, p)] = 0.5, 1.2
            model.head.weight[V.on_id(V.PIANO, p), 1] = (p - 66) / 4
        model.head.bias[V.CHORD], model.head.weight[V.CHORD, 0] = -6.0, 1.5
    return model.eval()


def test_first_change_is_the_earliest_boundary_that_differs_in_either_run():
    assert first_change([5, 10, 21.5], [5, 10.04, 23], 25.5, 27.5, match_s=0.1) == 21.5  # moved later: its old place
    assert first_change([5, 10, 21.5], [5, 10, 21.5, 24], 25.5, 27.5, match_s=0.1) == 24  # one added, the end moved later
    assert first_change([5, 10, 21.5], [5, 8, 10, 21.5], 25.5, 25.5, match_s=0.1) == 8  # a cut added earlier: keep less
    assert first_change([5, 10, 21.5], [5, 10, 12], 25.5, 25.5, match_s=0.1) == 12  # 21.5 moved earlier, to 12: 12
    assert first_change([5, 10], [5, 10], 20.0, 18.0, match_s=0.1) == 18.0  # only shortened: the new end
    assert first_change([5, 10], [5.05, 10], 20.0, 20.0, match_s=0.1) is None  # within a frame: nothing changed


def test_kept_tokens_stop_before_the_timeshift_that_crosses_the_time():
    ids = [V.MORE, V.START, V.BAR, V.shift_id(1000), V.on_id(V.PIANO, 60), V.shift_id(1000), V.CHORD, V.shift_id(504)]
    assert list(kept_tokens(ids, 1.5)) == ids[:5] and list(kept_tokens(ids, 2.0)) == ids[:7] and list(kept_tokens(ids, 9)) == ids


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("rescore")
    save_generator(d / "checkpoint.pt", boundary_chord_model())
    (d / "params.yaml").write_text("generate:\n  slide_stride: 16\n  cpu_int8: false\n")
    first, _ = cut_video(d / "first.mp4", FIRST, size="96x64", audio=None)
    recut, _ = cut_video(d / "recut.mp4", RECUT, size="96x64", audio=None)
    mp = pytest.MonkeyPatch()
    mp.setenv("EMSYNC_PARAMS", str(d / "params.yaml"))

    def score(video, name, *argv):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = main(["soundtrack", str(video), "-o", str(d / f"{name}_scored.mp4"), "--checkpoint", str(d / "checkpoint.pt"), "-q", "--json",
                       "--midi", str(d / f"{name}.mid"), *argv])  # fmt: skip
        assert rc == 0
        (d / f"{name}.json").write_text(buf.getvalue())
        return json.loads(buf.getvalue())

    out = {"dir": d, "first": score(first, "first", "--seed", "4", "--valence", "0.5", "--arousal", "-0.3")}
    out["kept"] = score(recut, "kept", "--keep", str(d / "first.json"))
    out["fresh"] = score(recut, "fresh", "--seed", "4", "--valence", "0.5", "--arousal", "-0.3")
    mp.undo()
    return out


def notes(path):
    return sorted((n.start, n.end, n.pitch, n.velocity, i.name) for i in pretty_midi.PrettyMIDI(str(path)).instruments for n in i.notes)


def test_the_first_20_s_are_kept_note_for_note(runs):
    d, first, kept = runs["dir"], runs["first"], runs["kept"]
    r = kept["rescore"]
    assert r["first_change_s"] == pytest.approx(21.5, abs=0.05) and r["kept_until_s"] == pytest.approx(20.5, abs=0.05)
    assert r["removed_boundaries"] == pytest.approx([21.5], abs=0.05) and r["added_boundaries"] == pytest.approx([23.0], abs=0.05)
    k = r["kept_tokens"]
    assert kept["token_ids"][:k] == first["token_ids"][:k] and kept["token_ids"] != first["token_ids"]
    a, b = notes(d / "first.mid"), notes(d / "kept.mid")
    assert len([n for n in a if n[1] <= 20.0]) >= 10  # notes to compare
    assert [n for n in a if n[1] <= 20.0] == [n for n in b if n[1] <= 20.0]  # every note that ends by 20 s, identical
    assert [n[0] for n in a if n[0] < 20.0] == [n[0] for n in b if n[0] < 20.0]  # every note that starts by then too
    assert (kept["seed"], kept["valence"], kept["arousal"]) == (4, 0.5, -0.3)  # the same seed and condition
    # from scratch, the moved cut changes the offsets (so the music) from the boundary before it, 15 s
    fresh = notes(d / "fresh.mid")
    assert [n for n in fresh if n[0] < 14.5] == [n for n in a if n[0] < 14.5]
    assert [n for n in fresh if 15.0 <= n[0] < 20.0] != [n for n in a if 15.0 <= n[0] < 20.0]


def test_the_new_cut_gets_its_chord_as_in_a_fresh_run(runs):
    kept, fresh = runs["kept"], runs["fresh"]
    assert kept["boundaries"] == fresh["boundaries"] == pytest.approx([5, 10, 15, 23], abs=0.05)

    def distance(s, b):  # seconds from the boundary to the nearest generated chord
        return min(abs(c - b) for c in s["chord_times"])

    assert distance(kept, 23.0) < 1.0 and distance(fresh, 23.0) < 1.0  # both hit it (ξ = 1 s)
    assert kept["boundary_hit"] == fresh["boundary_hit"] == [True] * 4


def test_keep_refuses_flags_that_would_change_the_kept_music(runs, monkeypatch, capsys):
    d = runs["dir"]
    monkeypatch.setenv("EMSYNC_PARAMS", str(d / "params.yaml"))
    for argv, msg in ((["--valence", "0.1"], "reuses the previous run's emotion"), (["--seed", "5"], "previous run's seed 4")):
        rc = main(["soundtrack", str(d / "recut.mp4"), "-o", str(d / "x.mp4"), "--checkpoint", str(d / "checkpoint.pt"), "-q",
                   "--keep", str(d / "first.json"), *argv])  # fmt: skip
        err = capsys.readouterr().err
        assert rc == 1 and msg in err and len(err.strip().splitlines()) == 1, err
    (d / "bad.json").write_text(json.dumps({"seed": 1}))
    rc = main(["soundtrack", str(d / "recut.mp4"), "-o", str(d / "x.mp4"), "--checkpoint", str(d / "checkpoint.pt"), "-q", "--keep",
               str(d / "bad.json")])  # fmt: skip
    assert rc == 1 and "no token_ids, boundaries" in capsys.readouterr().err
    assert not (d / "x.mp4").exists() and np.isfinite(runs["kept"]["duration_s"])
