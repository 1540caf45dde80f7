"""Generate the music for an analysed video (§4.1 Algorithm 1, §4.4, §6.2): one sample from the
generator under the chosen emotion, with the video's boundaries as the temporal condition."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emsync.soundtrack.steps import Steps


@dataclass(frozen=True)
class Music:
    """One generated soundtrack: the token ids, the engine's result, the decoded notes, the CHORD
    times and which boundaries got a CHORD within evaluate.hit_tolerance_s."""

    ids: np.ndarray  # (T,) int64, primer included
    result: object  # models.generation.GenerationResult
    decoded: object  # emsync.music.tokenizer.Decoded
    chord_times: list  # seconds
    hits: np.ndarray  # (n_boundaries,) bool
    checkpoint: Path
    seed: int = 0


def generate_tokens(
    params, valence, arousal, duration_s, boundaries, seed=0, instruments=None, checkpoint=None, device=None, progress=False, curve=(),
    primer_tokens=None,
):  # fmt: skip
    """One sample from the generator for the video: (token ids, GenerationResult). `curve`
    ((start_s, valence, arousal), ...) changes the condition at each start (emotion per scene);
    `primer_tokens` (a re-score's kept music) is continued instead of a fresh primer."""
    from emsync.models.generation import Condition
    from emsync.music.generator import run_generator

    res = run_generator(
        params,
        [Condition(valence, arousal, tuple(boundaries), tuple(curve))],
        duration_s,
        instruments=instruments,
        seed=seed,
        checkpoint=checkpoint,
        device=device,
        progress=progress,
        primer_tokens=primer_tokens,
    )
    return res.tokens[0], res


def generate_music(params, req, video, emotion, checkpoint: Path, steps: Steps | None = None, keep=None) -> Music:
    """Generate until the music lasts the video (timed as the `generate` step); the generator gets
    the boundaries unless the request is the no-boundaries ablation (offset = δ_max). With `keep`
    (emsync.soundtrack.rescore.KeepPlan) it continues the kept tokens with their seed."""
    from emsync.music.tokenizer import decode
    from emsync.training.metrics import boundary_hits, chord_times

    steps, seed = steps or Steps(), (keep.seed if keep is not None else req.seed_value)
    boundaries = list(video.boundaries)
    with steps("generate", f"generating {video.duration:.1f} s of music, {len(boundaries)} boundaries"):
        ids, res = generate_tokens(
            params,
            emotion.valence,
            emotion.arousal,
            video.duration,
            boundaries if req.use_boundaries else [],
            seed=seed,
            instruments=req.instruments,
            checkpoint=checkpoint,
            device=req.device,
            progress=req.progress,
            curve=emotion.curve_condition,
            primer_tokens=keep.tokens if keep is not None else None,
        )
        dec = decode(ids, chord_boost=params.generate.chord_velocity_boost)
        chords = [round(float(t), 3) for t in chord_times(ids)]
        hits = boundary_hits(ids, boundaries, params.evaluate.hit_tolerance_s)
    return Music(ids, res, dec, chords, hits, checkpoint, seed)
