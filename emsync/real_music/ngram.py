"""An interpolated Witten-Bell n-gram over token ids: the baseline the real generator's held-out
NLL is reported beside (same test chunks, same targets, nats per token).

    P(w | h) = (c(h, w) + T(h) P(w | h')) / (c(h) + T(h))

with h' the history shortened by one token, T(h) the number of distinct tokens seen after h, and
the order-0 model uniform over the vocabulary, so no test token has zero probability. Counts are
numpy arrays of n-gram keys (token ids in base V), so the whole train split is counted in seconds.
Within a test chunk a target sees at most the n - 1 tokens before it in that chunk, as the
transformer sees only its chunk.
"""

from __future__ import annotations

import math

import numpy as np


class NGram:
    def __init__(self, order: int, vocab_size: int):
        if order < 1 or vocab_size**order >= 2**62:
            raise ValueError(f"order {order} with a vocabulary of {vocab_size} does not fit int64 keys")
        self.n, self.V = order, vocab_size
        self.keys: list = [None] * (order + 1)  # keys[k]: sorted unique k-gram keys
        self.counts: list = [None] * (order + 1)
        self.hist: list = [None] * (order + 1)  # hist[k]: (history keys, c(h), T(h)) of k-grams

    def fit(self, sequences) -> "NGram":
        """Count every 1..n-gram inside each sequence (an iterable of int arrays)."""
        grams = {k: [] for k in range(1, self.n + 1)}
        for seq in sequences:
            seq = np.asarray(seq, np.int64)
            for k in range(1, self.n + 1):
                if len(seq) >= k:
                    grams[k].append(self._keys(seq, k))
        for k in range(1, self.n + 1):
            allk = np.concatenate(grams[k]) if grams[k] else np.zeros(0, np.int64)
            keys, counts = np.unique(allk, return_counts=True)
            self.keys[k], self.counts[k] = keys, counts
            h, inv = np.unique(keys // self.V, return_inverse=True)
            self.hist[k] = (h, np.bincount(inv, weights=counts), np.bincount(inv))
        return self

    def _keys(self, seq: np.ndarray, k: int) -> np.ndarray:
        """Keys of every k-gram of `seq` (len(seq) - k + 1 of them)."""
        key = np.zeros(len(seq) - k + 1, np.int64)
        for j in range(k):
            key = key * self.V + seq[j : len(seq) - k + 1 + j]
        return key

    @staticmethod
    def _lookup(sorted_keys, values, query):
        """values at `query` keys (0 where absent)."""
        i = np.searchsorted(sorted_keys, query)
        i = np.minimum(i, len(sorted_keys) - 1)
        hit = sorted_keys[i] == query if len(sorted_keys) else np.zeros(len(query), bool)
        return np.where(hit, values[i] if len(sorted_keys) else 0, 0)

    def logprob(self, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """ln P(target | context) for rows of `contexts` (M, n-1; -1 = no token, left-padded)."""
        p = np.full(len(targets), 1.0 / self.V)
        for k in range(1, self.n + 1):
            ctx = contexts[:, contexts.shape[1] - (k - 1) :] if k > 1 else contexts[:, :0]
            ok = (ctx >= 0).all(axis=1)  # the history is complete inside the chunk
            hkey = np.zeros(len(targets), np.int64)
            for j in range(k - 1):
                hkey = hkey * self.V + np.where(ok, ctx[:, j], 0)
            h, ch, th = self.hist[k]
            c_h, t_h = self._lookup(h, ch, hkey), self._lookup(h, th, hkey)
            c_hw = self._lookup(self.keys[k], self.counts[k], hkey * self.V + targets)
            new = (c_hw + t_h * p) / np.maximum(c_h + t_h, 1e-12)
            p = np.where(ok & (c_h > 0), new, p)
        return np.log(p)

    def chunk_nll(self, chunks, pad_id: int = 0) -> float:
        """Mean NLL (nats/token) over every non-PAD target of [(tokens (L+1,), ...)] chunks."""
        total, n = 0.0, 0
        for c in chunks:
            tok = np.asarray(c[0], np.int64)
            L = len(tok) - 1
            pad = np.concatenate([np.full(self.n - 1, -1, np.int64), tok])
            ctx = np.stack([pad[t : t + self.n - 1] for t in range(1, L + 1)]) if self.n > 1 else np.zeros((L, 0), np.int64)
            tgt = tok[1:]
            keep = tgt != pad_id
            lp = self.logprob(ctx[keep], tgt[keep])
            total -= float(lp.sum())
            n += int(keep.sum())
        return total / n if n else math.nan
