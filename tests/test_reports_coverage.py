"""`dvc metrics show` / `dvc plots show` cover every metrics and plot file a stage writes to reports/."""

import yaml
from _root import ROOT

# reports/ outputs that are neither metrics nor plots: text reports, the params check record, the index
NOT_METRICS = {"reports/inputs.json"}


def _reports_outputs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, st in stages.items():
        for kind in ("outs", "metrics", "plots"):
            for o in st.get(kind) or []:
                path = o if isinstance(o, str) else next(iter(o))
                if path.startswith("reports/"):
                    yield name, kind, path


def test_every_json_is_a_metric_and_every_figure_or_curve_a_plot():
    seen = list(_reports_outputs())
    assert seen, "no reports/ outputs found in dvc.yaml"
    for name, kind, path in seen:
        if path.endswith(".json") and path not in NOT_METRICS:
            assert kind == "metrics", f"{name}: {path} is not declared under metrics"
        if path.endswith((".png", ".svg", ".csv")):
            assert kind == "plots", f"{name}: {path} is not declared under plots"
