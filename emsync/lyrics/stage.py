"""The lyrics stage's plain steps (§3.2.2, §3.2.3.2); flows/lyrics.py wires them around its tasks.

inputs -> extraction jobs (shards of valid files) -> [extract_shard tasks] -> the lyrics and
rejects tables -> [infer tasks, 7 and 28 labels] -> labels (corpus.label_table) -> outputs.
"""

import dataclasses
import hashlib
from pathlib import Path

import pandas as pd

from emsync.core.errors import InputError
from emsync.core.io import file_digest, tree_digest, write_json, write_parquet, write_text
from emsync.lyrics import corpus

REJECT_REASONS = ["invalid_midi", "unreadable", "no_lyrics", "not_english", "too_few_words"]
LYRICS_COLUMNS = [
    "midi_id",
    "file",
    "language",
    "language_prob",
    "n_words",
    "source",
    "encoding",
    "n_events",
    "n_empty",
    "keep",
    "reason",
    "text",
]


@dataclasses.dataclass
class Inputs:
    """The MIDI files of `lyrics.midi_dir` under the labeling stage's keys, and which are valid."""

    paths: list  # every MIDI file, sorted
    ids: list  # their midi_ids (emsync.music.midi_ids, as the labeling stage keys them)
    rel: dict  # midi_id -> file relative to the MIDI folder
    valid_ids: set  # midi_ids the labeling stage's validator accepted


def read_inputs(params) -> Inputs:
    """The MIDI folder's files and the labeling stage's valid ones; one clear line when either is missing."""
    from emsync.labeling.scan import list_midi
    from emsync.music.midi_ids import midi_ids

    lp = params.lyrics
    midi_dir = params.path(lp.midi_dir)
    paths = list_midi(midi_dir)
    if not paths:
        raise InputError(f"{midi_dir}: no MIDI files (.mid/.midi/.kar) found")
    files_table = params.path(lp.files)
    if not files_table.exists():
        raise InputError(f"{files_table}: not found (run `dvc repro labeling` first)")
    valid_ids = set(pd.read_parquet(files_table, columns=["midi_id"])["midi_id"])
    keys = midi_ids(paths, midi_dir)  # the labelling stage's keys
    ids = [keys[x] for x in paths]
    rel = {mid: corpus.relative_file(x, midi_dir) for mid, x in zip(ids, paths)}
    return Inputs(paths, ids, rel, valid_ids)


def extraction_jobs(src: Inputs, shard_size: int) -> tuple[list, list]:
    """(one job per shard of valid files: paths, ids, content digests; a reject row per invalid file)."""
    rejects = [
        {"midi_id": mid, "reason": "invalid_midi", "detail": "rejected by the labeling stage's validation"}
        for mid in src.ids
        if mid not in src.valid_ids
    ]
    todo = [(str(x), mid) for x, mid in zip(src.paths, src.ids) if mid in src.valid_ids]
    jobs = [
        {
            "shard": k,
            "paths": [a for a, _ in todo[i : i + shard_size]],
            "ids": [b for _, b in todo[i : i + shard_size]],
            "digests": [file_digest(a) for a, _ in todo[i : i + shard_size]],
        }
        for k, i in enumerate(range(0, len(todo), shard_size))
    ]
    return jobs, rejects


def midi_limits(params) -> dict:
    """The MIDI gate's limits as the extraction task takes them."""
    from emsync.music.midi_input import MidiLimits

    return dataclasses.asdict(MidiLimits.from_params(params))


