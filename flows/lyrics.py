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

from prefect import flow

from emsync.core.config import Params
from emsync.pipeline.flowkit import RunReport, map_items, run_task
from emsync.lyrics import stage
from emsync.pipeline.stages import stage_digest
from emsync.tasks import lyrics as T


@flow(name="lyrics")
def lyrics_flow(params: Params, reports_dir: str | None = None) -> dict:
    from emsync.core.device import resolve_device
    from emsync.lyrics import corpus

    lp = params.lyrics
    report = RunReport("lyrics")
    code = stage_digest("lyrics")
    reports = params.path(reports_dir or params.paths.reports_dir)
    src = stage.read_inputs(params)

    # 1. lyrics of every valid file, one cached task per shard of files
    jobs, rejects = stage.extraction_jobs(src, lp.shard_size)
    limits = stage.midi_limits(params)
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
    lyr, rej = stage.lyrics_tables(shards, jobs, rejects, src)
    for item, reason in stage.skips(rej):
        report.skip(item, reason)

    # 2. both classifiers over the kept lyrics (whole song, truncated at max_tokens)
    kept = lyr[lyr["keep"].astype(bool)].reset_index(drop=True)
    texts = kept["text"].tolist()
    digest = stage.texts_digest(kept["midi_id"].tolist() + texts)
    device = str(resolve_device(lp.device))
    res = {}
    for n in (7, 28):
        mdir = params.path(lp.models) / str(n)
        res[n] = run_task(
            T.infer, report, texts, digest, str(mdir), stage.model_dir_digest(mdir), n, lp.max_tokens, lp.batch_size, device, code
        )
    labels = corpus.label_table(kept, res[7]["probs"], res[28]["probs"], res[7]["n_tokens"], lp.max_tokens)

    # 3. the author's archive as a second label source, compared where both exist
    archive, comparison = None, {"n_common": 0}
    if lp.archive_dir:
        from emsync.lyrics.archive import load_archive

        archive = load_archive(params.path(lp.archive_dir))
        comparison = corpus.compare_with_archive(labels, archive)

    # 4. checks, then every output atomically
    metrics = stage.write_outputs(params, src, lyr, rej, labels, kept, archive, comparison, reports)
    report.write(reports)
    return metrics


def _summary(m: dict, p) -> str:
    return (
        f"lyrics: {m['files']} files, {m['valid']} valid, {m['with_lyrics']} with lyrics, {m['english']} English, "
        f"{m['labelled']} labelled ({m['truncated']} truncated at {p.lyrics.max_tokens} tokens)"
    )


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main("lyrics", lyrics_flow, summary=_summary)
