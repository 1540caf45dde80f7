"""reports/labeling.md + reports/labeling_metrics.json (Table 3.1-shaped counts) and the
valence/arousal histograms (reports/labeling_valence.png, reports/labeling_arousal.png)."""

from pathlib import Path

import numpy as np
import pandas as pd

from emsync.core.io import atomic_path, write_json, write_text

# Thesis figures for LMD-full / LMD-matched (§3.1, §4.3), printed beside ours.
THESIS = {
    "files": 178561,
    "valid": 174270,
    "unique": 152968,
    "matched": 36545,
    "with_audio_features": 34791,
    "with_valence": 23653,
    "with_arousal": 103735,
    "hours_with_audio_features": 2161.9,
}


def metrics(files: pd.DataFrame, rejects: pd.DataFrame, labels: pd.DataFrame, audio: pd.DataFrame) -> dict:
    unique = labels
    with_audio = unique[unique["midi_id"].isin(set(audio["midi_id"]))] if len(audio) else unique.iloc[:0]
    reasons = rejects["reason"].value_counts().sort_index().to_dict() if len(rejects) else {}
    return {
        "files": int(len(files) + len(rejects)),
        "valid": int(len(files)),
        "rejected": {str(k): int(v) for k, v in reasons.items()},
        "unique": int(len(unique)),
        "matched": int(unique["matched"].sum()),
        "with_audio_features": int(len(with_audio)),
        "with_valence": int(unique["valence"].notna().sum()),
        "with_arousal": int(unique["arousal"].notna().sum()),
        "with_both": int((unique["valence"].notna() & unique["arousal"].notna()).sum()),
        "test_files": int((unique["split"] == "test").sum()),
        "hours_unique": round(float(unique["duration"].sum()) / 3600, 3),
        "fast_path_verified": int(files["verified"].notna().sum()) if "verified" in files else 0,
        "fast_path_mismatches": int((files["verified"] == False).sum()) if "verified" in files else 0,  # noqa: E712
        "hours_with_audio_features": round(float(with_audio["duration"].sum()) / 3600, 3),
    }


def _histogram(values, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    ax.hist(v, bins=np.linspace(-1, 1, 21), color="#4472c4", edgecolor="white")
    ax.set_xlabel(title)
    ax.set_ylabel("files")
    ax.set_title(f"{title} ({len(v)} labelled files)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def _text_hist(values) -> str:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    counts, edges = np.histogram(v, bins=np.linspace(-1, 1, 11))
    top = max(counts.max(), 1) if len(counts) else 1
    return "\n".join(f"[{a:+.1f}, {b:+.1f})  {'#' * int(round(30 * c / top)):<30} {c}" for a, b, c in zip(edges[:-1], edges[1:], counts))


def write_report(m: dict, labels: pd.DataFrame, reports_dir, arousal_feature="tempo") -> dict:
    reports_dir = Path(reports_dir)
    write_json(reports_dir / "labeling_metrics.json", m)
    _histogram(labels["valence"], "valence", reports_dir / "labeling_valence.png")
    _histogram(labels["arousal"], f"arousal ({arousal_feature})", reports_dir / "labeling_arousal.png")
    rows = [
        ("files", "files"),
        ("valid", "valid"),
        ("unique content", "unique"),
        ("matched to MSD", "matched"),
        ("with Spotify audio features", "with_audio_features"),
        ("with valence", "with_valence"),
        ("with arousal", "with_arousal"),
        ("hours (with audio features)", "hours_with_audio_features"),
    ]
    table = "\n".join(f"| {name} | {m[k]} | {THESIS.get(k, '')} |" for name, k in rows)
    rej = ", ".join(f"{k}: {v}" for k, v in m["rejected"].items()) or "none"
    text = f"""# Lakh MIDI labelling (thesis §3.1, §4.3)

Counts in the shape of Table 3.1 (thesis column: LMD-full / LMD-matched as reported in §3.1 and §4.3).

| count | this run | thesis |
|---|---|---|
{table}

Rejected files by reason: {rej}.
Fast-path hashes re-checked against the pretty_midi reference: {m["fast_path_verified"]} files, {m["fast_path_mismatches"]} disagreements.
Test split: {m["test_files"]} files (last 5 % of the matched files by name). Arousal feature: `{arousal_feature}`.

## Valence (Spotify valence, 0.0 -> missing, scaled to [-1, 1])

![valence](labeling_valence.png)

```
{_text_hist(labels["valence"])}
```

## Arousal ({arousal_feature})

![arousal](labeling_arousal.png)

```
{_text_hist(labels["arousal"])}
```
"""
    write_text(reports_dir / "labeling.md", text)
    return m
