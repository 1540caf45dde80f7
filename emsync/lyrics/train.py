"""Train and evaluate the two lyrics emotion classifiers (§3.2.1, §3.2.3.1) on GoEmotions.

For each label set (7, 28): tokenizer (WordPiece learnt on the train split, or the pretrained
one with `init`), the LyricsTask, training through the one training engine (emsync.training.engine)
with early stopping on dev macro-F1, the cut-off searched on dev, then test-split precision /
recall / F1 per label (Tables 3.3 / 3.4) beside the majority-class and label-frequency baselines.
"""

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from emsync.lyrics import metrics as M
from emsync.lyrics.goemotions import load_goemotions
from emsync.lyrics.model import load_classifier, save_classifier, train_wordpiece
from emsync.lyrics.report import evaluate
from emsync.lyrics.task import THESIS_BATCH, THESIS_LR, LyricsTask, encode, predict_ids
from emsync.models.lyrics_classifier import config_of, preset


@dataclass(frozen=True)
class LyricsTrainConfig:
    """One label set's run (TrainLyricsParams resolved for n_labels)."""

    n_labels: int
    data_dir: str
    init: str = ""
    size: str = "tiny"
    vocab_size: int = 2000
    max_length: int = 128
    dropout: float = 0.1
    grad_clip: float = 1.0
    batch_size: int = 0  # 0 = the thesis's (16 / 32)
    lr: float = 0.0  # 0 = the thesis's (5e-5 / 3e-5)
    max_epochs: int = 10
    max_steps: int = 0  # 0 = max_epochs worth of steps; a number caps the run (bounded tests)
    eval_every: int = 0  # 0 = once per epoch
    checkpoint_every: int = 0  # steps between resumable state saves; 0 = at each evaluation
    patience: int = 3
    max_train_rows: int = 0
    max_eval_rows: int = 0  # 0 = the whole dev/test split
    seed: int = 0
    device: str = "cpu"

    @classmethod
    def from_params(cls, tp, n_labels: int, **overrides) -> "LyricsTrainConfig":
        kw = dict(
            n_labels=n_labels,
            data_dir=tp.data_dir,
            init=tp.init,
            size=tp.size,
            vocab_size=tp.vocab_size,
            max_length=tp.max_length,
            dropout=tp.dropout,
            grad_clip=tp.grad_clip,
            batch_size={7: tp.batch_size_7, 28: tp.batch_size_28}[n_labels],
            lr={7: tp.lr_7, 28: tp.lr_28}[n_labels],
            max_epochs=tp.max_epochs,
            max_steps=tp.max_steps,
            eval_every=tp.eval_every,
            patience=tp.patience,
            max_train_rows=tp.max_train_rows,
            seed=tp.seed,
            device=tp.device,
        )
        kw.update(overrides)
        return cls(**kw)


def make_task(cfg: LyricsTrainConfig):
    """(task, tokenizer, splits): the data read and tokenised, the model config chosen."""
    limit = {"train": cfg.max_train_rows, "dev": cfg.max_eval_rows, "test": cfg.max_eval_rows}
    splits = load_goemotions(cfg.data_dir, cfg.n_labels, limit=limit)
    labels = splits["train"].labels
    init_model = None
    if cfg.init:
        import torch

        torch.manual_seed(cfg.seed)  # the new head's initial weights
        init_model, tok, _ = load_classifier(cfg.init, labels)
        model_cfg = config_of(init_model)
    else:
        tok = train_wordpiece(splits["train"].texts, cfg.vocab_size, max_length=512)
        model_cfg = preset(cfg.size, n_labels=cfg.n_labels, vocab_size=len(tok), dropout=cfg.dropout)
    max_len = min(cfg.max_length, model_cfg.max_position)
    task = LyricsTask(
        model_cfg,
        labels,
        encode(tok, splits["train"].texts, max_len),
        splits["train"].targets,
        encode(tok, splits["dev"].texts, max_len),
        splits["dev"].targets,
        cfg.batch_size or THESIS_BATCH[cfg.n_labels],
        cfg.seed,
        tok.pad_token_id,
        init_model=init_model,
        lr=cfg.lr or THESIS_LR[cfg.n_labels],
    )
    task.total_steps = cfg.max_steps or cfg.max_epochs * task.steps_per_epoch
    return task, tok, splits


