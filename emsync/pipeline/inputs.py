"""The external inputs a parameter set names, checked before any stage starts.

    emsync params check --data            # one line per missing input, exit 1 if any

Each input is a params key whose value is a path the pipeline reads but does not produce (a
dataset, a folder of videos, local model copies). A path that a dvc.yaml stage writes (the demo
corpus, labels, tokens, checkpoints) is the pipeline's own business and is not checked. Every
message names the param, the path and what belongs there (dataset and layout, docs/data_layout.md).
The `inputs` stage of dvc.yaml runs this check, so `dvc repro` stops here, before any stage that
would fail on a missing folder.
"""

from dataclasses import dataclass
from pathlib import Path

from emsync.core.config import Params, project_root, yaml_load


@dataclass(frozen=True)
class Input:
    key: str  # dotted params key
    kind: str  # "dir" | "file" | "path" (either)
    what: str  # what belongs there: dataset, layout, section


INPUTS = (
    Input(
        "labeling.midi_dir",
        "dir",
        "the Lakh MIDI Dataset LMD-full (Raffel 2016; lmd_full.tar.gz unpacked: <0-f>/<md5>.mid, 178,561 files; §3.1)",
    ),
    Input("labeling.match_scores", "file", "LMD-matched's match_scores.json ({msd_track_id: {midi_md5: score}}; §3.1)"),
    Input(
        "labeling.msd_metadata",
        "file",
        "Million Song Dataset track metadata as Parquet (track_id, song_id, title, artist, release, year, duration)",
    ),
    Input(
        "labeling.spotify_map",
        "file",
        "Echo Nest track id -> Spotify id CSV (track_id, spotify_id), e.g. from the MSD Echo Nest id mappings",
    ),
    Input(
        "labeling.audio_features_archive",
        "file",
        "the thesis author's Lakh-Spotify table cleansed_features.csv (track_id, song_id, artist, title, "
        "spotify_ids, tempo, valence, energy; used when labeling.audio_features_source is archive)",
    ),
    Input(
        "tokens.midi_dir",
        "dir",
        "LPD-5 full piano rolls (Dong et al. 2018; lpd_5_full.tar.gz unpacked: "
        "<0-f>/<md5>.npz, 174,154 files; §4.3) or any folder of .mid/.midi/.kar/.npz",
    ),
    Input(
        "train_lyrics.data_dir",
        "dir",
        "GoEmotions (Demszky et al. 2020) in its original layout: {train,dev,test}.tsv (text, comma-separated "
        "label ids, comment id; no header), emotions.txt, ekman_mapping.json (§3.2.1.1)",
    ),
    Input("lyrics.midi_dir", "dir", "the MIDI files whose lyrics are labelled (LMD-full: <0-f>/<md5>.mid; §3.2.2)"),
    Input(
        "lyrics.archive_dir",
        "dir",
        "the thesis author's lyric labels 7labels.csv and 28labels.csv (Emotion4MIDI; file,<label>... rows; §3.2.3.2)",
    ),
    Input(
        "features.videos_dir",
        "dir",
        "the videos to analyse: <video_id>.mp4 (any file ffmpeg reads; §5.1), in subfolders per dataset "
        "(thesis set: ekman6/<emotion>/<name>.mp4 and movienet/<youtube_id>.mp4)",
    ),
    Input(
        "soundtrack.videos_dir",
        "dir",
        "the videos the soundtrack stage scores: <video_id>.mp4 (one-minute evaluation videos, EmoMV-C and Ads, "
        "kept apart from the classifiers' training videos; §6.3.1)",
    ),
    Input(
        "bandwidth.dsd100_dir",
        "dir",
        "DSD100 (Liutkus et al. 2017; DSD100.zip unpacked: Mixtures/Dev/<song>/mixture.wav, Mixtures/Test/<song>/mixture.wav; §7.3)",
    ),
    Input("bandwidth.medleydb_dir", "dir", "MedleyDB 2.0 (Bittner et al. 2016): Audio/<song>/<song>_MIX.wav (§7.3)"),
    Input(
        "bandwidth.vggish_model",
        "path",
        "VGGish weights for the VGG distance (§7.4.1): the torch port's released .pth state dict, or a folder "
        "with config.json + model.safetensors [+ pca.npz] (emsync/bandwidth/vggish.py)",
    ),
    Input(
        "features.models_dir",
        "dir",
        "local copies of the models features.models names (one folder per model in the hub layout, "
        "e.g. BEATs: beats/<checkpoint>.pt; README 'Where emsync differs')",
    ),
)


