"""Music transformer training and evaluation (thesis §4.4, §4.5, §6.2).

- `loop`: lr schedule, CHORD-weighted cross-entropy, resumable training state, the training loop.
- `metrics`: NLL / top-1 / top-5 over test chunks (Table 4.1), sliding windows, normalized L1
  (Table 4.2), boundary hit rate (§6.4).
- `regressor`: training and applying the §4.5 valence/arousal regressor.
- `report`: reports/evaluation.md from the metrics dict.

Pure PyTorch + numpy: no Prefect, no paths beyond the files the caller names.
"""
