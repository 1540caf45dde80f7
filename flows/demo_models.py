"""demo_models stage: build the demo's small, seeded, offline feature-extractor models.

    python -m flows.demo_models        # what `dvc repro demo_models` runs

Writes data/demo_models/<name>/ for clip, audio, music, beats, vit, ast, face_expression, sentiment, distilbert,
whisper and vggish (emsync/video/tiny_models.py: the thesis architectures at toy size, hub layout), plus
data/demo_models/manifest.json ({name: weights digest}). The demo params point
`features.models` at these folders (see emsync.video.extractors.demo_models) and
`bandwidth.vggish_model` at data/demo_models/vggish (§7.4.1 VGG distance). Run report:
reports/runs/demo_models.json.
"""

from prefect import flow

from emsync.core.config import load_params
from emsync.core.io import write_json
from emsync.pipeline.flowkit import RunReport

SEED = 0  # fixed: the demo models are a build artifact, not an experiment


@flow(name="demo_models")
def demo_models_flow(params=None) -> dict:
    from emsync.video.loading import dir_version
    from emsync.video.tiny_models import BUILDERS, build

    p = params or load_params()
    out = p.path(p.paths.data_dir) / "demo_models"
    report = RunReport("demo_models")
    manifest = {}
    for name in BUILDERS:
        report.tasks += 1
        try:
            manifest[name] = dir_version(build(name, out, seed=SEED))
        except Exception as e:  # one broken builder never stops the others
            report.skip(name, f"{type(e).__name__}: {e}")
    write_json(out / "manifest.json", {"seed": SEED, "models": manifest})
    report.write(p.path(p.paths.reports_dir))
    if report.skipped:
        print(f"demo_models: {len(report.skipped)} model(s) failed: {report.skipped}")
    print(f"demo_models: {len(manifest)} models -> {out}")
    return manifest


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main("demo_models", demo_models_flow)
