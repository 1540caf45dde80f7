"""corpus stage: music21's public-domain works -> MIDI in the tokenizer's instruments + labels.

    python -m flows.corpus            # what `dvc repro -s -f pipelines/real_music/dvc.yaml:corpus` runs

One cached task per work (tasks/corpus.py): parse with music21, map parts to instruments, write
MIDI, check it with the labelling stage's validation and content hash. Works music21 cannot use,
invalid files and content duplicates are recorded rejects. Outputs under `real_music.out_dir`
(data/corpus): midi/<midi_id>.mid, works.parquet (every converted work's facts), rejects.parquet,
labels.parquet (the thesis labels table's layout: midi_id, valence, arousal, split, ...); the data
card reports/corpus.md (+ reports/corpus.json); run report reports/runs/corpus.json.
"""

import shutil

from prefect import flow

from emsync.pipeline.checks import check_table
from emsync.core.config import load_params
from emsync.pipeline.flowkit import RunReport, collect
from emsync.core.io import file_digest, write_bytes, write_json, write_parquet, write_text

WAVE = 400  # works submitted at a time
LABELS_CHECKS = [
    ("row_count_between", 1, None),
    ("not_null", "midi_id"),
    ("unique", "midi_id"),
    ("not_null", "content_hash"),
    ("between", "valence", -1.0, 1.0),
    ("between", "arousal", -1.0, 1.0),
    ("in_set", "split", ["train", "test"]),
]


@flow(name="corpus")
def corpus_flow(params=None):
    from emsync.real_music import corpus_stage, data_card
    from emsync.real_music.labels import labels_table
    from emsync.real_music.sources import check_sources
    from emsync.real_music.works import corpus_root, list_works
    from emsync.tasks.corpus import convert_work_task

    p = params or load_params()
    rp = p.real_music
    sources = check_sources(rp.sources)
    out, reports = p.path(rp.out_dir), p.path(p.paths.reports_dir)
    report = RunReport("corpus")
    root = corpus_root()
    works = [w.to_dict() for w in list_works(sources, root)]
    digests = {path: file_digest(root / path) for path in sorted({w["path"] for w in works})}
    code = corpus_stage.converter_digest()
    results = {}
    for k in range(0, len(works), WAVE):
        wave = works[k : k + WAVE]
        futures = [(w, convert_work_task.submit(w, digests[w["path"]], code)) for w in wave]
        results.update(collect(futures, report, key=lambda w: w["work_id"], desc=f"convert {k}/{len(works)}"))
    table, rejects = corpus_stage.works_tables(works, results, report.skipped)
    kept = table[table["kept"]]
    labels = labels_table(kept.drop(columns=["kept", "reject_reason"]), rp.test_fraction)
    check_table(labels, "corpus_labels", LABELS_CHECKS, reports)
    write_midi(out / "midi", {m: results[m]["midi"] for m in labels["midi_id"]})
    write_parquet(out / "works.parquet", table)
    write_parquet(out / "rejects.parquet", rejects)
    write_parquet(out / "labels.parquet", labels)
    summary = data_card.summary(sources, table, rejects, labels)
    write_json(reports / "corpus.json", summary)
    write_text(reports / "corpus.md", data_card.data_card(summary))
    report.write(reports)
    return summary


def write_midi(folder, files: dict) -> None:
    """The kept works' MIDI files, replacing the folder's previous contents as a whole."""
    new = folder.with_name(folder.name + ".new")
    shutil.rmtree(new, ignore_errors=True)
    for midi_id, data in files.items():
        write_bytes(new / f"{midi_id}.mid", data)
    shutil.rmtree(folder, ignore_errors=True)
    new.mkdir(parents=True, exist_ok=True)
    new.rename(folder)


def _summary(s: dict, p) -> str:
    return f"corpus: {s['kept']} works kept of {s['works']} ({s['rejected']} rejects), {s['notes']:,} notes; data card reports/corpus.md"


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main("corpus", corpus_flow, summary=_summary, description=__doc__.split("\n")[0])
