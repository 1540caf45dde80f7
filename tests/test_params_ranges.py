"""Every param carries its range or its choices; a nonsense value is refused by `emsync params check`
before any stage runs, and a refused params file costs no output (reports/inputs.json included)."""

import copy
import dataclasses
import hashlib
import math
import os
import random
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml

from emsync.core import config
from emsync.cli import main
from emsync.core.config import Each, OneOf, Params, Range, Rule, field_checks, params_from_dict
from emsync.core.errors import ParamsError

ROOT = Path(__file__).resolve().parents[1]
DEMO = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())

# the nonsense values a careless user planted (each alone in the demo set)
PLANTED = [
    ("demo_data.n_midi", -5),
    ("demo_data.n_videos", 0),
    ("train.batch_size", -8),
    ("train.lr", -0.001),
    ("train.steps", -1),
    ("train.config", "huge"),
    ("train.device", "tpu"),
    ("features.device", "tpu"),
    ("video.cut_method", "bogus"),
    ("video.scene_threshold", math.nan),
    ("video.scene_threshold", -1.0),
    ("video.min_boundary_gap_s", -5.0),
    ("video.n_frames", -16),
    ("generate.top_p", math.nan),
    ("generate.temperature", -1.0),
    ("features.extractors", ["bogus"]),
    ("classify.emotion_inputs", ["bogus"]),
    ("soundtrack.conditions", ["bogus"]),
    ("bandwidth.variants", ["bogus"]),
    ("bandwidth.crop", -1),
    ("paths.data_dir", "/etc"),
    ("tokens.out_dir", "/usr/lib/tokens"),
    ("train.checkpoint", "../../../../../../../../etc/model.pt"),
    ("labeling.workers", 0),
    ("lyrics.count_threshold", 2.0),
    ("limits.max_midi_mb", -1.0),
    ("classify.lr", math.inf),
]


def _plant(key, value) -> dict:
    raw = copy.deepcopy(DEMO)
    section, name = key.split(".")
    raw[section][name] = value
    return raw


def _leaves():
    """(section class, section name, field name, type) of every param."""
    for sec in dataclasses.fields(Params):
        cls = typing.get_type_hints(Params)[sec.name]
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            yield cls, sec.name, f.name, hints[f.name]


def test_every_param_declares_its_range_or_choices():
    bare = [f"{s}.{n}" for cls, s, n, tp in _leaves() if tp is not bool and not field_checks(cls)[n]]
    assert bare == [], f"params without a range/choices (see the guide at the top of emsync/core/config.py): {bare}"


def _nonsense(check, value):
    """Values this check must refuse, derived from the declaration itself."""
    if isinstance(check, Range):
        out = [math.nan, math.inf, -math.inf]
        if check.lo is not None:
            out.append(check.lo if check.lo_open else check.lo - 1)
        if check.hi is not None:
            out.append(check.hi if check.hi_open else check.hi + 1)
        return [
            type(value)(v) if isinstance(value, int) and math.isfinite(v) else v
            for v in out
            if isinstance(value, float) or math.isfinite(v)
        ]
    if isinstance(check, OneOf):
        return ["bogus"]
    if isinstance(check, Each):
        return [[x] for x in _nonsense(check.item, value[0] if value else 1 if isinstance(check.item, Range) else "x")][:2] + (
            [[]] if check.min_len else []
        )
    if isinstance(check, Rule):
        if isinstance(value, dict):
            return [{"bogus": "x"}]
        if isinstance(value, str):
            return [" ", "/etc" if "not a system folder" in check.what else "bogus\0"]
        return ["bogus"]
    return []


