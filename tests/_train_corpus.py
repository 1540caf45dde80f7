"""A small synthetic tokenized corpus in the data/tokens/ format (vocab.json, shards/*.npy,
index.parquet) for the train/evaluate tests. Songs are regular on purpose so a tiny model can
learn them in a few dozen steps, and their emotion is audible in the tokens:

* valence >= 0: major triads (C E G), else minor (C Eb G), on GUITAR with a CHORD token first;
* arousal >= 0: 248 ms steps with drums, else 496 ms steps without.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from emsync.core.io import write_json
from emsync.music import vocab as V


def song(valence: float, arousal: float, n_bars: int, rng) -> np.ndarray:
    third = 64 if valence >= 0 else 63
    step = V.shift_id(248 if arousal >= 0 else 496)
    root = 48 + int(rng.integers(0, 5))
    ids = [V.MORE, V.START]
    for _ in range(n_bars):
        ids += [V.BAR, V.CHORD]
        chord = [root, root + third - 60, root + 7]
        ids += [V.on_id(V.GUITAR, p) for p in chord] + [V.on_id(V.BASS, root - 12)]
        for beat in range(4):
            if arousal >= 0:
                ids += [V.on_id(V.DRUMS, 36 if beat % 2 == 0 else 38), step, V.off_id(V.DRUMS, 36 if beat % 2 == 0 else 38)]
            else:
                ids += [step]
        ids += [V.off_id(V.GUITAR, p) for p in chord] + [V.off_id(V.BASS, root - 12)]
    return np.asarray(ids, np.int16)


def write_corpus(root, n_songs=24, n_test=4, seed=0, n_bars=(6, 12), nan_every=7) -> Path:
    """Write the corpus under `root` (its tokens dir); the last `n_test` songs by name are test."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    rows, parts, offset = [], [], 0
    for i in range(n_songs):
        v, a = (float(x) for x in rng.choice([-0.8, -0.4, 0.4, 0.8], size=2))
        ids = song(v, a, int(rng.integers(*n_bars)), rng)
        if nan_every and i % nan_every == 3:
            v = float("nan")  # a missing valence label (§4.3)
        rows.append(
            {
                "midi_id": f"song{i:03d}",
                "split": "test" if i >= n_songs - n_test else "train",
                "valence": v,
                "arousal": a,
                "shard": 0,
                "offset": offset,
                "n_tokens": len(ids),
            }
        )
        parts.append(ids)
        offset += len(ids)
    (root / "shards").mkdir(parents=True, exist_ok=True)
    np.save(root / "shards" / "00000.npy", np.concatenate(parts))
    pd.DataFrame(rows).to_parquet(root / "index.parquet", index=False)
    write_json(root / "vocab.json", V.to_json())
    return root
