"""The real corpus's step batches (emsync/real_music/sampling.py): a work appears once per window of
its tokens per epoch, each time with its own chunk, and a batch depends only on (seed, step)."""

import numpy as np
import torch

from _train_corpus import write_corpus
from emsync.music.dataset import ChunkConfig, ChunkDataset
from emsync.real_music.sampling import WorkChunkBatches


def _batches(tmp_path, chunk_len=33, seed=0):
    root = write_corpus(tmp_path / "tokens", n_songs=12, n_test=2, n_bars=(2, 12))
    ds = ChunkDataset(root, split="train", cfg=ChunkConfig(chunk_len=chunk_len))
    return ds, WorkChunkBatches(ds, 4, seed)


def test_a_work_appears_once_per_window_of_its_tokens(tmp_path):
    ds, b = _batches(tmp_path)
    n = ds.corpus.index["n_tokens"].to_numpy()
    expect = np.maximum(1, np.ceil((n - 1) / 32)).astype(int)
    assert np.bincount(b.song, minlength=len(ds)).tolist() == expect.tolist() and expect.max() > 1


def test_an_epoch_visits_every_chunk_once_and_a_long_work_gets_different_chunks(tmp_path):
    ds, b = _batches(tmp_path)
    steps = int(np.ceil(len(b) / 4))
    seen = [it for s in range(steps) for it in b.items(s)][: len(b)]
    assert sorted((i, k) for _, i, k in seen) == sorted(zip(b.song.tolist(), b.occurrence.tolist()))
    long_work = int(np.argmax(np.bincount(b.song)))
    rows = [b._build([(0, long_work, k)])[0][0] for k in range(2)]
    assert not torch.equal(rows[0], rows[1])


def test_a_batch_depends_only_on_seed_and_step(tmp_path):
    _, b1 = _batches(tmp_path)
    _, b2 = _batches(tmp_path / "again")
    for t1, t2 in zip(b1(3), b2(3)):
        assert torch.equal(t1.nan_to_num(7.0), t2.nan_to_num(7.0))  # NaN labels are "missing"
    _, b3 = _batches(tmp_path / "other", seed=1)
    assert not torch.equal(b1(3)[0], b3(3)[0])
    rows = b1.part(3, 1, 2)[0]
    assert torch.equal(rows, b1(3)[0][2:4])  # a DDP rank's rows are its slice of the global batch
