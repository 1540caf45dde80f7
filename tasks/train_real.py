"""Prefect task of the train_real stage: train, evaluate and store the shipped real generator."""

from emsync.pipeline.flowkit import cached_task


@cached_task(name="train-real-generator")
def train_real_task(
    tokens_dir: str, tokens_digest: str, train: dict, tokens: dict, checkpoint: str, state_path: str, store: dict, code: str
) -> dict:
    """Train the real generator (resuming `state_path` if it matches), evaluate it on the held-out
    works, write the checkpoint -> its path and md5, metrics, held-out results and loss history
    (the weights stay in the file). `store`: {"dtype", "weights"} of the stored checkpoint."""
    from emsync.real_music.training import train_and_store

    return train_and_store(tokens_dir, tokens_digest, train, tokens, checkpoint, state_path, store)
