"""The tokens stage's outputs (data/tokens/) as the train and evaluate stages read them."""

from pathlib import Path

from emsync.core.errors import InputError
from emsync.core.io import tree_digest


def require_tokens(tokens_dir: Path):
    """A clear error when the tokens stage has not run."""
    for f in (tokens_dir / "index.parquet", tokens_dir / "vocab.json"):
        if not f.exists():
            raise InputError(f"{f}: not found (run `dvc repro tokens` or `python -m flows.tokens` first)")


def tokens_digest(tokens_dir: Path) -> str:
    """One digest over the tokenized corpus (index, vocabulary, every shard): the task cache key."""
    require_tokens(tokens_dir)
    return tree_digest(
        [tokens_dir / "index.parquet", tokens_dir / "vocab.json", *sorted((tokens_dir / "shards").glob("*.npy"))], tokens_dir
    )