# extractor -> what its local model folder holds, where that is not the plain hub layout
MODEL_LAYOUTS = {
    "beats": 'one official BEATs checkpoint .pt ({"cfg", "model"}; microsoft/unilm, e.g. BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt)',
    "audio": "an AudioSet tagger converted to config.json + model.safetensors (models/audio_tagger.py; Cnn14, §5.2.1)",
    "music": "a music tagger converted to config.json + model.safetensors (models/audio_tagger.py; §5.2.1)",
}


def _value(params: Params, key: str):
    section, name = key.split(".")
    return getattr(getattr(params, section), name)


def pipeline_outputs(dvc_yaml=None) -> list[Path]:
    """Every path a dvc.yaml stage writes (relative to the repository root)."""
    path = Path(dvc_yaml or project_root() / "dvc.yaml")
    if not path.exists():
        return []
    stages = (yaml_load(path.read_text(encoding="utf-8")) or {}).get("stages", {})
    out = []
    for st in stages.values():
        for kind in ("outs", "metrics", "plots"):
            for o in st.get(kind) or []:
                out.append(Path(next(iter(o)) if isinstance(o, dict) else o))
    return out


def _produced(rel: Path, outs: list[Path]) -> bool:
    return any(rel == o or o in rel.parents for o in outs)


def _needed(params: Params, inp: Input) -> bool:
    if inp.key == "labeling.audio_features_archive":
        return params.labeling.audio_features_source == "archive"
    if inp.key.startswith("bandwidth."):
        return bool(_value(params, inp.key))  # "" = that dataset is not used
    if inp.key == "lyrics.archive_dir":
        return bool(params.lyrics.archive_dir)
    return True


def _local_model_refs(params: Params) -> list[tuple[str, str]]:
    """(params key, ref) of every features.models entry that names a local folder (not a hub id,
    pkg: or open_clip: reference) for an extractor the set runs."""
    out = []
    for name in params.features.extractors:
        ref = params.features.models.get(name)
        roles = ref.items() if isinstance(ref, dict) else [("", ref)]
        for role, r in roles:
            if not isinstance(r, str) or r in ("", "none") or r.startswith(("pkg:", "open_clip:")):
                continue
            if r.startswith(("data/", "./", "../", "/")):
                out.append((f"features.models.{name}" + (f".{role}" if role else ""), r))
    return out


EKMAN6 = (
    "Ekman-6 (Xu et al. 2018) as <emotion>/<name>.mp4 (anger, disgust, fear, joy, sadness, surprise) "
    "with the provided split as train.txt / test.txt, one <emotion>/<name> per line (§5.2.2.1)"
)
MOVIENET_CSV = "MovieNet trailer metadata trailers_genres_clean.csv (imdb_id, youtube_id, genres, title, duration; §5.2.3.1)"
MOVIENET_SPLITS = 'the published MovieNet split splits.json ({"trn", "val", "tst"}: lists of YouTube ids; §5.2.3.3)'