def lyrics_tables(shards: dict, jobs: list, rejects: list, src: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(lyrics: one row per readable valid file, rejects: midi_id, reason, detail) from the shards'
    rows; the files of a failed shard are recorded as unreadable, never silently dropped."""
    rows = [r for k in sorted(shards) for r in shards[k]]
    rejects = list(rejects)
    for j in jobs:
        if j["shard"] not in shards:
            rejects += [{"midi_id": mid, "reason": "unreadable", "detail": "extraction task failed"} for mid in j["ids"]]
    rejects += [{"midi_id": r["midi_id"], "reason": r["reason"], "detail": r.get("detail", "")} for r in rows if not r["keep"]]
    lyr = pd.DataFrame([r for r in rows if r["reason"] != "unreadable"]).reindex(columns=LYRICS_COLUMNS)
    lyr["file"] = lyr["midi_id"].map(src.rel)
    lyr = lyr.sort_values("midi_id").reset_index(drop=True)
    rej = pd.DataFrame(rejects, columns=["midi_id", "reason", "detail"]).sort_values("midi_id").reset_index(drop=True)
    return lyr, rej


def skips(rej: pd.DataFrame) -> list:
    """(midi_id, reason) of the files the run report counts as skipped (not a usable MIDI file)."""
    return [(r.midi_id, f"{r.reason}: {r.detail}") for r in rej.itertuples(index=False) if r.reason in ("invalid_midi", "unreadable")]


def texts_digest(texts) -> str:
    h = hashlib.md5()
    for t in texts:
        h.update(t.encode("utf-8") + b"\x00")
    return h.hexdigest()


def model_dir_digest(folder) -> str:
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    if not files:
        raise InputError(f"{folder}: no lyrics classifier here (run `dvc repro train_lyrics` or `python -m flows.train_lyrics`)")
    return tree_digest(files, folder)


def check_tables(lyr, rej, labels, min_words: int, reports) -> None:
    """The great_expectations suites of the three tables (a failure stops the stage with a report)."""
    from emsync.lyrics.labels import columns
    from emsync.pipeline.checks import check_table

    probs = columns(7) + columns(28)
    check_table(lyr, "lyrics_lyrics", [("not_null", "midi_id"), ("unique", "midi_id"), ("between", "n_words", 0, None)], reports)
    check_table(rej, "lyrics_rejects", [("not_null", "midi_id"), ("unique", "midi_id"), ("in_set", "reason", REJECT_REASONS)], reports)
    check_table(
        labels,
        "lyrics_labels",
        [("not_null", "midi_id"), ("unique", "midi_id"), ("between", "n_words", min_words, None)]
        + [("between", c, 0.0, 1.0) for c in probs],
        reports,
    )


def write_outputs(params, src: Inputs, lyr, rej, labels, kept, archive, comparison, reports) -> dict:
    """Every output of the stage, atomically (checks first); returns the metrics."""
    lp = params.lyrics
    out = params.path(lp.out_dir)
    check_tables(lyr, rej, labels, lp.min_words, reports)
    write_parquet(out / "lyrics.parquet", lyr)
    write_parquet(out / "rejects.parquet", rej)
    write_parquet(out / "labels.parquet", labels)
    corpus.export_csv(labels, 7, out / "7labels.csv")
    corpus.export_csv(labels, 28, out / "28labels.csv")
    if archive is not None:
        write_parquet(out / "archive.parquet", archive)
    elif (out / "archive.parquet").exists():
        (out / "archive.parquet").unlink()
    corpus.plot_counts(labels, reports / "lyrics_counts.png", lp.count_threshold)
    metrics = {
        "files": len(src.paths),
        "valid": len(src.valid_ids & set(src.ids)),
        "with_lyrics": int((lyr["n_words"] > 0).sum()),
        "english": int((lyr["language"] == lp.language).sum()),
        "labelled": len(labels),
        "truncated": int(labels["truncated"].sum()),
        "rejects": {r: int((rej["reason"] == r).sum()) for r in REJECT_REASONS},
        "counts_7": corpus.counts(labels, 7, lp.count_threshold),
        "counts_28": corpus.counts(labels, 28, lp.count_threshold),
        "archive": comparison,
    }
    write_json(reports / "lyrics_metrics.json", metrics)
    sample = labels.sort_values(["n_words", "midi_id"], ascending=[False, True])["midi_id"].head(lp.listing_files).tolist()
    texts = dict(zip(kept["midi_id"], kept["text"]))
    listing = corpus.listing(labels, texts, sample, threshold=lp.count_threshold)
    write_text(reports / "lyrics.md", corpus.report_markdown(metrics, listing) + "\n" + weights_markdown(params))
    return metrics


def weights_markdown(params) -> str:
    """The weights behind the probabilities: each lyrics classifier's record (its emsync.json) and
    the language identifier."""
    import json

    from emsync.core import provenance as P

    weights = []
    for n in (7, 28):
        meta = params.path(params.lyrics.models) / str(n) / "emsync.json"
        extra = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else None
        weights.append(P.from_extra(extra, f"lyrics classifier ({n} labels)", meta.parent))
    return P.markdown([*weights, P.packaged("py3langid", "language identification")])
