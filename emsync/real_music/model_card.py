"""MODEL_CARD.md of the shipped real generator, written from the reports of the runs that made
and measured it (reports/corpus.json, reports/real_music/{train_metrics,heldout,music_quality}.json
and pilot.md), so the card never says a number no run produced."""

import json
from pathlib import Path

from emsync.real_music.training import SAMPLING


def _read(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def model_card(params, reports: Path) -> str:
    from emsync.models.music_transformer import MusicTransformerConfig
    from emsync.real_music.sources import SOURCES
    from emsync.music.generator import PACKAGE_REF

    rp = params.real_music
    corpus = _read(reports / "corpus.json") or {}
    metrics = _read(reports / "real_music" / "train_metrics.json") or {}
    held = _read(reports / "real_music" / "heldout.json") or {}
    quality = _read(reports / "real_music" / "music_quality.json")
    cfg = MusicTransformerConfig.from_name(rp.config)
    lines = [
        "# Model card: emsync's real music generator",
        "",
        f"`{PACKAGE_REF}`: the generator `emsync generate` and `emsync soundtrack` use when no other "
        "checkpoint is given. Weights kind: **real** (trained on real, public-domain music; not the "
        "synthetic demo corpus). Written by `python -m flows.train_real` (stage `train_real` of pipelines/real_music/dvc.yaml).",
        "",
        "## Model",
        "",
        f"The thesis's conditional music transformer (models/music_transformer.py: relative global attention, "
        f"pre-LN) at config `{rp.config}`: {cfg.n_layers} layers, {cfg.n_heads} heads, d_model {cfg.d_model}, "
        f"feed-forward {cfg.d_ff}, window {cfg.max_len} tokens, {metrics.get('n_params', 0):,} parameters, "
        f"stored as {rp.weights_dtype}. Conditioning as in the thesis: continuous valence/arousal concatenated to "
        "every token embedding (§4.4) and boundary offsets through FFN_b with the halved positional encoding "
        "(§4.1, eq. 6.1). Vocabulary emsync-v1 (LPD-5 instruments, 8 ms time shifts).",
        "",
        "## Training data",
        "",
        f"{corpus.get('kept', '?')} works ({corpus.get('notes', 0):,} notes, {corpus.get('hours', '?')} hours) from the "
        f"music21 {corpus.get('music21', '?')} corpus: {', '.join(corpus.get('sources', []))}. "
        "Data card with per-source counts, rejects and label distribution: reports/corpus.md.",
        "",
        "| source | licence / terms | used |",
        "|---|---|---|",
    ]
    for s in SOURCES.values():
        lines.append(f"| {s.name} | {s.licence} | {'yes' if s.name in corpus.get('sources', []) else 'no: ' + s.why} |")
    lines += [
        "",
        "Licence of these weights: trained only on sources whose terms in the music21 wheel state no "
        "restriction on use; the Bach chorale encodings carry a caveat (the data card). Parts become "
        "instruments by register (melody -> strings, the other parts -> piano, the bass doubled on bass). "
        "Emotion labels are derived from the music (mode -> valence, tempo + note density -> arousal), "
        "a stated deviation from the thesis's Spotify labels (emsync/real_music/labels.py).",
        "",
        "## Recipe",
        "",
        f"Training engine (emsync/training), Adam, lr {rp.lr} then {rp.lr_after} from step {rp.lr_switch_step}, "
        f"batch {rp.batch_size} x {cfg.max_len} tokens, {rp.steps} steps, CHORD loss x10, transposition +-3, CHORD "
        f"dropout 20 %, seed {rp.seed}, 1 thread per process (data-parallel ranks share each step's batch). "
        "Budget: 60 minutes on 2 CPU cores = 7,200 CPU-seconds, "
        "spent as a step count measured to fit it (pilot curves: reports/real_music/pilot.md). "
        f"This run: {metrics.get('train_cpu_s', '?')} CPU-seconds over all its sessions and ranks "
        "(data/corpus/real_train_state.pt.cpu.json, the ledger; an entry marked estimated was a session stopped before it wrote its own).",
        "",
        f"Sampling, recorded in the checkpoint (`extra['sampling']`, used while `generate.sampling` is `checkpoint`): {SAMPLING}; "
        "chosen on the held-out works' scale consistency and pitch-class entropy, not on any video (docs/real_music.md).",
        "",
        "## Metrics (held-out works: the 5 % test split by work)",
        "",
    ]
    if held:
        best = min(held["ngram"], key=lambda k: held["ngram"][k])
        lines += [
            "| model | NLL (nats/token) | top-1 | top-5 |",
            "|---|---|---|---|",
            f"| this model, with boundary offsets | {held['nll']:.3f} | {held['top1']:.3f} | {held['top5']:.3f} |",
            f"| this model, 'no boundary ahead' | {held['no_boundary']['nll']:.3f} | {held['no_boundary']['top1']:.3f} | {held['no_boundary']['top5']:.3f} |",
            f"| best n-gram (order {best}, Witten-Bell) | {held['ngram'][best]:.3f} | | |",
            "",
            f"{held['n_tokens']:,} target tokens in {held['chunks']} chunks; n-gram orders: {held['ngram']}.",
            "",
        ]
    if quality:
        lines += ["Music quality (`emsync bench music_quality`):", "", quality.get("table_md", ""), ""]
    lines += [
        "## Limits",
        "",
        "- It knows 18th-century chorales and quartets and Irish/Scottish fiddle tunes, nothing else: no drums, "
        "no guitar, no pop or film-score idiom. It is a small model trained for an hour of CPU: phrases wander.",
        "- Emotion labels are a rule over mode, tempo and density, so 'valence' means major/minor and "
        "'arousal' means fast and dense; it does not know fear from anger.",
        "- Strong chords (the boundary targets) exist only in the multi-part works' piano parts.",
    ]
    return "\n".join(lines) + "\n"