def _dataset_problems(params: Params, outs: list[Path]) -> tuple[list[str], list[str]]:
    """(checked, problems) for the classifier datasets (§5.2.2.1 Ekman-6, §5.2.3 MovieNet): checked
    only when classify.emotion_dataset / genre_dataset selects them; the content is read with the
    stage's own adapters, so a file the stage would refuse fails here, in one line."""
    from emsync.classify.datasets import ekman6_table, movienet_table
    from emsync.core.errors import InputError

    c = params.classify
    checked, problems = [], []

    def check(key: str, value: str, kind: str, what: str, read) -> bool:
        """Whether the input is usable (appends one line when it is not)."""
        if not value:
            problems.append(f"{key} is empty but the dataset is selected. It should name {what}.")
            return False
        rel = Path(value)
        if not rel.is_absolute() and _produced(rel, outs):
            return True
        path = params.path(value)
        checked.append(value)
        noun = "folder" if kind == "dir" else "file"
        if not (path.is_dir() if kind == "dir" else path.is_file()):
            state = "not found" if not path.exists() else f"is not a {noun}"
            problems.append(f"{key} = {value}: {noun} {state}. It should hold {what}.")
            return False
        try:
            why = read(path)
        except InputError as e:
            why = str(e)
        except (OSError, ValueError, UnicodeDecodeError) as e:  # unreadable / not CSV / not JSON
            why = f"cannot read it ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        if why:
            problems.append(f"{key} = {value}: {why}. It should hold {what}.")
        return not why

    def ekman6(path: Path):
        table = ekman6_table(path)
        absent = table[table["path"].isna()]
        if table.empty:
            return "train.txt and test.txt list no video"
        if len(absent):
            return f"{len(absent)} of {len(table)} listed videos are missing (first: {absent['video_id'].iloc[0]})"
        return None

    def splits(path: Path):
        import json

        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or not raw or not all(isinstance(v, list) for v in raw.values()):
            return "not a JSON object of id lists"
        bad = sorted(set(raw) - {"trn", "val", "tst", "train", "test"})
        return f"unknown split name(s) {bad}" if bad else None

    def metadata(path: Path):
        sp = params.path(c.movienet_splits) if c.movienet_splits and splits_ok else None
        table = movienet_table(path, sp)
        if table.empty:
            return "no trailers in it"
        orphans = table[table["split"].isna()]
        if len(orphans):
            return (
                f"{len(orphans)} of {len(table)} YouTube ids are in no split of {c.movienet_splits} (first: {orphans['video_id'].iloc[0]})"
            )
        return None

    if c.emotion_dataset == "ekman6":
        check("classify.ekman6_dir", c.ekman6_dir, "dir", EKMAN6, ekman6)
    if c.genre_dataset == "movienet":
        splits_ok = False  # "" = the split is computed from the sorted ids (datasets.movienet_split)
        if c.movienet_splits:
            splits_ok = check("classify.movienet_splits", c.movienet_splits, "file", MOVIENET_SPLITS, splits)
        check("classify.movienet_csv", c.movienet_csv, "file", MOVIENET_CSV, metadata)
    return checked, problems


def _input_problems(params: Params) -> list[str]:
    """Params that name inputs the features stage would not produce (§5.2.2.1)."""
    from emsync.classify.features import sources
    from emsync.core.errors import InputError

    try:
        tables = {t for t, _ in sources("emotion", params.classify.emotion_inputs).values()}
    except InputError as e:
        return [f"classify.emotion_inputs = {params.classify.emotion_inputs}: {e}."]
    absent = sorted(tables - set(params.features.extractors))
    if absent:
        return [
            f"classify.emotion_inputs = {params.classify.emotion_inputs}: features.extractors does not run {', '.join(absent)}, "
            "so train_emotion would find no such tables."
        ]
    return []


def check_inputs(params: Params, dvc_yaml=None) -> tuple[list[str], list[str]]:
    """(checked paths, one message per missing input)."""
    outs = pipeline_outputs(dvc_yaml)
    checked, missing = [], []
    for inp in INPUTS:
        if not _needed(params, inp):
            continue
        value = str(_value(params, inp.key))
        rel = Path(value)
        if not rel.is_absolute() and _produced(rel, outs):
            continue  # a stage writes it
        path = params.path(value)
        checked.append(value)
        ok = {"dir": path.is_dir, "file": path.is_file, "path": path.exists}[inp.kind]()
        if not ok:
            what = {"dir": "folder", "file": "file", "path": "file or folder"}[inp.kind]
            state = "not found" if not path.exists() else f"is not a {what}"
            missing.append(f"{inp.key} = {value}: {what} {state}. It should hold {inp.what}.")
    for i, folder in enumerate(params.bandwidth.folders):
        rel = Path(folder)
        if not rel.is_absolute() and _produced(rel, outs):
            continue
        checked.append(folder)
        if not params.path(folder).is_dir():
            missing.append(
                f"bandwidth.folders[{i}] = {folder}: folder not found. It should hold full-band 44.1 kHz songs (wav/flac/ogg; §7.3)."
            )
    for key, ref in _local_model_refs(params):
        rel = Path(ref)
        if not rel.is_absolute() and _produced(rel, outs):
            continue
        checked.append(ref)
        if not params.path(ref).is_dir():
            what = MODEL_LAYOUTS.get(key.split(".")[2], "a local copy of that model (hub layout: config + weights)")
            missing.append(
                f"{key} = {ref}: model folder not found. It should hold {what}; or name a hub id the local Hugging Face cache holds."
            )
    more, problems = _dataset_problems(params, outs)
    return checked + more, missing + problems + _input_problems(params)