def test_a_nonsense_value_in_any_param_is_refused_with_its_name():
    rng = random.Random(26)
    planted = 0
    for cls, section, name, _ in _leaves():
        value = DEMO[section][name]
        for check in field_checks(cls)[name]:
            for bad in _nonsense(check, value):
                with pytest.raises(ParamsError) as e:
                    params_from_dict(_plant(f"{section}.{name}", bad))
                assert f"{section}.{name}" in str(e.value), (section, name, bad, str(e.value))
                planted += 1
    assert planted > 400
    # relations between params
    for key, value, other in [
        ("tokens.transpose_min", 5, "tokens.transpose_max"),
        ("labeling.arousal_tempo_min", 200.0, "labeling.arousal_tempo_max"),
        ("demo_data.video_min_s", 100.0, "demo_data.video_max_s"),
        ("bandwidth.cutoff_hz", 30000, "bandwidth.sample_rate"),
        ("evaluate.regressor_heads", 3, "evaluate.regressor_d_model"),
    ]:
        with pytest.raises(ParamsError, match=other.split(".")[1]):
            params_from_dict(_plant(key, value))
    rng.shuffle(PLANTED)  # order must not matter


@pytest.mark.parametrize("key, value", PLANTED, ids=[f"{k}={v}" for k, v in PLANTED])
def test_params_check_refuses_each_planted_value_in_one_line(tmp_path, capsys, key, value):
    f = tmp_path / "params.yaml"
    f.write_text(yaml.safe_dump(_plant(key, value)))
    assert main(["params", "check", str(f)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    shown = repr(value[0] if isinstance(value, list) else value)
    assert len(err) == 1 and key in err[0] and shown in err[0], err


def test_a_flag_is_checked_like_its_param():
    from emsync.core.config import VideoParams, check_value
    from emsync.core.errors import InputError

    assert check_value(VideoParams, "scene_threshold", 0.3, "--threshold") == 0.3
    for bad in (-1.0, math.nan, math.inf, 2.0, -0.01):
        with pytest.raises(InputError, match=r"--threshold: .* is out of range \(must be >= 0 and <= 1\)"):
            check_value(VideoParams, "scene_threshold", bad, "--threshold")


def test_choices_follow_the_code_that_reads_them():
    from emsync.bandwidth.train import VARIANTS
    from emsync.classify.features import SEQUENTIAL
    from emsync.models.classifiers import REGISTRY as CLASSIFIERS
    from emsync.models.lyrics_classifier import PRESETS
    from emsync.models.music_transformer import CONDITIONING_MODES, configs
    from emsync.soundtrack.batch import CONDITIONS
    from emsync.video.cuts import METHODS
    from emsync.video.extractors import REGISTRY
    from emsync.video.sampling import MODES

    assert config.MUSIC_CONFIGS == tuple(configs)
    assert config.CONDITIONINGS == CONDITIONING_MODES
    assert config.CUT_METHODS == tuple(METHODS)
    assert config.FRAME_MODES == MODES
    assert config.EXTRACTOR_NAMES == tuple(REGISTRY)
    assert set(config.CLASSIFIER_INPUTS) == set(SEQUENTIAL) | {"asr", "ocr"}
    assert config.GENRE_MODELS == tuple(k for k in CLASSIFIERS if k != "vemoclap")
    assert config.SOUNDTRACK_CONDITIONS == CONDITIONS
    assert config.BANDWIDTH_VARIANTS == tuple(VARIANTS)
    sizes = typing.get_type_hints(config.TrainLyricsParams, include_extras=True)["size"].__metadata__[0]
    assert set(sizes.options) == set(PRESETS)


# --- a refused params file costs no output ------------------------------------------------------


def _stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def test_every_stage_waits_for_the_params_check_and_the_check_keeps_its_record():
    """DVC deletes a stage's outputs just before running it: every stage reaches the inputs stage
    through its deps, so a refused params file stops `dvc repro` before any stage deletes anything;
    the check's own record is persisted, so the refusal does not delete it either."""
    import re

    stages = _stages()

    def path(x):  # ${section.key} templates resolved with the demo set; foreach items stay as written
        return re.sub(r"\$\{(\w+)\.(\w+)\}", lambda m: str(DEMO[m[1]][m[2]]), x).rstrip("/")

    owner = {}
    for name, st in stages.items():
        st = st.get("do", st)
        for kind in ("outs", "metrics", "plots"):
            for o in st.get(kind) or []:
                owner[path(next(iter(o)) if isinstance(o, dict) else o)] = name

    def upstream(name, seen):
        st = stages[name].get("do", stages[name])
        for d in map(path, st.get("deps") or []):
            for out, who in owner.items():
                if who not in seen and (d == out or d.startswith(out + "/") or out.startswith(d + "/")):
                    seen.add(who)
                    upstream(who, seen)
        return seen

    late = [n for n in stages if n != "inputs" and "inputs" not in upstream(n, set())]
    assert late == [], f"stages that can run (and delete their outputs) before the params check: {late}"
    out = stages["inputs"]["outs"][0]
    assert out == {"reports/inputs.json": {"persist": True}} or out["reports/inputs.json"]["persist"] is True
    assert {"params.yaml": None} in stages["inputs"]["params"]


WORK = """import os, sys
from emsync.core.config import load_params
p = load_params("params.yaml")
for d in ("data/demo", "data/demo_models"):
    os.makedirs(d, exist_ok=True)
    open(d + "/made.txt", "w").write(str(p.demo_data.n_midi))
open("reports/demo.md", "w").write("# demo")
"""


def _snapshot(repo: Path) -> dict:
    return {
        str(p.relative_to(repo)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in repo.rglob("*")
        if p.is_file() and p.relative_to(repo).parts[0] not in (".dvc", ".git") and p.name != "params.yaml"
    }


@pytest.mark.slow
def test_dvc_repro_with_a_refused_params_file_deletes_nothing(tmp_path):
    """The real inputs stage (its command, params and persisted output) ahead of a stage that writes
    data/demo: a seeded pick of the planted values each stops `dvc repro` at the check, and every
    output, reports/inputs.json and dvc.lock included, keeps its bytes."""
    if not shutil.which("dvc"):
        pytest.skip("dvc not installed")
    repo = tmp_path / "repo"
    (repo / "reports").mkdir(parents=True)
    inputs = _stages()["inputs"]
    stages = {
        "inputs": {
            "cmd": f"{sys.executable} -m emsync params check --data --write reports/inputs.json",
            "params": inputs["params"],
            "outs": inputs["outs"],
        },
        "demo_data": {
            "cmd": f"{sys.executable} work.py",
            "deps": ["work.py", "reports/inputs.json"],
            "params": ["demo_data"],
            "outs": ["data/demo", "data/demo_models", "reports/demo.md"],
        },
    }
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    (repo / "work.py").write_text(WORK)
    shutil.copy(ROOT / "params" / "demo.yaml", repo / "params.yaml")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1", "EMSYNC_ROOT": str(repo)}
    env.pop("EMSYNC_PARAMS", None)

    def sh(*cmd):
        return subprocess.run(list(cmd), cwd=repo, env=env, capture_output=True, text=True, timeout=120)

    for cmd in (("git", "init", "-q"), ("dvc", "init", "-q"), ("dvc", "repro")):
        r = sh(*cmd)
        assert r.returncode == 0, (cmd, r.stdout[-1500:], r.stderr[-1500:])
    good = _snapshot(repo)
    assert {"reports/inputs.json", "data/demo/made.txt", "reports/demo.md", "dvc.lock"} <= set(good)
    for key, value in random.Random(26).sample(PLANTED, 2):
        (repo / "params.yaml").write_text(yaml.safe_dump(_plant(key, value)))
        r = sh("dvc", "repro")
        assert r.returncode != 0 and key in r.stderr + r.stdout, (key, r.stdout[-1500:], r.stderr[-1500:])
        assert _snapshot(repo) == good, key
