"""`emsync bench soundtrack` runs the whole pipeline on a generated clip and says where the time goes
(a smoke run on the tiny config; the timing itself is the benchmark's job, never asserted)."""

import json

from emsync.cli import main


def test_bench_soundtrack_reports_every_step(tmp_path, monkeypatch, capsys):
    (tmp_path / "params.yaml").write_text("classify: {soundtrack_uses_classifier: false}\ngenerate: {slide_stride: 16}\n")
    monkeypatch.setenv("EMSYNC_PARAMS", str(tmp_path / "params.yaml"))
    assert main(["bench", "soundtrack", "--config", "tiny", "--duration", "6", "--device", "cpu"]) in (0, None)
    r = json.loads(capsys.readouterr().out)
    assert list(r["seconds"]) == ["probe", "cuts", "speech", "emotion", "generate", "render", "mux", "other"]
    assert abs(sum(r["share"].values()) - 1.0) < 0.02  # the steps account for the total
    assert r["video_duration_s"] == 6.0 and r["boundaries"] == 1  # scenes every 1 s; the 4 s filter keeps the cut at 4 s
    assert r["video_codec"] == "copy"  # the picture stream is copied, not re-encoded
    assert r["emotion"] == {"source": "default", "classifier_used": False}
    assert r["ratio_vs_thesis"] == round(r["seconds_per_minute"] / 85.2, 3) and r["tokens"] > 0
