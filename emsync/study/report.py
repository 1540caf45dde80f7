"""`emsync study report`: the answers as Tables 6.2-6.4 and Figs. 6.5-6.7 (thesis §6.4).

Thesis §6.4: "Rankings are first averaged per video and then averaged across all videos ...
Standard deviations across videos are shown in parentheses." So for each group, question and
condition: mean rank of each video over the group's participants who ranked it, then the mean and
standard deviation of those per-video means over the videos (population std, ddof = 0: the thesis
does not say which; numpy's default). A video nobody in a group answered is left out of that
group's numbers. Groups: Table 6.2 / Fig. 6.5 participants who report an understanding of music
theory, Table 6.3 / Fig. 6.6 those who do not, Table 6.4 / Fig. 6.7 everyone. The stacked bars
count how often each rank was given, per question and condition.
"""

from pathlib import Path

import pandas as pd

from emsync.core.io import atomic_path, write_json, write_text
from emsync.study import design

# (key, table, figure, who) in the thesis's order
GROUPS = (
    ("theory", "6.2", "6.5", "participants with a self-reported understanding of music theory"),
    ("no_theory", "6.3", "6.6", "participants without a self-reported understanding of music theory"),
    ("all", "6.4", "6.7", "all participants"),
)


def _group_rows(df: pd.DataFrame, group: str) -> pd.DataFrame:
    theory = df["music_theory"].astype(bool)
    if group == "theory":
        return df[theory]
    if group == "no_theory":
        return df[~theory]
    return df


def _conditions(df: pd.DataFrame) -> list[str]:
    """Conditions in the design's order, unknown ones after, sorted."""
    present = set(df["condition"])
    return [c for c in design.CONDITION_LABELS if c in present] + sorted(present - set(design.CONDITION_LABELS))


def aggregate(df: pd.DataFrame) -> dict:
    """{group: {"participants", "videos", "table": {condition: {question: {mean, std, n_videos}}},
    "counts": {condition: {question: [n rank 1, n rank 2, n rank 3]}}}} for the three groups."""
    out = {}
    conds = _conditions(df)
    for key, *_ in GROUPS:
        g = _group_rows(df, key)
        per_video = g.groupby(["condition", "question", "video_id"])["rank"].mean()  # mean over participants
        across = per_video.groupby(["condition", "question"]).agg(["mean", lambda s: s.std(ddof=0), "count"])
        across.columns = ["mean", "std", "n_videos"]
        counts = g.groupby(["condition", "question", "rank"]).size()
        table, cnt = {}, {}
        for c in conds:
            table[c], cnt[c] = {}, {}
            for q in design.QUESTION_KEYS:
                if (c, q) in across.index:
                    row = across.loc[(c, q)]
                    table[c][q] = {"mean": float(row["mean"]), "std": float(row["std"]), "n_videos": int(row["n_videos"])}
                cnt[c][q] = [int(counts.get((c, q, r), 0)) for r in (1, 2, 3)]
        out[key] = {"participants": int(g["token"].nunique()), "videos": int(g["video_id"].nunique()), "table": table, "counts": cnt}
    return out


def markdown(agg: dict) -> str:
    """Tables 6.2-6.4 as markdown: mean (std) per condition and question, the best (lowest) mean in bold."""
    lines = [
        "# User study (thesis §6.3.3, Tables 6.2-6.4)",
        "",
        "Lower is better (1 = best, 3 = worst). Mean rank per video over its participants, then mean",
        "(standard deviation, ddof = 0) over the videos. Figures: `fig_6_5.png`, `fig_6_6.png`, `fig_6_7.png`",
        "(how often each rank was given).",
        "",
    ]
    for key, table_no, fig_no, who in GROUPS:
        g = agg[key]
        lines += [f"## Table {table_no}: {who}", "", f"{g['participants']} participants, {g['videos']} videos.", ""]
        if not g["participants"]:
            lines += ["No answers from this group.", ""]
            continue
        lines.append("| | " + " | ".join(q.label for q in design.QUESTIONS) + " |")
        lines.append("|---" * (len(design.QUESTIONS) + 1) + "|")
        best = {}
        for q in design.QUESTION_KEYS:
            means = [round(t[q]["mean"], 2) for t in g["table"].values() if q in t]
            best[q] = min(means) if means else None
        for cond, t in g["table"].items():
            cells = []
            for q in design.QUESTION_KEYS:
                if q not in t:
                    cells.append("-")
                    continue
                m = f"{t[q]['mean']:.2f}"
                cells.append(f"{'**' + m + '**' if round(t[q]['mean'], 2) == best[q] else m} ({t[q]['std']:.2f})")
            lines.append(f"| {design.condition_label(cond)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def stacked_bars(group: dict, title: str, path) -> None:
    """Figs. 6.5-6.7: per question, one bar per condition, stacked by how often ranks 1, 2, 3 were given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conds = list(group["counts"])
    fig, axes = plt.subplots(1, len(design.QUESTIONS), figsize=(3 * len(design.QUESTIONS), 4), sharey=True)
    colors = ("#2e7d32", "#f9a825", "#c62828")
    for ax, q in zip(axes, design.QUESTIONS):
        bottom = [0] * len(conds)
        for r, color in zip(range(3), colors):
            heights = [group["counts"][c][q.key][r] for c in conds]
            ax.bar(range(len(conds)), heights, bottom=bottom, color=color, label=f"rank {r + 1}")
            bottom = [b + h for b, h in zip(bottom, heights)]
        ax.set_title(q.label)
        ax.set_xticks(range(len(conds)), [design.condition_label(c) for c in conds], rotation=30, ha="right", fontsize=8)
    axes[0].set_ylabel("answers")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper right", ncol=3, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)


def write_report(df: pd.DataFrame, out_dir) -> dict:
    """study.md, study.json and the three figures in `out_dir`; returns the aggregate."""
    out = Path(out_dir)
    agg = aggregate(df)
    write_text(out / "study.md", markdown(agg) + "\n")
    write_json(out / "study.json", agg)
    for key, _, fig_no, who in GROUPS:
        fig = out / f"fig_{fig_no.replace('.', '_')}.png"
        if agg[key]["participants"]:
            stacked_bars(agg[key], f"Fig. {fig_no}: {who} ({agg[key]['participants']})", fig)
        else:  # no stale figure from an earlier report
            fig.unlink(missing_ok=True)
    return agg
