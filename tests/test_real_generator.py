"""The real generator shipped in the package: it is there, small, says it is real, and is what
`emsync generate` / `emsync soundtrack` use unless a flag or a param names another checkpoint."""

import dataclasses
from pathlib import Path

import pytest
import torch

from emsync.core.config import Params
from emsync.core.errors import InputError
from emsync.music.generator import PACKAGE_REF, checkpoint_path, load_generator, packaged_checkpoint


def test_the_shipped_checkpoint_is_real_small_float16_and_carded():
    path = packaged_checkpoint()
    assert path.is_file() and path.stat().st_size <= 16 * 2**20
    model, extra = load_generator(path)
    assert extra["weights"]["kind"] == "real" and "music21" in extra["weights"]["trained_on"]
    assert model.cfg.conditioning == "continuous_concat" and model.cfg.boundaries  # the thesis's conditioning
    assert all(p.dtype == torch.float32 for p in model.parameters())  # loaded for float32 compute
    stored = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    assert extra["heldout"]["nll"] < min(extra["heldout"]["ngram"].values())  # beats the n-gram on held-out works
    card = (path.parent / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Training data" in card and "essenFolksong" in card and "## Limits" in card


def test_commands_use_the_shipped_model_unless_a_flag_or_param_names_another(tmp_path):
    p = Params()
    assert p.generate.checkpoint == PACKAGE_REF and checkpoint_path(p) == packaged_checkpoint()
    assert checkpoint_path(p, "mine.pt") == Path("mine.pt").resolve()  # a flag: relative to the working directory
    own = dataclasses.replace(p, generate=dataclasses.replace(p.generate, checkpoint="data/models/music/checkpoint.pt"))
    assert checkpoint_path(own) == own.path("data/models/music/checkpoint.pt")  # a param: relative to the project
    assert checkpoint_path(own, PACKAGE_REF) == packaged_checkpoint()
    with pytest.raises(InputError, match="unknown packaged model"):
        checkpoint_path(p, "pkg:nope")


def test_the_demo_train_stage_says_its_weights_are_demo_and_the_thesis_set_says_real():
    from emsync.training.generator import weights_kind

    assert weights_kind(Params())["kind"] == "demo"
    thesis = Params()
    thesis = dataclasses.replace(thesis, tokens=dataclasses.replace(thesis.tokens, midi_dir="data/lpd_5/lpd_5_full"))
    w = weights_kind(thesis)
    assert w["kind"] == "real" and "lpd_5_full" in w["trained_on"]


def test_the_shipped_sampling_is_used_unless_params_say_params():
    from emsync.music.generator import sampling_params

    p = Params()
    _, extra = load_generator(packaged_checkpoint())
    assert extra["sampling"] == {"top_p": 0.7, "temperature": 1.0, "min_nucleus": 1}
    got = sampling_params(p.generate, extra)
    assert (got.top_p, got.temperature, got.min_nucleus) == (0.7, 1.0, 1)
    own = dataclasses.replace(p.generate, sampling="params")
    assert sampling_params(own, extra) is own and sampling_params(p.generate, {}) is p.generate  # no record: the params


def test_the_shipped_model_plays_in_a_key():
    """Four 15-s pieces, one per emotion quadrant, seed 0: the share of notes in the best-fitting
    major/minor scale sits with real music (held-out corpus 0.98; random pitch classes 0.61-0.69)."""
    from emsync.music import quality
    from emsync.benchmarks.music_quality import generate_pieces, summarize
    from emsync.models.generation import Condition

    conds = [Condition(v, a, ()) for v, a in ((0.5, 0.5), (0.5, -0.5), (-0.5, 0.5), (-0.5, -0.5))]
    pieces, _ = generate_pieces(Params(), PACKAGE_REF, conds, 15.0, 0)
    s = summarize(pieces)
    assert s["pieces"] == 4 and min(p["notes"] for p in pieces) >= 20
    assert s["scale_consistency"] >= 0.9 and s["pitch_class_entropy"] <= 3.1
    assert s["scale_consistency"] > quality.random_pitch_reference(200)["scale_consistency_p5_p95"][1] + 0.15
