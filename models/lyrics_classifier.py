"""Lyrics emotion classifier (thesis §3.2.1.2): DistilBERT (Sanh et al., 2019) with a multi-label
output layer whose sigmoid outputs are independent label probabilities.

The network is Hugging Face's `DistilBertForSequenceClassification` in its multi-label mode: the
[CLS] vector goes through a dim x dim layer + ReLU, dropout and a dim x n_labels layer; training
uses binary cross-entropy on the logits (BCEWithLogits), inference `sigmoid(logits)`. The thesis
size (6 layers, 12 heads, 768 wide, 30,522 WordPiece tokens) has 67.0M parameters with the 28-label
head (66.4M in the DistilBERT body).

Pure PyTorch + transformers: configs and tensors in, tensors out; loading from a folder or the hub
is `emsync.lyrics.model.load_classifier`.
"""

from dataclasses import dataclass

import torch
from transformers import DistilBertConfig, DistilBertForSequenceClassification


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

    def __post_init__(self):
        if self.n_labels < 1 or self.vocab_size < 8 or self.max_position < 8:
            raise ValueError(f"bad classifier config {self}")
        if self.dim % self.n_heads:
            raise ValueError(f"dim {self.dim} is not divisible by n_heads {self.n_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout {self.dropout} outside [0, 1)")

    def to_hf(self, labels: list | None = None) -> DistilBertConfig:
        labels = labels or [f"label_{i}" for i in range(self.n_labels)]
        if len(labels) != self.n_labels:
            raise ValueError(f"{len(labels)} label names for {self.n_labels} labels")
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
            num_labels=self.n_labels,
            problem_type="multi_label_classification",
            id2label=dict(enumerate(labels)),
            label2id={n: i for i, n in enumerate(labels)},
        )


# named sizes: the thesis's, and small ones that train on a CPU
PRESETS = {
    "thesis": {},  # 6 x 12 heads x 768, 67M
    "small": {"dim": 256, "n_layers": 4, "n_heads": 4, "hidden_dim": 1024},
    "mini": {"dim": 128, "n_layers": 2, "n_heads": 2, "hidden_dim": 512},
    "tiny": {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64, "max_position": 64},
}


def preset(name: str, **overrides) -> LyricsClassifierConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown classifier size {name!r} (known: {', '.join(PRESETS)})")
    return LyricsClassifierConfig(**{**PRESETS[name], **overrides})


def build(cfg: LyricsClassifierConfig, labels: list | None = None) -> DistilBertForSequenceClassification:
    """A randomly initialised classifier of this config."""
    return DistilBertForSequenceClassification(cfg.to_hf(labels))


def config_of(model) -> LyricsClassifierConfig:
    """The LyricsClassifierConfig of a built or loaded model."""
    c = model.config
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
