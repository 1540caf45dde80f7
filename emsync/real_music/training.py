"""The real generator shipped in the package: its training params, held-out evaluation, stored
weights and provenance (the `train_real` stage, flows/train_real.py; docs/real_music.md).

It is the thesis's model and training task (§4.4 continuous-concat emotion, §4.1/eq. 6.1 boundary
offsets, the CHORD-weighted loss, Adam with a two-step learning rate) at a size chosen by pilot
runs for a budget of 7,200 CPU-seconds (60 minutes on 2 cores), trained on music21's public-domain
corpus (emsync/real_music). The budget is a step count measured to fit it, so a re-run does
the same work on any machine.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from emsync.core.config import TrainParams

from emsync.music.generator import PACKAGE_FILE, PACKAGE_REF


# How the shipped model samples (extra["sampling"]; generate.sampling: checkpoint). Chosen on the held-out
# works' statistics, not on any video: 16 x 30 s unconditioned pieces, seeds 0 and 1 (docs/real_music.md).
# The thesis's rule (temperature 1.2, the temperature raised until the nucleus holds 3 tokens, §4.4)
# forces wrong notes out of a small confident model: scale consistency 0.87 against the corpus's 0.98;
# plain nucleus sampling at temperature 1 gives 0.97.
SAMPLING = {"top_p": 0.7, "temperature": 1.0, "min_nucleus": 1}


def train_params(p, **over) -> TrainParams:
    """TrainParams of the real generator from params' `real_music` section (+ overrides)."""
    rp = p.real_music
    tp = TrainParams(
        config=rp.config,
        conditioning=rp.conditioning,
        use_boundaries=True,
        steps=rp.steps,
        batch_size=rp.batch_size,
        lr=rp.lr,
        lr_after=rp.lr_after,
        lr_switch_step=rp.lr_switch_step,
        seed=rp.seed,
        device="cpu",
        checkpoint_every=100,
        log_every=10,
        seq_len=0,
        checkpoint=rp.checkpoint,
    )
    return dataclasses.replace(tp, **over)


def weights_info(summary: dict | None = None) -> dict:
    """extra["weights"] of the shipped checkpoint (emsync.core.provenance's record)."""
    import music21

    from emsync.core.provenance import weights_record

    corpus = f"music21 {music21.__version__} corpus, public-domain works"
    if summary:
        corpus += f": {', '.join(summary['sources'])} ({summary['kept']} works, {summary['notes']:,} notes; reports/corpus.md)"
    return weights_record("real", f"emsync package ({PACKAGE_REF}, emsync/{'/'.join(PACKAGE_FILE)})", corpus)


def stored_state(state_dict: dict, dtype: str) -> dict:
    """The weights as stored in the package: floating tensors cast to `dtype` (float16 halves the
    file; loading casts them back into the float32 model)."""
    import torch

    dt = {"float16": torch.float16, "float32": torch.float32}[dtype]
    return {k: (v.to(dt) if v.is_floating_point() else v) for k, v in state_dict.items()}


def evaluate_heldout(model, tokens_dir, max_offset_s: float, ngram_orders=(2, 3, 4, 5), batch_size: int = 16) -> dict:
    """Held-out NLL / top-1 / top-5 of the model over every test chunk (with its boundaries, and
    with 'no boundary ahead'), and the n-gram baseline's NLL on the same chunks."""
    from emsync.music import vocab
    from emsync.music.dataset import TokenCorpus
    from emsync.training.metrics import token_metrics
    from emsync.real_music.ngram import NGram
    from emsync.real_music.pilot import chunk_batches, heldout_chunks

    chunks = heldout_chunks(tokens_dir, model.cfg.max_len, max_offset_s)
    out = {"chunks": len(chunks), **token_metrics(model, chunk_batches(chunks, batch_size))}
    ab = token_metrics(model, chunk_batches(chunks, batch_size, no_boundary_cap=max_offset_s))
    out["no_boundary"] = {k: ab[k] for k in ("nll", "top1", "top5")}
    train = TokenCorpus(tokens_dir, split="train")
    seqs = [train.tokens(i) for i in range(len(train))]
    out["ngram"] = {str(n): round(NGram(n, vocab.SIZE).fit(seqs).chunk_nll(chunks), 4) for n in ngram_orders}
    return out