def data_digest(data_dir) -> str:
    """Digest of the GoEmotions files a run reads."""
    h = hashlib.md5()
    for name in ("train.tsv", "dev.tsv", "test.tsv", "emotions.txt", "ekman_mapping.json"):
        f = Path(data_dir) / name
        if f.exists():
            h.update(name.encode() + f.read_bytes())
    return h.hexdigest()


def train_classifier(cfg: LyricsTrainConfig, state_path=None, log_dir=None, progress: bool = False) -> dict:
    """Train one label set through the engine, keep the weights with the best dev macro-F1 and
    its cut-off, evaluate on test. Returns {"model", "tokenizer", "result"}; result holds the
    Tables 3.3/3.4 numbers, baselines, steps, history and evaluations."""
    from emsync.training import engine

    task, tok, splits = make_task(cfg)
    ecfg = engine.EngineConfig(
        steps=task.total_steps,
        seed=cfg.seed,
        device=cfg.device,
        lr=task.lr,
        grad_clip=cfg.grad_clip,
        eval_every=cfg.eval_every or task.steps_per_epoch,
        checkpoint_every=cfg.checkpoint_every or cfg.eval_every or task.steps_per_epoch,
        log_every=max(1, task.steps_per_epoch // 20),
        monitor="macro_f1",
        mode="max",
        patience=cfg.patience,
    )
    fp = engine.fingerprint(dataclasses.asdict(cfg), data_digest(cfg.data_dir), len(tok))
    res = engine.train(
        task,
        ecfg,
        state_path=state_path,
        fingerprint=fp,
        model_config=dataclasses.asdict(task.model_cfg),
        log_dir=log_dir,
        progress=progress,
    )
    model = task.build_model()
    model.load_state_dict(res.best_state if res.best_state is not None else res.model_state)
    model.eval()
    cutoff = float(res.best_metrics["cutoff"]) if res.best_metrics else float(task.metrics(model)["cutoff"])
    result = final_report(model, tok, task, splits, cfg, cutoff)
    result.update(
        steps=res.steps,
        best_step=res.best_step,
        stopped_early=res.stopped_early,
        seconds=res.seconds,
        device=res.device,
        steps_per_epoch=task.steps_per_epoch,
        history=res.history,
        evals=res.evals,
        n_parameters=sum(p.numel() for p in model.parameters()),
        model_config=dataclasses.asdict(task.model_cfg),
        batch_size=task.batch_size,
        lr=task.lr,
    )
    return {"model": model, "tokenizer": tok, "result": result}


def final_report(model, tok, task, splits, cfg: LyricsTrainConfig, cutoff: float) -> dict:
    """Test-split results at `cutoff` (Tables 3.3/3.4) and the two baselines, dev and test."""
    max_len = min(cfg.max_length, model.config.max_position_embeddings)
    test_probs = predict_ids(model, encode(tok, splits["test"].texts, max_len), pad_id=task.pad_id)
    dev_probs = task.dev_probs(model)
    train_y, dev_y, test_y = splits["train"].targets, splits["dev"].targets, splits["test"].targets
    return {
        "test": evaluate(test_probs, test_y, task.labels, cutoff),
        "dev_macro_f1": M.macro(dev_probs, dev_y, cutoff)["f1"],
        "baselines": {
            s: {
                "majority": M.majority_baseline(train_y, y),
                "frequency": M.frequency_baseline(train_y, y),
                "all_positive": M.all_positive_baseline(y),
            }
            for s, y in (("dev", dev_y), ("test", test_y))
        },
        "n": {s: len(splits[s].texts) for s in splits},
        "cutoff": cutoff,
    }


def save(model, tok, out_dir, cfg: LyricsTrainConfig, result: dict, weights: dict | None = None):
    """The classifier folder the lyrics stage loads: weights, config, tokenizer, emsync.json (with the
    `weights` record: real / demo / random, emsync.core.provenance)."""
    extra = {
        "n_labels": cfg.n_labels,
        "labels": list(model.config.id2label[i] for i in range(cfg.n_labels)),
        "cutoff": result["cutoff"],
        "dev_macro_f1": result["dev_macro_f1"],
        "test_macro_f1": result["test"]["macro"]["f1"],
        "init": cfg.init or "random + WordPiece learnt on train",
        **({"weights": weights} if weights else {}),
    }
    save_classifier(model, tok, out_dir, extra)
