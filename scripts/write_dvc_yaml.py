"""Write the feature stages of dvc.yaml (features_cuts, one features_<extractor> per entry of
emsync.stages.EXTRACTOR_CODE, and the features report) from the declared code lists, between the
BEGIN/END marker lines. After adding an extractor (its module, its EXTRACTOR_CODE entry): run
`python scripts/write_feature_stages.py`. tests/test_stage_code.py checks dvc.yaml is in sync.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BEGIN = "  # BEGIN feature stages (python scripts/write_feature_stages.py)\n"
END = "  # END feature stages\n"


def _code(key: str) -> str:
    from emsync.stages import STAGE_CODE

    head = f'      # code: emsync.stages.STAGE_CODE["{key}"] (tests/test_stage_code.py keeps them equal)\n'
    return head + "".join(f"      - {c}\n" for c in STAGE_CODE[key])


def feature_stages() -> str:
    from emsync.stages import EXTRACTOR_CODE
    from emsync.video import extractors

    out = [
        BEGIN,
        "  # §5.1, §5.2.1: one stage per step of flows/features.py. Scene cuts first; then each extractor on\n"
        "  # its own code and its own features.models entry, so editing one re-runs only its stage (an\n"
        "  # extractor not in features.extractors writes empty outputs); then the merged report.\n"
        "  features_cuts:\n"
        "    cmd: python -m flows.features --cuts\n"
        "    deps:\n" + _code("features") + "      - reports/inputs.json\n"
        "      - ${features.videos_dir}\n"
        "    params:\n"
        "      - video.scene_threshold\n"
        "      - video.min_boundary_gap_s\n"
        "      - video.cut_method\n"
        "    outs:\n"
        "      - data/features/cuts.parquet\n"
        "      - data/features/rejects/cuts.parquet\n"
        "    metrics:\n"
        "      - reports/features/cuts.json\n\n",
    ]
    for name in EXTRACTOR_CODE:
        upstream = "".join(f"      - data/features/{d}  # a table it reads (DEPENDS)\n" for d in extractors.get(name).DEPENDS)
        out.append(
            f"  features_{name}:\n"
            f"    cmd: python -m flows.features --extractor {name}\n"
            "    deps:\n" + _code(f"features_{name}") + "      - reports/inputs.json\n"
            "      - ${features.videos_dir}\n"
            "      - ${features.models_dir}\n"
            "      - data/features/cuts.parquet  # mid_scene sampling reads the boundaries\n" + upstream + "    params:\n"
            "      - video\n"
            "      - features.extractors\n"
            "      - features.device\n"
            "      - features.sampling\n"
            f"      - features.models.{name}\n"
            "    outs:\n"
            f"      - data/features/{name}:\n"
            "          persist: true  # per-video parts that the Prefect cache rebuilds around\n"
            f"      - data/features/rejects/{name}.parquet\n"
            "    metrics:\n"
            f"      - reports/features/{name}.json\n\n"
        )
    out.append(
        "  features:  # the merged report over the steps above\n"
        "    cmd: python -m flows.features --report\n"
        "    deps:\n"
        + _code("features")
        + "      - reports/features/cuts.json\n"
        + "".join(f"      - reports/features/{n}.json\n" for n in EXTRACTOR_CODE)
        + "    params:\n"
        "      - features.extractors\n"
        "    outs:\n"
        "      - reports/features.md\n"
        "    metrics:\n"
        "      - reports/features.json\n" + END
    )
    return "".join(out)


def rewritten(text: str) -> str:
    """dvc.yaml's text with the block between the markers replaced."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + feature_stages() + text[end:]


if __name__ == "__main__":
    path = ROOT / "dvc.yaml"
    text = path.read_text()
    new = rewritten(text)
    if new != text:
        path.write_text(new)
    print(f"dvc.yaml: {'rewritten' if new != text else 'already in sync'}")