def cpu_ledger(state_path) -> Path:
    """The CPU-time ledger kept beside a run's resumable state: one entry per training session
    (pilot, resumptions, every DDP rank), so the budget spent is known across processes."""
    return Path(str(state_path) + ".cpu.json")


def add_cpu(state_path, entry: dict) -> None:
    from emsync.core.io import read_json, write_json

    path = cpu_ledger(state_path)
    entries = read_json(path) if path.is_file() else []
    write_json(path, [*entries, entry])


def cpu_spent(state_path) -> float:
    from emsync.core.io import read_json

    path = cpu_ledger(state_path)
    return round(sum(e["cpu_s"] for e in read_json(path)), 1) if path.is_file() else 0.0


def train_session(tokens_dir, tokens_digest: str, train: dict, tokens: dict, state_path) -> dict:
    """Train to train["steps"] (resuming the state), every rank of a torchrun group taking its rows;
    each rank's CPU-seconds go into the ledger."""
    import time

    from emsync.real_music.sampling import WorkChunkBatches
    from emsync.training.engine import init_distributed
    from emsync.training.generator import train_generator

    info = init_distributed()
    cpu0 = time.process_time()
    result = train_generator(tokens_dir, tokens_digest, train, tokens, state_path=state_path, progress=False, batches=WorkChunkBatches)
    cpu = time.process_time() - cpu0
    if info.world_size > 1:
        import torch
        import torch.distributed as dist

        per_rank = [torch.zeros(1, dtype=torch.float64) for _ in range(info.world_size)]
        dist.all_gather(per_rank, torch.tensor([cpu], dtype=torch.float64))
        ranks = [float(x) for x in per_rank]
    else:
        ranks = [cpu]
    if info.main and result["steps"] > result["resumed_from"]:
        add_cpu(
            state_path,
            {"session": "train", "steps": [result["resumed_from"], result["steps"]], "ranks": len(ranks), "cpu_s": round(sum(ranks), 1)},
        )
    return result


def store_run(result: dict, tokens_dir, tokens_digest: str, train: dict, tokens: dict, checkpoint, state_path, store: dict) -> dict:
    """Evaluate a finished run on the held-out works and write the checkpoint with its weights
    stored as store["dtype"] and extra["weights"] = store["weights"]."""
    from emsync.core.config import TokensParams
    from emsync.music.generator import save_generator
    from emsync.core.io import file_digest
    from emsync.models.music_transformer import MusicTransformer, MusicTransformerConfig
    from emsync.music import vocab
    from emsync.training.generator import train_metrics

    tp = TrainParams(**train)
    model = MusicTransformer(MusicTransformerConfig.from_dict(result["config"]))
    model.load_state_dict(stored_state(result["state_dict"], store["dtype"]))  # evaluate what ships
    model.eval()
    heldout = evaluate_heldout(model, tokens_dir, TokensParams(**tokens).max_boundary_offset_s)
    metrics = {**train_metrics(result, tp), "train_cpu_s": cpu_spent(state_path), "cpu_budget_s": 7200.0}
    extra = {
        "vocab_version": vocab.VOCAB_VERSION,
        "train": train,
        "tokens_digest": tokens_digest,
        "metrics": metrics,
        "heldout": heldout,
        "weights": store["weights"],
        "weights_dtype": store["dtype"],
        "sampling": SAMPLING,
    }
    if store["dtype"] == "float16":
        model.half()  # the file holds float16 tensors; loading casts them into a float32 model
    save_generator(checkpoint, model, extra)
    return {
        "checkpoint": str(checkpoint),
        "md5": file_digest(checkpoint),
        "metrics": metrics,
        "heldout": heldout,
        "history": result["history"],
    }


def train_and_store(tokens_dir, tokens_digest: str, train: dict, tokens: dict, checkpoint, state_path, store: dict) -> dict | None:
    """Train (the engine; under torchrun every rank), then on the main process evaluate and write
    the checkpoint: store_run's result (None on the other ranks)."""
    import torch.distributed as dist

    from emsync.training.engine import init_distributed

    try:
        result = train_session(tokens_dir, tokens_digest, train, tokens, state_path)
        if not init_distributed().main:
            return None
        return store_run(result, tokens_dir, tokens_digest, train, tokens, checkpoint, state_path, store)
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
