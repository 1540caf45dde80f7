"""Music transformer training and evaluation (thesis §4.4, §4.5, §6.2).

- `engine`: the one training loop every network trains through (task objects, resumable state,
  early stopping, AMP, DDP); docs/training.md.
- `loop`: the music transformer's task on the engine: lr schedule, CHORD-weighted cross-entropy.
- `metrics`: NLL / top-1 / top-5 over test chunks (Table 4.1), sliding windows, normalized L1
  (Table 4.2), boundary hit rate (§6.4).
- `regressor`: training and applying the §4.5 valence/arousal regressor.
- `report`: reports/evaluation.md from the metrics dict.

Pure PyTorch + numpy: no Prefect, no paths beyond the files the caller names.
"""

from pathlib import Path as _Path

_ROOT = _Path(__file__).resolve().parent.parent.parent
TRAIN_CODE = ("emsync/training/engine.py", "emsync/training/loop.py", "emsync/training/data.py", "emsync/training/generator.py",
              "models/music_transformer.py", "emsync/music/dataset.py", "emsync/music/offsets.py", "emsync/music/vocab.py")
EVAL_CODE = ("emsync/training/engine.py", "emsync/training/loop.py", "emsync/training/data.py", "emsync/training/metrics.py", "emsync/training/regressor.py",
             "emsync/training/evaluation.py", "models/music_transformer.py", "models/generation.py",
             "models/emotion_regressor.py", "emsync/music/dataset.py", "emsync/music/vocab.py")


def code_version(files) -> str:
    """Digest of the sources a cached task depends on: passed to the task so that editing the
    library (not only the task function, which is all Prefect's TASK_SOURCE sees) re-runs it."""
    import hashlib

    h = hashlib.md5()
    for rel in files:
        p = _ROOT / rel
        h.update(rel.encode())
        h.update(p.read_bytes() if p.exists() else b"<missing>")
    return h.hexdigest()
