"""Step batches for the real corpus: every work once per window-length of its tokens per epoch.

The thesis's sampler (emsync/training/data.py StepBatches, §4.4) draws one chunk per song per
epoch, which suits LMD's pop songs of similar length. The music21 corpus mixes 300-token tunes
with quartets of up to 50,000 tokens: one chunk per work per epoch would show the quartets and
chorales (a third of the tokens, and the only multi-part music) in a tenth of the chunks. Here a
work of n tokens appears ceil(n / window) times per epoch, each time with its own random chunk
(start, transposition, CHORD dropout as in the thesis, emsync/music/dataset.py sample_chunk), so
every token is about equally likely to be trained on.

Like StepBatches, the batch of step s depends only on (seed, s): a resumed run replays exactly.
"""

from __future__ import annotations

import numpy as np
import torch

from emsync.core.errors import InputError
from emsync.training.data import StepBatches


class WorkChunkBatches(StepBatches):
    """StepBatches (its epoch permutation, `__call__`, `part`) over one entry per chunk of each work."""

    SALT = 104723

    def __init__(self, dataset, batch_size: int, seed: int = 0):
        corpus = dataset.corpus
        if len(corpus) == 0:
            raise InputError("the training split is empty: no works to train on (check the corpus tokens' index.parquet)")
        self.ds, self.B, self.seed = dataset, int(batch_size), int(seed)
        n_tokens = corpus.index["n_tokens"].to_numpy(np.int64)
        per_chunk = max(1, dataset.cfg.chunk_len - 1)
        times = np.maximum(1, np.ceil((n_tokens - 1) / per_chunk)).astype(np.int64)
        self.song = np.repeat(np.arange(len(corpus)), times)  # (M,) one entry per chunk per epoch
        self.occurrence = np.concatenate([np.arange(t) for t in times])  # (M,) which of the work's chunks
        self._perm_epoch, self._perm = None, None

    def __len__(self) -> int:
        return len(self.song)

    def _n_items(self) -> int:
        return len(self.song)

    def items(self, step: int) -> list[tuple[int, int, int]]:
        """(epoch, work index, occurrence) of every row of the batch of `step`."""
        m, out = len(self.song), []
        for p in range(step * self.B, (step + 1) * self.B):
            epoch = p // m
            j = int(self._order(epoch)[p % m])
            out.append((epoch, int(self.song[j]), int(self.occurrence[j])))
        return out

    def _build(self, items):
        from emsync.music.dataset import _song_key, sample_chunk

        corpus, cfg = self.ds.corpus, self.ds.cfg
        rows = []
        for epoch, i, k in items:
            rng = np.random.default_rng([self.seed, epoch, _song_key(corpus.index["midi_id"].iat[i]), k])
            tokens, offsets, _ = sample_chunk(corpus.tokens(i), rng, cfg)
            v, a = corpus.labels(i)
            rows.append(
                (
                    torch.from_numpy(tokens),
                    torch.from_numpy(offsets),
                    torch.tensor(v, dtype=torch.float32),
                    torch.tensor(a, dtype=torch.float32),
                )
            )
        return tuple(torch.stack([r[c] for r in rows]) for c in range(4))  # (B, L) long, (B, L) float, (B,), (B,)
