"""Pieces shared by the video classifiers (thesis §5.2.2.2, §5.2.3.2): the 21 genres, masked time
averaging, learned per-modality positions and the transformer encoder they all use."""

import torch
import torch.nn as nn

# the 21 most frequent MovieNet genres (§5.2.3.3), in the thesis's order
GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Biography",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "History",
    "Horror",
    "Music",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Sport",
    "Thriller",
    "War",
    "Western",
)
# thesis-sized inputs (§5.2.1, §5.2.3.1): CLIP, DistilBERT over OCR / ASR text, Audiotag, Music
THESIS_DIMS = {"clip": 512, "ocr": 768, "asr": 768, "audio": 128, "music": 64}


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of x (B, T, C) over the steps where mask (B, T) is True -> (B, C); 0 where none is."""
    m = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class LearnedPositions(nn.Module):
    """A learned position table added to a (B, T, C) sequence (T <= max_len)."""

    def __init__(self, max_len: int, d: int):
        super().__init__()
        self.table = nn.Parameter(torch.randn(max_len, d) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        if T > self.table.shape[0]:
            raise ValueError(f"sequence of {T} steps is longer than the {self.table.shape[0]} learned positions")
        return x + self.table[:T]  # (B, T, C)


def encoder(d: int, n_heads: int, d_ff: int, n_layers: int, dropout: float) -> nn.TransformerEncoder:
    """Post-norm transformer encoder (batch first) with a final layer norm."""
    layer = nn.TransformerEncoderLayer(d, n_heads, dim_feedforward=d_ff, dropout=dropout, batch_first=True)
    return nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)


def count(module: nn.Module, exclude: str = "absent") -> int:
    """Trainable parameters, leaving out those whose name contains `exclude` (the learned stand-ins
    for missing modalities, which the thesis's models did not have)."""
    return sum(p.numel() for n, p in module.named_parameters() if p.requires_grad and exclude not in n)


def tuples(d: dict) -> dict:
    """A config dict read back from JSON/YAML: lists become tuples (the dataclasses' frozen form)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
