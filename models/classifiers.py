"""Name -> (config class, model class) for the video classifiers (thesis §5.2.2, §5.2.3), and
their checkpoint dictionaries: {"kind", "config", "state_dict"}; VEMOCLAP's min-max statistics are
buffers in its state_dict, so a checkpoint is self-contained."""

from typing import Any

from .genre_baseline import GenreBaseline, GenreBaselineConfig
from .genre_mlp import GenreMLP, GenreMLPConfig
from .genre_multi_transformer import GenreMultiTransformer, GenreMultiTransformerConfig
from .genre_single_transformer import GenreSingleTransformer, GenreSingleTransformerConfig
from .vemoclap import Vemoclap, VemoclapConfig

REGISTRY: dict[str, tuple[Any, Any]] = {
    "vemoclap": (VemoclapConfig, Vemoclap),
    "mlp": (GenreMLPConfig, GenreMLP),
    "single_transformer": (GenreSingleTransformerConfig, GenreSingleTransformer),
    "multi_transformer": (GenreMultiTransformerConfig, GenreMultiTransformer),
    "baseline": (GenreBaselineConfig, GenreBaseline),
}


def build(kind: str, config: dict | None = None):
    """A fresh model of registry `kind` from a config dict (defaults: the thesis's sizes)."""
    if kind not in REGISTRY:
        raise ValueError(f"unknown classifier '{kind}' (known: {', '.join(REGISTRY)})")
    cfg_cls, model_cls = REGISTRY[kind]
    return model_cls(cfg_cls.from_dict(config or {}))


def max_steps(kind: str, config: dict | None = None) -> int | None:
    """The most steps per modality a model of `kind` takes (its learned position table less the
    <CLS>/<SEP> slot), or None when any length goes (VEMOCLAP, the MLP)."""
    cfg_cls, _ = REGISTRY[kind]
    field = cfg_cls.__dataclass_fields__.get("max_positions")
    if field is None:
        return None
    return int((config or {}).get("max_positions", field.default)) - 1


def checkpoint_dict(kind: str, model) -> dict:
    return {"kind": kind, "config": model.cfg.to_dict(), "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def from_checkpoint_dict(ckpt: dict):
    """The model a checkpoint dict describes, weights loaded, in eval mode."""
    model = build(ckpt["kind"], ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
