"""Lyric labels for a MIDI corpus (§3.2.2, §3.2.3.2): the label table, the CSV exports shaped like
the published 7labels.csv / 28labels.csv, the Figure 3.2 counts plot, the Listing 3.2 text report,
and the comparison with the archive's labels where both exist.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from emsync.core.io import atomic_path, write_text
from emsync.lyrics.labels import LABEL_SETS, columns

COUNT_THRESHOLD = 0.1  # Figure 3.2 / Listing 3.2: a label is "present" above 0.1


def label_table(rows: pd.DataFrame, probs7: np.ndarray, probs28: np.ndarray, n_tokens: np.ndarray, max_tokens: int) -> pd.DataFrame:
    """midi_id, file, n_words, n_tokens, truncated, p7_*, p28_* (raw sigmoid outputs, no threshold)."""
    df = pd.DataFrame(
        {
            "midi_id": rows["midi_id"].to_numpy(),
            "file": rows["file"].to_numpy(),
            "n_words": rows["n_words"].to_numpy().astype(int),
            "n_tokens": n_tokens.astype(int),
            "truncated": n_tokens > max_tokens,
        }
    )
    df = pd.concat(
        [df, pd.DataFrame(probs7.astype(float), columns=columns(7)), pd.DataFrame(probs28.astype(float), columns=columns(28))], axis=1
    )
    return df.sort_values("midi_id").reset_index(drop=True)


def export_csv(labels: pd.DataFrame, n_labels: int, path, decimals: int = 4):
    """`file,<label>,...` rows like the published archive: labels in alphabetical order (neutral
    among them), 4 decimals, one row per file path."""
    names = sorted(LABEL_SETS[n_labels])
    out = labels[["file", *(f"p{n_labels}_{n}" for n in names)]]
    out = out.rename(columns={f"p{n_labels}_{n}": n for n in names}).sort_values("file")
    out[names] = out[names].round(decimals)
    write_text(path, out.to_csv(index=False, lineterminator="\n"))


def counts(labels: pd.DataFrame, n_labels: int, threshold: float = COUNT_THRESHOLD) -> dict:
    """{label: files with probability > threshold}, neutral excluded (Figure 3.2)."""
    names = [n for n in LABEL_SETS[n_labels] if n != "neutral"]
    return {n: int((labels[f"p{n_labels}_{n}"] > threshold).sum()) for n in names}


def plot_counts(labels: pd.DataFrame, path, threshold: float = COUNT_THRESHOLD, title_suffix: str = ""):
    """Figure 3.2: samples containing each emotion, 7-label (left) and 28-label (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 3]})
    for ax, n in zip(axes, (7, 28)):
        c = counts(labels, n, threshold)
        ax.bar(list(c), list(c.values()), color="#4c72b0")
        ax.set_title(f"{n}-label{title_suffix}")
        ax.set_ylabel(f"files with p > {threshold}")
        ax.tick_params(axis="x", rotation=90)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)


def excerpt(text: str, n_lines: int = 6, width: int = 60) -> list:
    """The first `n_lines` lyric lines; lyrics without line marks are wrapped at `width` characters."""
    import textwrap

    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) < n_lines:
        lines = [w for ln in lines for w in (textwrap.wrap(ln, width) or [ln])]
    return lines[:n_lines]


def listing(labels: pd.DataFrame, texts: dict, midi_ids: list, n_lines: int = 6, threshold: float = COUNT_THRESHOLD) -> str:
    """Listing 3.2: file, a lyrics excerpt, and the labels above `threshold` in descending order."""
    by_id = labels.set_index("midi_id")
    out = []
    for mid in midi_ids:
        r = by_id.loc[mid]
        lines = excerpt(texts.get(mid, ""), n_lines)
        block = [f"File path: {r['file']}", "Lyrics:", *lines]
        for n in (7, 28):
            probs = sorted(((float(r[c]), name) for c, name in zip(columns(n), LABEL_SETS[n])), reverse=True)
            block.append(f"{n}-label predictions:")
            block += [f"{name}: {p:.4f}" for p, name in probs if p > threshold]
        out.append("\n".join(block))
    return "\n\n".join(out) + "\n"


def compare_with_archive(ours: pd.DataFrame, archive: pd.DataFrame) -> dict:
    """Agreement where both tables label a midi_id: mean |difference| and top-label agreement per
    label set; {"n_common": 0} when they share no file."""
    common = ours.merge(archive, on="midi_id", suffixes=("", "_archive"))
    out = {"n_common": int(len(common))}
    if not len(common):
        return out
    for n in (7, 28):
        a = common[columns(n)].to_numpy(float)
        b = common[[c + "_archive" for c in columns(n)]].to_numpy(float)
        out[f"mean_abs_diff_{n}"] = float(np.abs(a - b).mean())
        out[f"top_label_agreement_{n}"] = float((a.argmax(1) == b.argmax(1)).mean())
    return out


def relative_file(path, root) -> str:
    """A corpus file's path as the CSV exports name it: relative to the MIDI folder, '/'-separated."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def report_markdown(m: dict, listing_text: str) -> str:
    """reports/lyrics.md: the §3.2.2 filter counts, Figure 3.2 counts, samples and the archive check."""
    rj = m["rejects"]
    lines = [
        "# Lyric emotion labels (§3.2.2, §3.2.3.2)",
        "",
        "| files | valid | with lyrics | English | labelled (English, >= min words) | truncated at max tokens |",
        "|---|---|---|---|---|---|",
        f"| {m['files']} | {m['valid']} | {m['with_lyrics']} | {m['english']} | {m['labelled']} | {m['truncated']} |",
        "",
        "Rejects: " + ", ".join(f"{k} {v}" for k, v in rj.items()) + ".",
        "",
        "The thesis kept 12,509 files (8,386 Lakh + 4,123 Reddit) with English lyrics of at least 50 words.",
        "",
        "## Files per emotion, probability > 0.1, neutral excluded (Figure 3.2: reports/lyrics_counts.png)",
        "",
    ]
    for n in (7, 28):
        c = m[f"counts_{n}"]
        lines += [f"{n}-label: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: -kv[1])), ""]
    a = m["archive"]
    lines += ["## Compared with the author's published labels", ""]
    if a.get("n_common"):
        lines += [
            f"{a['n_common']} files in both: mean |difference| {a['mean_abs_diff_7']:.4f} (7 labels), "
            f"{a['mean_abs_diff_28']:.4f} (28 labels); same top label {a['top_label_agreement_7']:.1%} / "
            f"{a['top_label_agreement_28']:.1%}.",
            "",
        ]
    else:
        lines += ["No file is labelled by both (the archive covers Lakh and Reddit MIDI files; none is in this corpus).", ""]
    lines += ["## Samples (Listing 3.2 style)", "", "```", listing_text.rstrip("\n"), "```", ""]
    return "\n".join(lines)
