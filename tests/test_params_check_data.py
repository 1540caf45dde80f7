"""`emsync params check --data`: one message per missing input (param, path, what belongs there),
checked before any stage starts (the `inputs` stage of dvc.yaml)."""

import json

import yaml

from emsync.cli import main
from emsync.config import load_params
from _root import ROOT
from emsync.inputs import check_inputs


def _params_file(tmp_path, **sections):
    """The demo set with `sections` merged in (params check wants every key set)."""
    full = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    for name, values in sections.items():
        full[name] = {**full[name], **values}
    f = tmp_path / "params.yaml"
    f.write_text(yaml.safe_dump(full))
    return f


def test_every_missing_input_gets_one_line_naming_param_path_and_dataset(tmp_path, capsys):
    f = _params_file(
        tmp_path,
        labeling={
            "midi_dir": str(tmp_path / "lmd_full"),
            "match_scores": str(tmp_path / "m.json"),
            "msd_metadata": str(tmp_path / "msd.parquet"),
            "spotify_map": str(tmp_path / "map.csv"),
            "audio_features_source": "api",
        },
        tokens={"midi_dir": str(tmp_path / "lpd_5_full")},
        features={
            "videos_dir": str(tmp_path / "videos"),
            "models_dir": str(tmp_path / "pretrained"),
            "extractors": ["clip"],
            "models": {"clip": str(tmp_path / "pretrained" / "clip")},
        },
    )
    out = tmp_path / "inputs.json"
    assert main(["params", "check", "--data", str(f), "--write", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    lines = [x for x in err if x.startswith("missing input: ")]
    assert len(lines) == 8 and not out.exists()  # the archive is not needed with the api source
    by_key = {x.split(" = ")[0].removeprefix("missing input: "): x for x in lines}
    assert set(by_key) == {
        "labeling.midi_dir",
        "labeling.match_scores",
        "labeling.msd_metadata",
        "labeling.spotify_map",
        "tokens.midi_dir",
        "features.videos_dir",
        "features.models_dir",
        "features.models.clip",
    }
    assert f"{tmp_path / 'lmd_full'}: folder not found" in by_key["labeling.midi_dir"] and "LMD-full" in by_key["labeling.midi_dir"]
    assert "LPD-5 full" in by_key["tokens.midi_dir"] and "<0-f>/<md5>.npz" in by_key["tokens.midi_dir"]
    assert "no stage was started" in err[-1]
    # once the inputs are there the check passes and records what it checked
    for d in ("lmd_full", "lpd_5_full", "videos", "pretrained/clip"):
        (tmp_path / d).mkdir(parents=True)
    for name in ("m.json", "msd.parquet", "map.csv"):
        (tmp_path / name).write_text("x")
    assert main(["params", "check", "--data", str(f), "--write", str(out)]) == 0
    assert len(json.loads(out.read_text())["checked"]) == 8


def test_paths_a_stage_writes_are_not_inputs_and_the_demo_set_passes():
    checked, missing = check_inputs(load_params(ROOT / "params" / "demo.yaml"))
    assert missing == [] and checked == []  # data/demo, data/demo_models: demo_data / demo_models outputs
    checked, missing = check_inputs(load_params(ROOT / "params" / "thesis.yaml"))
    assert "data/lmd_full" in checked and "data/labeling/labels.parquet" not in checked  # labels: the labeling stage's
    beats = next(m for m in missing if m.startswith("features.models.beats = data/pretrained/beats"))
    assert "official BEATs checkpoint .pt" in beats  # where the layout is not the hub's, the message says so


def test_stages_reading_external_inputs_wait_for_the_check():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert "params check --data" in stages["inputs"]["cmd"]
    for name in ("labeling", "tokens", "features"):
        assert "reports/inputs.json" in stages[name]["deps"], name
