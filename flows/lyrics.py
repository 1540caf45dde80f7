"""lyrics stage (§3.2.2, §3.2.3.2): lyric emotion labels for every valid MIDI file with English lyrics.

    python -m flows.lyrics            # what `dvc repro lyrics` runs

Reads the MIDI folder (`lyrics.midi_dir`), the labeling stage's valid files and the train_lyrics
stage's two classifiers. Writes data/lyrics/
- lyrics.parquet: one row per valid file: language, word count, source, encoding, text, keep;
- rejects.parquet: midi_id, reason (invalid_midi | unreadable | no_lyrics | not_english |
  too_few_words), detail;
- labels.parquet: midi_id, file, n_words, n_tokens, truncated (> 512 tokens), p7_*, p28_*
  (raw sigmoid outputs, no threshold);
- 7labels.csv, 28labels.csv: the same shaped like the author's published files;
- archive.parquet: the author's labels imported by midi_id (when `lyrics.archive_dir` is set);
and reports/lyrics.md (counts, Listing 3.2-style samples, archive comparison), reports/lyrics_counts.png
(Figure 3.2), reports/lyrics_metrics.json.
"""

import dataclasses

import pandas as pd
from prefect import flow

from emsync.config import Params
from emsync.errors import InputError
from emsync.flowkit import RunReport, map_items, run_task
from emsync.io import file_digest, tree_digest, write_json, write_parquet, write_text
from emsync.stages import stage_digest
from emsync.tasks import lyrics as T

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


def model_dir_digest(folder) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise InputError(f"{folder}: no lyrics classifier here (run `dvc repro train_lyrics` or `python -m flows.train_lyrics`)")
    return tree_digest(files)


