"""Prefect tasks of the tokens stage (§4.3): one task per shard of files."""

from emsync.pipeline.flowkit import cached_task


@cached_task(name="tokenize-shard")
def tokenize_shard(job: dict, params: dict, code: str) -> dict:
    """Tokenize job["items"] = [(midi_id, path)] -> tokens, per-song rows, rejects. The cache key
    holds job["digests"] (the files' md5s), the params and `code` (the tokenizer source digest)."""
    from emsync.core.config import TokensParams
    from emsync.music.corpus import tokenize_batch

    return tokenize_batch(job["items"], TokensParams(**params))
