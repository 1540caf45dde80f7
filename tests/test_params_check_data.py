"""`emsync params check --data`: one message per missing input (param, path, what belongs there),
checked before any stage starts (the `inputs` stage of dvc.yaml)."""

import json

import yaml

from emsync.cli import main
from emsync.core.config import load_params
from _root import ROOT
from emsync.pipeline.inputs import check_inputs


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
        classify={"emotion_inputs": ["clip"]},  # only the clip extractor runs
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
    readers = ["labeling", "tokens"] + [n for n in stages if n.startswith("features_")]  # one stage per feature step
    assert "features_cuts" in readers and "features_beats" in readers
    for name in readers:
        assert "reports/inputs.json" in stages[name]["deps"], name


# --- classifier datasets (§5.2.2.1 Ekman-6, §5.2.3 MovieNet) ----------------------------------------


def _classify(params, **over):
    import dataclasses

    return dataclasses.replace(params, classify=dataclasses.replace(params.classify, **over))


def _dataset_lines(params):
    checked, missing = check_inputs(params)
    lines = [m for m in missing if m.startswith("classify.")]
    assert all("\n" not in m for m in lines)
    return checked, lines


def test_dataset_paths_are_skipped_when_the_dataset_is_not_selected(tmp_path):
    demo = load_params(ROOT / "params" / "demo.yaml")
    p = _classify(demo, ekman6_dir="", movienet_csv=str(tmp_path / "nope.csv"), movienet_splits="")
    assert _dataset_lines(p) == ([], [])  # demo datasets: Ekman-6 / MovieNet paths are not read
    _, lines = _dataset_lines(_classify(p, emotion_dataset="ekman6"))
    assert (
        lines == [lines[0]] and lines[0].startswith("classify.ekman6_dir is empty but the dataset is selected") and "train.txt" in lines[0]
    )


def test_movienet_real_metadata_passes_and_broken_files_get_one_line(shared_data, tmp_path):
    mn = shared_data / "movienet"
    p = _classify(
        load_params(ROOT / "params" / "demo.yaml"),
        genre_dataset="movienet",
        movienet_csv=str(mn / "trailers_genres_clean.csv"),
        movienet_splits=str(mn / "splits.json"),
    )
    checked, lines = _dataset_lines(p)
    assert lines == [] and checked == [str(mn / "splits.json"), str(mn / "trailers_genres_clean.csv")]

    bad_json = tmp_path / "splits.json"
    bad_json.write_text("{not json")
    _, lines = _dataset_lines(_classify(p, movienet_splits=str(bad_json)))
    assert lines == [lines[0]] and lines[0].startswith(f"classify.movienet_splits = {bad_json}: cannot read it (JSONDecodeError")
    # a split file that misses some of the CSV's trailers (the real file minus its test split)
    part = tmp_path / "part.json"
    part.write_text(json.dumps({k: v for k, v in json.loads((mn / "splits.json").read_text()).items() if k != "tst"}))
    _, lines = _dataset_lines(_classify(p, movienet_splits=str(part)))
    assert len(lines) == 1 and "5282 of 26412 YouTube ids are in no split" in lines[0]

    csv = tmp_path / "meta.csv"
    csv.write_text("youtube_id,title\nabc,x\n")
    _, lines = _dataset_lines(_classify(p, movienet_csv=str(csv)))
    assert lines == [
        f"classify.movienet_csv = {csv}: {csv}: missing column(s) ['duration', 'genres']. It should hold {lines[0].split('It should hold ')[1]}"
    ]
    assert "youtube_id, genres" in lines[0]
    _, lines = _dataset_lines(_classify(p, movienet_csv=str(tmp_path)))
    assert lines == [f"classify.movienet_csv = {tmp_path}: file is not a file. It should hold " + lines[0].split("It should hold ")[1]]


def _ekman6_copy(shared_data, root):
    """An Ekman-6 layout over the real sample clips: <emotion>/<name>.mp4 links + the split lists."""
    for emo in ("joy", "fear", "sadness", "disgust"):
        (root / emo).mkdir(parents=True)
        (root / emo / f"{emo}_1.mp4").symlink_to(shared_data / "ekman6" / f"{emo}.mp4")
    (root / "train.txt").write_text("joy/joy_1\nfear/fear_1.mp4\n")
    (root / "test.txt").write_text("sadness/sadness_1\ndisgust/disgust_1\n")
    return root


def test_ekman6_real_clips_pass_and_a_bad_copy_gets_one_line(shared_data, tmp_path):
    root = _ekman6_copy(shared_data, tmp_path / "ekman6")
    p = _classify(load_params(ROOT / "params" / "demo.yaml"), emotion_dataset="ekman6", ekman6_dir=str(root))
    checked, lines = _dataset_lines(p)
    assert lines == [] and checked == [str(root)]

    (root / "test.txt").write_text("sadness/sadness_1\ndisgust/disgust_1\nsurprise/missing_clip\n")
    _, lines = _dataset_lines(p)
    assert len(lines) == 1 and lines[0].startswith(f"classify.ekman6_dir = {root}: 1 of 5 listed videos are missing (first: missing_clip)")
    (root / "test.txt").write_text("sadness_1\n")
    _, lines = _dataset_lines(p)
    assert len(lines) == 1 and "test.txt:1: 'sadness_1' is not under one of the folders anger, disgust" in lines[0]
    (root / "test.txt").unlink()
    _, lines = _dataset_lines(p)
    assert len(lines) == 1 and "test.txt not found (expected train.txt and test.txt)" in lines[0]
    _, lines = _dataset_lines(_classify(p, ekman6_dir=str(tmp_path / "absent")))
    assert lines == [
        f"classify.ekman6_dir = {tmp_path / 'absent'}: folder not found. It should hold " + lines[0].split("It should hold ")[1]
    ]


def test_emotion_inputs_need_their_extractors():
    import dataclasses

    thesis = load_params(ROOT / "params" / "thesis.yaml")
    assert not any(m.startswith("classify.emotion_inputs") for m in check_inputs(thesis)[1])
    no_beats = dataclasses.replace(
        thesis, features=dataclasses.replace(thesis.features, extractors=["clip", "audio", "faces", "asr", "ocr", "sentiment"])
    )
    lines = [m for m in check_inputs(no_beats)[1] if m.startswith("classify.emotion_inputs")]
    assert lines == [
        "classify.emotion_inputs = ['clip', 'beats', 'faces', 'asr', 'ocr']: features.extractors does not run beats, "
        "so train_emotion would find no such tables."
    ]
