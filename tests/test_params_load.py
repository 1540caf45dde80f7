"""params.yaml loading: strict keys and types, both parameter sets valid, clear CLI errors."""

import subprocess
import sys

import pytest

from emsync.core.config import load_params, params_from_dict

from _root import ROOT
from emsync.core.errors import ParamsError


def test_typo_names_the_key_and_suggests(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("labeling:\n  arousal_tempo_mni: 50\n")
    with pytest.raises(ParamsError) as e:
        load_params(f)
    msg = str(e.value)
    assert "labeling.arousal_tempo_mni" in msg and "arousal_tempo_min" in msg and str(f) in msg


def test_unknown_section_and_wrong_type():
    with pytest.raises(ParamsError, match="unknown key 'tokenz'"):
        params_from_dict({"tokenz": {}})
    with pytest.raises(ParamsError, match=r"tokens.chord_min_notes: expected an integer, got '3'"):
        params_from_dict({"tokens": {"chord_min_notes": "3"}})
    with pytest.raises(ParamsError, match="expected true/false"):
        params_from_dict({"labeling": {"valence_zero_is_missing": "yes"}})


def test_int_is_accepted_for_float_and_defaults_fill_in():
    p = params_from_dict({"video": {"min_boundary_gap_s": 4}})
    assert p.video.min_boundary_gap_s == 4.0 and isinstance(p.video.min_boundary_gap_s, float)
    assert p.tokens.chord_min_notes == 3


@pytest.mark.parametrize("name", ["params.yaml", "params/demo.yaml", "params/thesis.yaml"])
def test_shipped_parameter_sets_are_valid(name):
    load_params(ROOT / name)


def test_active_params_is_the_demo_set_and_files_match_the_dataclasses():
    assert (ROOT / "params.yaml").read_bytes() == (ROOT / "params" / "demo.yaml").read_bytes()
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "write_params.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_thesis_set_carries_the_thesis_constants():
    t = load_params(ROOT / "params" / "thesis.yaml")
    assert t.generate.window == 1216 and t.video.scene_threshold == 0.27
    assert t.video.min_boundary_gap_s == 4.0 and t.emotion.max_abs_mean == 0.8
    assert t.bandwidth.cutoff_hz == 11025 and t.train.config == "37m"


def test_cli_reports_one_line_without_traceback(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("video:\n  scene_treshold: 0.3\n")
    r = subprocess.run([sys.executable, "-m", "emsync", "params", "check", str(f)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[0].startswith("emsync: error:") and "video.scene_treshold" in r.stderr
    assert "scene_threshold" in r.stderr