@flow(name="lyrics")
def lyrics_flow(params: Params, reports_dir: str | None = None) -> dict:
    from emsync.checks import check_table
    from emsync.labeling.scan import list_midi
    from emsync.midi_ids import midi_ids
    from emsync.lyrics import corpus
    from emsync.lyrics.labels import columns
    from emsync.midi_input import MidiLimits
    from emsync.device import resolve_device

    lp = params.lyrics
    report = RunReport("lyrics")
    code = stage_digest("lyrics")
    out = params.path(lp.out_dir)
    reports = params.path(reports_dir or params.paths.reports_dir)
    midi_dir = params.path(lp.midi_dir)
    paths = list_midi(midi_dir)
    if not paths:
        raise InputError(f"{midi_dir}: no MIDI files (.mid/.midi/.kar) found")
    files_table = params.path(lp.files)
    if not files_table.exists():
        raise InputError(f"{files_table}: not found (run `dvc repro labeling` first)")
    valid_ids = set(pd.read_parquet(files_table, columns=["midi_id"])["midi_id"])

    # 1. lyrics of every valid file, one cached task per shard of files
    keys = midi_ids(paths, midi_dir)  # the labelling stage's keys
    ids = [keys[x] for x in paths]
    rel = {mid: corpus.relative_file(x, midi_dir) for mid, x in zip(ids, paths)}
    rejects = [
        {"midi_id": mid, "reason": "invalid_midi", "detail": "rejected by the labeling stage's validation"}
        for mid in ids
        if mid not in valid_ids
    ]
    todo = [(str(x), mid) for x, mid in zip(paths, ids) if mid in valid_ids]
    jobs = [
        {
            "shard": k,
            "paths": [a for a, _ in todo[i : i + lp.shard_size]],
            "ids": [b for _, b in todo[i : i + lp.shard_size]],
            "digests": [file_digest(a) for a, _ in todo[i : i + lp.shard_size]],
        }
        for k, i in enumerate(range(0, len(todo), lp.shard_size))
    ]
    limits = dataclasses.asdict(MidiLimits.from_params(params))
    shards = map_items(
        T.extract_shard,
        jobs,
        report,
        desc="extract",
        key=lambda j: j["shard"],
        min_words=lp.min_words,
        language=lp.language,
        limits=limits,
        code=code,
    )
    rows = [r for k in sorted(shards) for r in shards[k]]
    for j in jobs:
        if j["shard"] not in shards:  # a failed shard: its files are recorded, never silently dropped
            rejects += [{"midi_id": mid, "reason": "unreadable", "detail": "extraction task failed"} for mid in j["ids"]]
    rejects += [{"midi_id": r["midi_id"], "reason": r["reason"], "detail": r.get("detail", "")} for r in rows if not r["keep"]]
    lyr = pd.DataFrame([r for r in rows if r["reason"] != "unreadable"]).reindex(columns=LYRICS_COLUMNS)
    lyr["file"] = lyr["midi_id"].map(rel)
    lyr = lyr.sort_values("midi_id").reset_index(drop=True)
    rej = pd.DataFrame(rejects, columns=["midi_id", "reason", "detail"]).sort_values("midi_id").reset_index(drop=True)
    for r in rej.itertuples(index=False):
        if r.reason in ("invalid_midi", "unreadable"):
            report.skip(r.midi_id, f"{r.reason}: {r.detail}")

    # 2. both classifiers over the kept lyrics (whole song, truncated at max_tokens)
    kept = lyr[lyr["keep"].astype(bool)].reset_index(drop=True)
    texts = kept["text"].tolist()
    digest = _texts_digest(kept["midi_id"].tolist() + texts)
    device = str(resolve_device(lp.device))
    res = {}
    for n in (7, 28):
        mdir = params.path(lp.models) / str(n)
        res[n] = run_task(T.infer, report, texts, digest, str(mdir), model_dir_digest(mdir), n, lp.max_tokens, lp.batch_size, device, code)
    labels = corpus.label_table(kept, res[7]["probs"], res[28]["probs"], res[7]["n_tokens"], lp.max_tokens)

    # 3. the author's archive as a second label source, compared where both exist
    archive, comparison = None, {"n_common": 0}
    if lp.archive_dir:
        from emsync.lyrics.archive import load_archive

        archive = load_archive(params.path(lp.archive_dir))
        comparison = corpus.compare_with_archive(labels, archive)

    # 4. checks, then every output atomically
    probs = columns(7) + columns(28)
    check_table(lyr, "lyrics_lyrics", [("not_null", "midi_id"), ("unique", "midi_id"), ("between", "n_words", 0, None)], reports)
    check_table(rej, "lyrics_rejects", [("not_null", "midi_id"), ("unique", "midi_id"), ("in_set", "reason", REJECT_REASONS)], reports)
    check_table(
        labels,
        "lyrics_labels",
        [("not_null", "midi_id"), ("unique", "midi_id"), ("between", "n_words", lp.min_words, None)]
        + [("between", c, 0.0, 1.0) for c in probs],
        reports,
    )
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
        "files": len(paths),
        "valid": len(valid_ids & set(ids)),
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
    write_text(
        reports / "lyrics.md",
        corpus.report_markdown(metrics, corpus.listing(labels, dict(zip(kept["midi_id"], texts)), sample, threshold=lp.count_threshold))
        + "\n"
        + _weights_markdown(params),
    )
    report.write(reports)
    return metrics


def _weights_markdown(params: Params) -> str:
    """The weights behind the probabilities: each lyrics classifier's record (its emsync.json) and
    the language identifier."""
    import json

    from emsync import provenance as P

    weights = []
    for n in (7, 28):
        meta = params.path(params.lyrics.models) / str(n) / "emsync.json"
        extra = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else None
        weights.append(P.from_extra(extra, f"lyrics classifier ({n} labels)", meta.parent))
    return P.markdown([*weights, P.packaged("py3langid", "language identification")])


def _texts_digest(texts) -> str:
    import hashlib

    h = hashlib.md5()
    for t in texts:
        h.update(t.encode("utf-8") + b"\x00")
    return h.hexdigest()


def _summary(m: dict, p) -> str:
    return (
        f"lyrics: {m['files']} files, {m['valid']} valid, {m['with_lyrics']} with lyrics, {m['english']} English, "
        f"{m['labelled']} labelled ({m['truncated']} truncated at {p.lyrics.max_tokens} tokens)"
    )


if __name__ == "__main__":
    from emsync import flowkit

    flowkit.main("lyrics", lyrics_flow, summary=_summary)
