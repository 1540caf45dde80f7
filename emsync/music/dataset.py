"""Training samples from the tokenized corpus (§4.1, §4.4).

Corpus on disk (data/tokens/, written by flows/tokens.py):
    vocab.json          the vocabulary (checked against this code's on load)
    shards/NNNNN.npy    int16 token ids of many songs back to back
    index.parquet       one row per song: midi_id, shard, offset, n_tokens, split, valence,
                        arousal, chord_times (s), ... (labels NaN where unknown)

A chunk is `chunk_len` tokens: the song's FEWER/MORE_INSTRUMENTS token, then chunk_len - 1
tokens of the song; with probability `start_prob` from the song start (so it holds START),
else from a uniformly random later position. Augmentation: all non-drum notes transposed by one
random integer in [transpose_min, transpose_max] (notes pushed outside 21..108 are removed, ON
and OFF alike), and each CHORD token removed with probability `chord_dropout` (its boundary
goes with it). Boundary offsets are computed on the augmented song from the chunk start on, so
chords after the chunk still count. Short songs are padded with PAD (offsets = the cap).

Every sample is a pure function of (seed, epoch, song): the same seed gives the same batches.
Shards are memory-mapped, so neither dataset holds the corpus in memory.

    >>> ds = ChunkDataset("data/tokens", split="train", chunk_len=1216, seed=0)
    >>> tokens, offsets, valence, arousal = ds[0]   # (1216,) int64, (1216,) float32, (), ()
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError
from emsync.music import vocab as V
from emsync.music.offsets import boundary_offsets


@dataclass(frozen=True)
class ChunkConfig:
    chunk_len: int = 1216
    start_prob: float = 0.05
    transpose_min: int = -3
    transpose_max: int = 3
    chord_dropout: float = 0.2
    max_offset_s: float = 10.0

    @classmethod
    def from_params(cls, p, chunk_len: int):
        """From TokensParams; the chunk length is the model's window (+1 for the last target)."""
        return cls(chunk_len, p.start_prob, p.transpose_min, p.transpose_max, p.chord_dropout, p.max_boundary_offset_s)


def transpose(ids: np.ndarray, k: int) -> np.ndarray:
    """Shift every non-drum ON/OFF by k semitones; notes leaving 21..108 are removed."""
    if k == 0:
        return ids
    pitch = V.PITCH[ids]
    move = V.IS_NOTE[ids] & (V.INSTRUMENT[ids] != V.DRUMS)
    keep = ~move | ((pitch + k >= V.PITCH_MIN) & (pitch + k <= V.PITCH_MAX))
    return np.where(move, ids + k, ids)[keep]


def sample_chunk(seq: np.ndarray, rng: np.random.Generator, cfg: ChunkConfig):
    """One training chunk of a stored song `seq` ([FEWER|MORE, START, ...]).
    Returns tokens (L,) int64, offsets (L,) float32, from_start bool."""
    seq = np.asarray(seq, np.int64)
    head, body = seq[:1], seq[1:]
    n = cfg.chunk_len - 1  # body tokens per chunk
    from_start = bool(rng.random() < cfg.start_prob)
    last = max(1, len(body) - n)  # random chunks start after START, at 1..last
    j = 0 if from_start else int(rng.integers(1, last + 1))
    body = body[j:]
    k = int(rng.integers(cfg.transpose_min, cfg.transpose_max + 1))
    body = transpose(body, k)
    if cfg.chord_dropout > 0:
        drop = (body == V.CHORD) & (rng.random(len(body)) < cfg.chord_dropout)
        body = body[~drop]
    off = boundary_offsets(body, cfg.max_offset_s)[:n]
    body = body[:n]
    tokens = np.full(cfg.chunk_len, V.PAD, np.int64)
    offsets = np.full(cfg.chunk_len, cfg.max_offset_s, np.float32)
    tokens[0] = head[0] if len(head) else V.MORE
    tokens[1 : 1 + len(body)] = body
    offsets[1 : 1 + len(off)] = off
    offsets[0] = off[0] if len(off) else cfg.max_offset_s  # the head token sits at the chunk's first time
    return tokens, offsets, from_start


class TokenCorpus:
    """Read-only view of data/tokens: the index in memory, token shards memory-mapped."""

    def __init__(self, root, split=None):
        import pandas as pd

        from emsync.core.io import read_json

        self.root = Path(root)
        index = self.root / "index.parquet"
        if not index.exists():
            raise InputError(f"{index}: not found (run `dvc repro tokens` or `python -m flows.tokens`)")
        V.from_json(read_json(self.root / "vocab.json"))
        df = pd.read_parquet(index)
        if split is not None:
            df = df[df["split"] == split]
        self.index = df.reset_index(drop=True)
        # per-song columns as arrays: a batch row costs no pandas row lookup
        self._where = self.index[["shard", "offset", "n_tokens"]].to_numpy(np.int64)  # (N, 3)
        self._labels = self.index[["valence", "arousal"]].to_numpy(np.float64)  # (N, 2)
        self._maps = {}

    def __len__(self):
        return len(self.index)

    def _shard(self, shard: int):
        if shard not in self._maps:
            self._maps[shard] = np.load(self.root / "shards" / f"{int(shard):05d}.npy", mmap_mode="r")
        return self._maps[shard]

    def tokens(self, i: int) -> np.ndarray:
        shard, offset, n = self._where[i]
        return np.asarray(self._shard(int(shard))[offset : offset + n])  # a copy out of the memory map

    def labels(self, i: int) -> tuple[float, float]:
        v, a = self._labels[i]
        return float(v), float(a)


def _sample(seq, labels, seed, epoch, key, cfg):
    import torch

    rng = np.random.default_rng([seed, epoch, key])
    tokens, offsets, _ = sample_chunk(seq, rng, cfg)
    v, a = labels
    return (torch.from_numpy(tokens), torch.from_numpy(offsets), torch.tensor(v, dtype=torch.float32), torch.tensor(a, dtype=torch.float32))


def _song_key(midi_id: str) -> int:
    """A stable integer per song for seeding (independent of index order)."""
    import zlib

    return zlib.crc32(str(midi_id).encode())


try:
    from torch.utils.data import Dataset
except ImportError:  # torch is a dependency; this only keeps the module importable without it
    Dataset = object


class ChunkDataset(Dataset):
    """Map-style: item i = one chunk of song i -> (tokens (L,) long, offsets (L,) float,
    valence () float, arousal () float; NaN = unknown). Call `set_epoch(e)` for new chunks."""

    def __init__(self, root, split="train", cfg: ChunkConfig | None = None, seed=0, chunk_len=None):
        self.corpus = TokenCorpus(root, split)
        cfg = cfg or ChunkConfig()
        self.cfg = ChunkConfig(**{**cfg.__dict__, **({"chunk_len": chunk_len} if chunk_len else {})})
        self.seed, self.epoch = seed, 0
        self._keys = [_song_key(m) for m in self.corpus.index["midi_id"]]

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def __len__(self):
        return len(self.corpus)

    def __getitem__(self, i):
        return _sample(self.corpus.tokens(i), self.corpus.labels(i), self.seed, self.epoch, self._keys[i], self.cfg)
