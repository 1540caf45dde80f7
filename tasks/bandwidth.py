"""Cached Prefect tasks of the bandwidth stages (library code in emsync/bandwidth/)."""

from emsync.pipeline.flowkit import cached_task

# the VGGish embeddings of the test songs and their band-limited inputs, shared by the variants the
# report evaluates one after another (emsync.bandwidth.evaluate.evaluate_songs); only the last songs' kept
_REFERENCES: dict = {"key": None, "embeddings": {}}


@cached_task(name="bwe-test")
def evaluate_variant_task(
    checkpoint: str, checkpoint_digest: str, songs: list, songs_digest: str, bandwidth: dict, vggish_digest: str, code: str
) -> dict:
    """Whole-song test SNRs of one trained variant with the seen and the unseen filter (§7.4.2)."""
    from emsync.bandwidth.evaluate import evaluate_songs
    from emsync.bandwidth.filters import SEEN_TEST_FILTER, UNSEEN_FILTER
    from emsync.bandwidth.train import load_checkpoint

    model, _ = load_checkpoint(checkpoint)
    vggish = None
    if bandwidth["vggish_model"]:
        from emsync.bandwidth.vggish import load_vggish

        vggish = load_vggish(bandwidth["vggish_model"])
    key = (songs_digest, vggish_digest, bandwidth["cutoff_hz"], bandwidth["sample_rate"])
    if _REFERENCES["key"] != key:
        _REFERENCES.update(key=key, embeddings={})
    refs = _REFERENCES["embeddings"]
    return {
        setting: evaluate_songs(model, songs, f, bandwidth["cutoff_hz"], bandwidth["sample_rate"], bandwidth["eval_chunk"], vggish, refs)
        for setting, f in (("seen", SEEN_TEST_FILTER), ("unseen", UNSEEN_FILTER))
    }
