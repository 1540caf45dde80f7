"""`emsync study report`: known answers -> the Table 6.2-6.4 numbers worked out by hand (thesis §6.4:
mean rank per video, then mean and std over videos), and the Fig. 6.5-6.7 rank counts."""

import pytest

from emsync.cli import main
from emsync.core.errors import InputError
from emsync.study import design, responses
from emsync.study.report import aggregate, markdown

E, B, N = "emsync", "no_boundaries", "neutral"

# Music Richness answers of five participants (token, music theory, video, {condition: rank}).
RICHNESS = [
    ("p1", True, "v1", {E: 1, B: 2, N: 3}),
    ("p2", False, "v1", {E: 2, B: 1, N: 3}),
    ("p3", True, "v2", {E: 1, B: 3, N: 2}),
    ("p4", True, "v2", {E: 3, B: 1, N: 2}),
    ("p5", False, "v2", {E: 1, B: 2, N: 3}),
]
# By hand. With theory (p1, p3, p4): v1 E 1, B 2, N 3; v2 E (1+3)/2 = 2, B 2, N 2
#   -> E 1.50 (0.50), B 2.00 (0.00), N 2.50 (0.50)
# Without (p2, p5): v1 E 2, B 1, N 3; v2 E 1, B 2, N 3 -> E 1.50 (0.50), B 1.50 (0.50), N 3.00 (0.00)
# All: v1 E 1.5, B 1.5, N 3; v2 E 5/3, B 2, N 7/3
#   -> E 19/12 = 1.58 (1/12 = 0.08), B 1.75 (0.25), N 8/3 = 2.67 (1/3 = 0.33)
# (E over all five answers at once would be 8/5 = 1.60: the per-video step matters.)
# The other four questions: everyone ranks E 1, B 2, N 3.


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "responses.duckdb"
    responses.init(path)
    for token, theory, video, richness in RICHNESS:
        rows = [(video, "richness", c, slot, r) for slot, (c, r) in zip(design.SLOTS, richness.items())]
        rows += [(video, q, c, slot, r) for q in design.QUESTION_KEYS[1:] for slot, (c, r) in zip(design.SLOTS, {E: 1, B: 2, N: 3}.items())]
        responses.store_submission(path, token, "page", theory, rows)
    return path


def test_known_answers_give_the_hand_computed_tables(db):
    agg = aggregate(responses.read_answers(db))
    got = {g: {c: tuple(round(agg[g]["table"][c]["richness"][k], 4) for k in ("mean", "std")) for c in (E, B, N)} for g in agg}
    assert got == {
        "theory": {E: (1.5, 0.5), B: (2.0, 0.0), N: (2.5, 0.5)},
        "no_theory": {E: (1.5, 0.5), B: (1.5, 0.5), N: (3.0, 0.0)},
        "all": {E: (1.5833, 0.0833), B: (1.75, 0.25), N: (2.6667, 0.3333)},
    }
    assert [agg[g]["participants"] for g in ("theory", "no_theory", "all")] == [3, 2, 5]
    assert agg["all"]["table"][E]["richness"]["n_videos"] == 2
    assert agg["all"]["table"][B]["timing"] == {"mean": 2.0, "std": 0.0, "n_videos": 2}
    # Fig. 6.7 counts: how often each condition got rank 1, 2, 3 for richness
    assert agg["all"]["counts"][E]["richness"] == [3, 1, 1]
    assert agg["all"]["counts"][B]["richness"] == [2, 2, 1]
    assert agg["all"]["counts"][N]["richness"] == [0, 2, 3]
    assert agg["theory"]["counts"][N]["overall"] == [0, 0, 3]


def test_markdown_tables_in_thesis_shape(db):
    md = markdown(aggregate(responses.read_answers(db)))
    header = "| | Music Richness | Music Quality | Emotion Match | Timing Match | Overall Match |"
    assert md.count(header) == 3
    t62, t63, t64 = (md.split(f"## Table {n}")[1].split("## ")[0] for n in ("6.2", "6.3", "6.4"))
    assert "3 participants, 2 videos" in t62 and "2 participants, 2 videos" in t63 and "5 participants, 2 videos" in t64
    assert "| EMSYNC | **1.50** (0.50) | **1.00** (0.00) | **1.00** (0.00) | **1.00** (0.00) | **1.00** (0.00) |" in t62
    assert "| EMSYNC, neutral emotion | 2.50 (0.50) | 3.00 (0.00) |" in t62
    assert "| EMSYNC, no boundaries | **1.50** (0.50) | 2.00 (0.00) |" in t63  # a tie: both bold
    assert "| EMSYNC | **1.58** (0.08) |" in t64
    assert "| EMSYNC, no boundaries | 1.75 (0.25) |" in t64
    assert "| EMSYNC, neutral emotion | 2.67 (0.33) |" in t64


def test_report_command_writes_tables_and_figures(db, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --db and -o given: no project (dvc.yaml) needed
    monkeypatch.delenv("EMSYNC_ROOT", raising=False)
    out = tmp_path / "report"
    assert main(["study", "report", "--db", str(db), "-o", str(out)]) == 0
    assert "Table 6.4: 5 participants" in capsys.readouterr().out
    assert "**1.58** (0.08)" in (out / "study.md").read_text()
    for fig in ("fig_6_5.png", "fig_6_6.png", "fig_6_7.png"):
        assert (out / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_group_empty_and_no_database(tmp_path):
    path = tmp_path / "r.duckdb"
    responses.store_submission(
        path, "p1", "page", False, [("v1", q, c, s, r) for q in design.QUESTION_KEYS for s, c, r in zip("ABC", (E, B, N), (2, 1, 3))]
    )
    md = markdown(aggregate(responses.read_answers(path)))
    assert "No answers from this group." in md.split("## Table 6.3")[0]
    assert "| EMSYNC, no boundaries | **1.00** (0.00) |" in md.split("## Table 6.4")[1]
    with pytest.raises(responses.AlreadySubmitted):
        responses.store_submission(path, "p1", "page", True, [("v1", "richness", E, "A", 1)])
    assert len(responses.read_answers(path)) == 15  # the refused second submission left nothing behind
    with pytest.raises(InputError, match="no responses database"):
        responses.read_answers(tmp_path / "none.duckdb")
