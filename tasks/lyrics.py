"""Prefect tasks of the lyrics and train_lyrics stages (§3.2). Inputs are content digests, outputs
are data; library code in emsync/lyrics/."""

from emsync.pipeline.flowkit import CACHE_POLICY, cached_task


@cached_task(name="extract-lyrics")
def extract_shard(job: dict, min_words: int, language: str, limits: dict, code: str) -> list:
    """Lyrics rows of job["paths"] (ids job["ids"]); the key holds job["digests"] (file md5s).
    A file the MIDI gate rejects is a row with reason "unreadable" and the gate's error as detail."""
    from emsync.core.errors import InputError
    from emsync.lyrics.rows import lyrics_row
    from emsync.music.midi_input import MidiLimits

    rows = []
    for path, mid in zip(job["paths"], job["ids"]):
        try:
            rows.append(lyrics_row(path, mid, min_words, language, MidiLimits(**limits)) | {"detail": ""})
        except InputError as e:
            rows.append({"midi_id": mid, "n_words": 0, "keep": False, "reason": "unreadable", "detail": str(e)})
    return rows


@cached_task(name="infer-lyrics", cache_policy=CACHE_POLICY - "texts")
def infer(
    texts: list,
    texts_digest: str,
    model_dir: str,
    model_digest: str,
    n_labels: int,
    max_tokens: int,
    batch_size: int,
    device: str,
    code: str,
) -> dict:
    """{"probs": (N, L), "n_tokens": (N,)} of one classifier over the kept lyrics."""
    from emsync.lyrics.inference import predict
    from emsync.lyrics.labels import LABEL_SETS
    from emsync.lyrics.model import load_classifier

    model, tok, _ = load_classifier(model_dir, LABEL_SETS[n_labels], device=device)
    probs, n_tokens = predict(model, tok, texts, batch_size=batch_size, max_length=max_tokens)
    return {"probs": probs, "n_tokens": n_tokens}


@cached_task(name="train-lyrics-classifier")
def train_classifier_task(cfg: dict, data_digest: str, state_path: str, code: str) -> dict:
    """Train one label set (LyricsTrainConfig as a dict) through the engine, resuming
    `state_path` when it holds this run -> weights, model config, tokenizer JSON, results."""
    from emsync.lyrics.train import LyricsTrainConfig, train_classifier

    out = train_classifier(LyricsTrainConfig(**cfg), state_path=state_path)
    model, tok = out["model"], out["tokenizer"]
    return {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "labels": [model.config.id2label[i] for i in range(model.config.num_labels)],
        "tokenizer": tok.backend_tokenizer.to_str(),
        "result": out["result"],
    }
