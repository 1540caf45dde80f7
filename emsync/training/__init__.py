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
