"""flowkit.main, the one `__main__` of every flow: it parses `--params` and the flow's own flags,
enters the stage(s) before loading the params, runs the flow on those params and prints its summary."""

import pytest
import yaml

from emsync.pipeline import flowkit


@pytest.fixture
def entered(monkeypatch):
    names = []
    monkeypatch.setattr("emsync.pipeline.runguard.enter_stage", lambda name, root=None: names.append(name))
    monkeypatch.setattr("emsync.core.env.apply_defaults", lambda: None)  # done once by conftest
    return names


def _params(tmp_path, steps: int):
    f = tmp_path / "params.yaml"
    f.write_text(yaml.safe_dump({"train": {"steps": steps}}))
    return f


def test_a_flow_gets_the_named_params_and_its_summary_is_printed(tmp_path, capsys, entered):
    f = _params(tmp_path, 7)
    out = flowkit.main(
        "train", lambda p: {"steps": p.train.steps}, summary=lambda m, p: f"trained {m['steps']} steps", argv=["--params", str(f)]
    )
    assert out == {"steps": 7} and entered == ["train"]
    assert capsys.readouterr().out == "trained 7 steps\n"


def test_own_flags_and_several_stages(tmp_path, capsys, entered):
    f = _params(tmp_path, 3)

    def add_args(ap):
        ap.add_argument("--variant")

    out = flowkit.main(
        "bandwidth",
        run=lambda p, a: (a.variant, p.train.steps),
        add_args=add_args,
        stages=lambda a: [f"bandwidth_train@{a.variant}", "bandwidth_report"],
        argv=["--params", str(f), "--variant", "unet"],
    )
    assert out == ("unet", 3) and entered == ["bandwidth_train@unet", "bandwidth_report"]
    assert capsys.readouterr().out == ""  # no summary given


def test_an_unknown_flag_is_a_usage_error_before_the_stage_is_entered(entered):
    with pytest.raises(SystemExit) as e:
        flowkit.main("tokens", lambda p: None, argv=["--nosuch"])
    assert e.value.code == 2 and entered == []
