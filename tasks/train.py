"""Cached Prefect tasks of the train and evaluate stages (library code in emsync/training/).

Each takes content digests of its input files and `code`, a digest of the library sources it runs
(emsync.pipeline.stages.stage_digest), so the cache is invalidated by new data or new code."""

from emsync.pipeline.flowkit import cached_task


@cached_task(name="train-generator")
def train_generator_task(
    tokens_dir: str, tokens_digest: str, train: dict, tokens: dict, checkpoint: str, state_path: str, code: str, weights: dict | None = None
) -> dict:
    """Train the music transformer (resuming `state_path` if it matches), write `checkpoint`
    -> its path and md5, the metrics and the loss history (the weights stay in the file, not
    in the Prefect result store). `weights`: the checkpoint's extra["weights"] (kind, source, trained_on)."""
    from emsync.training.generator import train_to_checkpoint

    return train_to_checkpoint(tokens_dir, tokens_digest, train, tokens, checkpoint, state_path=state_path, weights=weights)


@cached_task(name="token-metrics")
def token_metrics_task(checkpoint: str, checkpoint_digest: str, tokens_dir: str, tokens_digest: str, evaluate: dict, code: str) -> dict:
    """NLL / top-1 / top-5 of one generator over the test split (Table 4.1 row)."""
    from emsync.training.evaluation import generator_token_metrics

    return generator_token_metrics(checkpoint, tokens_dir, evaluate)


@cached_task(name="train-regressor")
def train_regressor_task(tokens_dir: str, tokens_digest: str, evaluate: dict, code: str) -> dict:
    """Train the §4.5 valence/arousal regressor on the train split -> its config + weights."""
    from emsync.training.evaluation import fit_regressor

    return fit_regressor(tokens_dir, evaluate)


@cached_task(name="emotion-samples")
def emotion_samples_task(checkpoint: str, checkpoint_digest: str, evaluate: dict, generate: dict, code: str) -> dict:
    """Generate the 25-condition x N samples of one generator (Table 4.2 inputs)."""
    from emsync.training.evaluation import generate_condition_samples

    return generate_condition_samples(checkpoint, evaluate, generate)


@cached_task(name="boundary-samples")
def boundary_samples_task(checkpoint: str, checkpoint_digest: str, evaluate: dict, generate: dict, code: str) -> dict:
    """Generate samples for scripted boundaries with and without offsets (hit-rate inputs)."""
    from emsync.training.evaluation import generate_boundary_samples

    return generate_boundary_samples(checkpoint, evaluate, generate)
