"""The code each pipeline stage runs, declared once.

`STAGE_CODE[stage]` lists the repository paths (files, or folders meaning every .py under them)
of a `python -m flows.<stage>` stage (keyed by the dvc.yaml stage name where one flow serves stages
with different code, as features_<extractor> do; else by the flow's name). Both of the stage's code keys come from it: `dvc.yaml` lists
exactly these paths as the stage's code deps, so editing any of them re-runs the stage, and
`stage_digest(stage)` hashes the same files into the Prefect task cache key, so a re-run recomputes
after a code change instead of replaying stale results. tests/test_stage_code.py checks that the
two agree and that each list covers every module the flow imports.

    python -c "from emsync.stages import stage_digest; print(stage_digest('tokens'))"
"""

import hashlib
from pathlib import Path

CODE_ROOT = Path(__file__).resolve().parent.parent  # the checkout the flows run from

# every flow: params, environment, errors, atomic writes, secret redaction, run guard, the run's Prefect server, Prefect glue, this list
COMMON = (
    "emsync/__init__.py",
    "emsync/config.py",
    "emsync/env.py",
    "emsync/errors.py",
    "emsync/io.py",
    "emsync/redact.py",
    "emsync/runguard.py",
    "emsync/process_tree.py",
    "emsync/prefect_server.py",
    "emsync/flowkit.py",
    "emsync/stages.py",
)
_GENERATOR = (
    "emsync/training",
    "emsync/music",
    "emsync/midi_input.py",
    "emsync/labeling/midi.py",
    "emsync/generator.py",
    "emsync/device.py",
    "emsync/emotion_map.py",
    "emsync/limits.py",
    "models/checkpoint.py",
    "models/music_transformer.py",
    "models/generation.py",
    "models/emotion_regressor.py",
    "tasks/train.py",
    "emsync/provenance.py",
)

_CLASSIFY = (
    "emsync/classify",
    "emsync/classify/ekman6_blacklist.json",
    "emsync/device.py",
    "emsync/limits.py",
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
    "emsync/provenance.py",
)

_LYRICS = (
    "emsync/lyrics",
    "emsync/provenance.py",
    "emsync/device.py",
    "emsync/midi_input.py",
    "emsync/labeling/midi.py",
    "emsync/training/__init__.py",
    "emsync/training/engine.py",
    "models/lyrics_classifier.py",
    "tasks/lyrics.py",
)

# loading.py's packaged networks (pkg:fer, pkg:mtcnn): run by our ports, read by every stage that loads models
_PACKAGED = ("emsync/video/loading.py", "emsync/video/fer.py", "emsync/video/mtcnn.py", "models/fer.py", "models/mtcnn.py")

# the feature stages' shared code (§5.1, §5.2.1): probing, sampling, scene cuts, model loading, the
# stage's plain steps and the lazy extractor registry; features_cuts and features (the report) run only this
_FEATURES = (
    *COMMON,
    "emsync/checks.py",
    "emsync/limits.py",
    "emsync/video/__init__.py",
    "emsync/video/probe.py",
    "emsync/video/sampling.py",
    "emsync/video/cuts.py",
    *_PACKAGED,
    "emsync/provenance.py",
    "emsync/video/stage.py",
    "emsync/video/extractors/__init__.py",
    "emsync/video/extractors/base.py",
    "flows/features.py",
    "tasks/features.py",
)

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

STAGE_CODE = {
    "demo_data": (
        *COMMON,
        "emsync/checks.py",
        "emsync/demo",
        "emsync/labeling/audio_features.py",
        "emsync/lyrics/labels.py",
        "models/classifier_blocks.py",
        "models/vemoclap.py",
        "flows/demo_data.py",
        "tasks/demo_data.py",
    ),
    "demo_models": (
        *COMMON,
        *_PACKAGED,
        "emsync/video/tiny_models.py",
        "emsync/bandwidth/vggish.py",
        "models/audio_tagger.py",
        "models/beats.py",
        "models/vggish.py",
        "flows/demo_models.py",
    ),
    "labeling": (
        *COMMON,
        "emsync/checks.py",
        "emsync/labeling",
        "emsync/midi_ids.py",
        "emsync/midi_input.py",
        "flows/labeling.py",
        "tasks/labeling.py",
    ),
    "tokens": (
        *COMMON,
        "emsync/checks.py",
        "emsync/music",
        "emsync/midi_ids.py",
        "emsync/midi_input.py",
        "emsync/labeling/midi.py",
        "flows/tokens.py",
        "tasks/tokens.py",
    ),
    "train": (*COMMON, *_GENERATOR, "flows/train.py"),
    "evaluate": (*COMMON, *_GENERATOR, "flows/evaluate.py"),
    # features_cuts and features (the summary) run flows/features.py without an extractor
    "features": _FEATURES,
    **{f"features_{name}": (*_FEATURES, *code) for name, code in EXTRACTOR_CODE.items()},
    "store": (*COMMON, "emsync/store.py", "flows/store.py"),
    "train_emotion": (*COMMON, *_CLASSIFY, "flows/train_emotion.py", "tasks/classify.py"),
    "train_genre": (*COMMON, *_CLASSIFY, "flows/train_genre.py", "tasks/classify.py"),
    "evaluate_classifiers": (*COMMON, *_CLASSIFY, "flows/evaluate_classifiers.py"),
    # both bandwidth stages (bandwidth_train@<variant>, bandwidth_report) run flows/bandwidth.py
    "bandwidth": (
        *COMMON,
        "emsync/bandwidth",
        "emsync/provenance.py",
        "emsync/device.py",
        "emsync/training/engine.py",
        "models/bwe_unet.py",
        "models/bwe_resnet.py",
        "models/vggish.py",
        "flows/bandwidth.py",
        "tasks/bandwidth.py",
    ),
    # §6.3: every video under every condition through the soundtrack pipeline, then §6.3.2's metrics
    "soundtrack": (
        *COMMON,
        "emsync/checks.py",
        *_GENERATOR,
        *(p for p in _CLASSIFY if p not in _GENERATOR and not p.startswith(("emsync/video/", "emsync/training/"))),
        "emsync/video",
        "emsync/render.py",
        "emsync/soundtrack",
        "emsync/soundtrack_batch.py",
        "emsync/emotion_source.py",
        "emsync/emotion_estimate.py",
        "emsync/objective.py",
        "models/audio_tagger.py",
        "models/beats.py",
        "models/mtcnn.py",
        "flows/soundtrack.py",
        "tasks/soundtrack.py",
    ),
    "train_lyrics": (*COMMON, *_LYRICS, "flows/train_lyrics.py"),
    "lyrics": (*COMMON, *_LYRICS, "emsync/checks.py", "emsync/labeling/scan.py", "emsync/midi_ids.py", "flows/lyrics.py"),
}


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
