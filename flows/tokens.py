"""tokens stage (§4.1, §4.3): tokenize the MIDI corpus into data/tokens/.

    python -m flows.tokens            # what `dvc repro tokens` runs
    python -m flows.tokens --corpus   # the real_music corpus: what `dvc repro -s -f pipelines/real_music/dvc.yaml:corpus_tokens` runs

Outputs (TokensParams.out_dir): vocab.json, shards/NNNNN.npy (int16 ids, songs back to back),
index.parquet (midi_id, shard, offset, n_tokens, split, valence, arousal, chord_times, stats),
rejects.parquet (midi_id, reason). Run report: reports/runs/tokens.json.
"""

import shutil

import pandas as pd
from prefect import flow

from emsync.pipeline.checks import check_table
from emsync.core.config import load_params
from emsync.pipeline.flowkit import RunReport, map_items
from emsync.core.io import file_digest
from emsync.music.midi_ids import relative_text
from emsync.music import corpus
from emsync.pipeline.stages import stage_digest
from emsync.tasks.tokens import tokenize_shard

WAVE = 4  # shard tasks submitted at a time

INDEX_CHECKS = [
    ("row_count_between", 1, None),
    ("not_null", "midi_id"),
    ("unique", "midi_id"),
    ("between", "n_tokens", 3, None),
    ("in_set", "split", ["train", "test"]),
    ("between", "valence", -1.0, 1.0),
    ("between", "arousal", -1.0, 1.0),
    ("between", "instruments", 1, 5),
]


@flow(name="tokens")
def tokens_flow(params=None, run_name: str = "tokens"):
    p = params or load_params()
    tp = p.tokens
    out = p.path(tp.out_dir)
    report = RunReport(run_name)
    files = corpus.list_files(p.path(tp.midi_dir))
    labels_path = p.path(tp.labels)
    labels = pd.read_parquet(labels_path) if labels_path.exists() else None
    if labels is not None:
        wanted = labels["midi_id"].astype(str).tolist()
        for m in sorted(set(wanted) - set(files)):
            report.skip(m, f"labelled but no file in {tp.midi_dir}")
        files = {m: files[m] for m in sorted(set(wanted) & set(files))}
    ids = list(files)
    batches = [ids[i : i + tp.shard_files] for i in range(0, len(ids), tp.shard_files)]
    # only what changes the tokens goes into the cache key (not paths, labels or chunk settings)
    shared = {"params": {k: getattr(tp, k) for k in corpus.ENCODE_PARAMS}, "code": stage_digest("tokens")}
    jobs = [
        {"shard": k, "items": [(m, str(files[m])) for m in b], "digests": [file_digest(files[m]) for m in b]} for k, b in enumerate(batches)
    ]
    reports = p.path(p.paths.reports_dir)
    rows, rejects = [], []
    corpus.recover_shards(out)
    shutil.rmtree(out / "shards.new", ignore_errors=True)
    for wave in range(0, len(jobs), WAVE):  # a few shards in flight: memory does not grow with the corpus
        results = map_items(
            tokenize_shard, jobs[wave : wave + WAVE], report, desc=f"tokenize {wave}/{len(jobs)}", key=lambda j: j["shard"], **shared
        )
        for k, r in sorted(results.items()):
            corpus.add_shard(out, k, r, rows, rejects)
        del results
    for rj in rejects:  # reasons name files relative to tokens.midi_dir: no clone path in the table
        rj["reason"] = relative_text(rj["reason"], p.path(tp.midi_dir))
        report.skip(rj["midi_id"], rj["reason"])

    index = corpus.finish_outputs(
        out, rows, rejects, labels, tp.test_fraction, check=lambda df: check_table(df, "tokens_index", INDEX_CHECKS, reports)
    )
    report.write(reports)
    return index


def corpus_params(p):
    """Params that point the tokens flow at the real_music corpus (data/corpus: midi/, labels.parquet
    -> tokens/), with its reports under reports/corpus/ so the demo's tokens outputs stay apart."""
    import dataclasses
    from pathlib import PurePosixPath

    out = PurePosixPath(p.real_music.out_dir)
    tokens = dataclasses.replace(p.tokens, midi_dir=str(out / "midi"), labels=str(out / "labels.parquet"), out_dir=str(out / "tokens"))
    paths = dataclasses.replace(p.paths, reports_dir=str(PurePosixPath(p.paths.reports_dir) / "corpus"))
    return dataclasses.replace(p, tokens=tokens, paths=paths)


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    def run(p, args):
        if args.corpus:  # the real_music pipeline's corpus_tokens stage
            return flowkit.with_dask(tokens_flow)(corpus_params(p), run_name="corpus_tokens")
        return flowkit.with_dask(tokens_flow)(p)

    flowkit.main(
        "tokens",
        run=run,
        add_args=lambda ap: ap.add_argument("--corpus", action="store_true", help="tokenize the real_music corpus (data/corpus)"),
        stages=lambda args: ["corpus_tokens" if args.corpus else "tokens"],
        summary=lambda idx, p: f"tokens: {len(idx)} songs, {int(idx['n_tokens'].sum())} tokens, {int((idx['split'] == 'test').sum())} test",
    )
