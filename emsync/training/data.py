"""Batches for the training loop and the evaluation, from the tokenized corpus (data/tokens/).

`StepBatches(dataset, batch_size, seed)(step)` is the batch of one step: the songs are visited in
a seeded permutation per epoch (every song once per epoch, a fresh chunk and augmentation each
epoch, emsync/music/dataset.py), and the batch of step s is the songs at positions
s*B .. s*B+B-1 of that endless stream. It depends on nothing but (seed, step), which is what
makes a resumed run replay exactly the batches the killed run would have seen.
`StepBatches.part(step, rank, world_size)` builds only one DDP rank's rows of that batch.
"""

from __future__ import annotations

import numpy as np
import torch

from emsync.core.errors import InputError


class StepBatches:
    def __init__(self, dataset, batch_size: int, seed: int = 0):
        if len(dataset) == 0:
            raise InputError("the training split is empty: no songs to train on (check data/tokens/index.parquet)")
        self.ds, self.B, self.seed = dataset, int(batch_size), int(seed)
        self._perm_epoch, self._perm = None, None

    SALT = 7919  # of the epoch permutation's seed; a subclass keeps its own so its runs replay

    def _n_items(self) -> int:
        """How many entries an epoch permutes (here: songs)."""
        return len(self.ds)

    def _order(self, epoch: int) -> np.ndarray:
        if self._perm_epoch != epoch:
            self._perm = np.random.default_rng([self.seed, self.SALT, epoch]).permutation(self._n_items())
            self._perm_epoch = epoch
        return self._perm

    def items(self, step: int) -> list[tuple[int, int]]:
        """(epoch, song index) of every row of the batch of `step`."""
        n = len(self.ds)
        out = []
        for p in range(step * self.B, (step + 1) * self.B):
            epoch = p // n
            out.append((epoch, int(self._order(epoch)[p % n])))
        return out

    def __call__(self, step: int):
        return self._build(self.items(step))

    def part(self, step: int, rank: int, world_size: int):
        """Rank `rank`'s rows of the batch of `step` (engine.rank_rows), the others not built."""
        from emsync.training.engine import rank_rows

        return self._build(self.items(step)[rank_rows(self.B, rank, world_size)])

    def _build(self, items):
        rows = []
        for epoch, i in items:
            self.ds.set_epoch(epoch)
            rows.append(self.ds[i])
        tokens, offsets, valence, arousal = (torch.stack([r[k] for r in rows]) for k in range(4))
        return tokens, offsets, valence, arousal  # (B, L) long, (B, L) float, (B,), (B,)


def regressor_batches(corpus, window: int, batch_size: int, seed: int = 0):
    """make_batch(step) for the regressor: random `window`-token slices of labelled train songs
    -> (tokens (B, window) long, PAD-filled; labels (B, 2) float, NaN = missing)."""
    labels = corpus.index[["valence", "arousal"]].to_numpy(dtype=np.float64)
    usable = np.flatnonzero(~np.isnan(labels).all(axis=1))
    if len(usable) == 0:
        raise InputError("no train song has a valence or arousal label: the regressor cannot be trained")

    def make(step):
        rng = np.random.default_rng([seed, 104729, step])
        x = np.zeros((batch_size, window), dtype=np.int64)
        y = np.zeros((batch_size, 2), dtype=np.float32)
        for r, i in enumerate(rng.choice(usable, size=batch_size)):
            ids = corpus.tokens(int(i)).astype(np.int64)
            s = int(rng.integers(0, max(1, len(ids) - window) + 1))
            part = ids[s : s + window]
            x[r, : len(part)] = part
            y[r] = labels[i]
        return torch.from_numpy(x), torch.from_numpy(y)

    return make
