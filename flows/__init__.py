"""Prefect flows: one per DVC stage (`python -m flows.<name>`).

Under `dvc repro`, a stage after the first is run by the run's warm runner, which has the heavy
libraries imported already (emsync/pipeline/warm.py); this runs before any of them is imported."""

from emsync.pipeline.warm import hand_over

hand_over(__name__)
