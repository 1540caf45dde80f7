"""The thesis parameter set is the thesis (§4.3, §4.4, §5.2.1, §6.1): window stride, corpus,
extractors, and Table 6.1 against the author's own table."""

import csv

import pytest

from emsync.core.config import STRIDE_NAMES, load_params, params_from_dict

from _root import ROOT
from emsync.emotion.mapping import EMOTIONS, TABLE_6_1
from emsync.core.errors import InputError, ParamsError
from emsync.models.generation import (
    STRIDE_PRESETS,
    SamplingConfig,
    mean_context,
    resolve_stride,
)

THESIS = ROOT / "params" / "thesis.yaml"


def test_thesis_stride_keeps_the_mean_context_within_5_percent_of_1216():
    p = load_params(THESIS)
    cfg = SamplingConfig.from_params(p.generate)
    assert p.generate.window == 1216 and cfg.slide_stride == 64
    assert mean_context(1216, cfg.slide_stride) == 1184.5  # contexts 1153..1216
    assert mean_context(1216, cfg.slide_stride) >= 0.95 * 1216
    assert mean_context(1216, 608) == pytest.approx(912.5)  # the cpu preset: 75 %
    assert load_params(ROOT / "params" / "demo.yaml").generate.slide_stride == 64  # evaluation uses it too


def test_stride_presets_are_one_flag_away_and_checked():
    assert STRIDE_PRESETS == {"exact": 1, "balanced": 64, "cpu": 608}  # named for what they are: §4.4 is "exact"
    assert tuple(STRIDE_PRESETS) == STRIDE_NAMES  # config's names follow the engine's
    assert [resolve_stride(x) for x in ("exact", "cpu", "12", 7)] == [1, 608, 12, 7]
    assert params_from_dict({"generate": {"slide_stride": "cpu"}}).generate.slide_stride == "cpu"
    with pytest.raises(ParamsError, match="'thesis' is not a stride name any more: 64 is 'balanced'"):
        params_from_dict({"generate": {"slide_stride": "thesis"}})
    with pytest.raises(ValueError, match="now 'balanced'"):
        resolve_stride("thesis")
    with pytest.raises(ParamsError, match="generate.slide_stride: 'fast' is not a stride"):
        params_from_dict({"generate": {"slide_stride": "fast"}})
    with pytest.raises(ParamsError, match="generate.slide_stride: 0 is not a stride"):
        params_from_dict({"generate": {"slide_stride": 0}})
    from emsync.cli.generate import with_stride

    p = load_params(THESIS)
    assert SamplingConfig.from_params(with_stride(p, "exact").generate).slide_stride == 1
    assert with_stride(p, "608").generate.slide_stride == 608
    with pytest.raises(InputError, match="--stride"):
        with_stride(p, "fast")


def test_thesis_clip_is_openais_vit_b32():
    p = load_params(THESIS)
    assert p.features.models["clip"] == "open_clip:ViT-B-32/openai"
    import open_clip.pretrained as P

    cfg = P.get_pretrained_cfg("ViT-B-32", "openai")
    assert cfg["quick_gelu"] is True  # OpenAI's weights need QuickGELU, which the tag brings


def test_open_clip_tag_offline_names_the_hub_copy(tmp_path, monkeypatch):
    import huggingface_hub.constants as C

    from emsync.video.loading import load_pretrained

    monkeypatch.setattr(C, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))  # a machine without the weights
    with pytest.raises(InputError, match="timm/vit_base_patch32_clip_224.openai"):
        load_pretrained("open_clip:ViT-B-32/openai", "open_clip")
    with pytest.raises(InputError, match="no pretrained tag 'openia'"):
        load_pretrained("open_clip:ViT-B-32/openia", "open_clip")


def test_table_6_1_all_24_values_match_the_authors_table(shared_data):
    with open(shared_data / "ekman6" / "emotion_to_va.csv", newline="") as f:
        rows = {r["word"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == sorted(EMOTIONS)
    checked = 0
    for e in EMOTIONS:
        ours = TABLE_6_1[e]
        theirs = [float(rows[e][k]) for k in ("V_mean", "V_std", "A_mean", "A_std")]
        for a, b in zip(ours, theirs):
            assert a == b, f"{e}: {ours} vs {theirs}"
            checked += 1
    assert checked == 24


def test_thesis_corpus_is_lpd5_full_restricted_to_the_unique_list():
    p = load_params(THESIS)
    assert p.tokens.midi_dir == "data/lpd_5/lpd_5_full"  # §4.3 + §3.1: the full set, deduplicated
    assert p.tokens.labels == "data/labeling/labels.parquet"  # one row per §3.1 unique file (labeling stage)
    assert p.tokens.npz_assume_4_4 is False  # the full set is not all 4/4
    assert p.labeling.midi_dir == "data/lmd_full"
