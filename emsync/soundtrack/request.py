"""What the user asked of `emsync soundtrack` (one typed request) and the checks that run on it
before any work: outputs vs inputs (emsync.core.io.check_outputs), flags, the checkpoint and SoundFont."""

import sys
from dataclasses import dataclass
from pathlib import Path

from emsync.core.errors import InputError


@dataclass(frozen=True)
class SoundtrackRequest:
    """One `emsync soundtrack` call: the video, where to write, and the flags as given (None = the
    params default). Paths are relative to the working directory."""

    video: str | Path
    output: str | Path  # the scored video (.mp4, .m4v, .mov or .mkv)
    valence: float | None = None  # with arousal: the condition as given (missing one = 0)
    arousal: float | None = None
    emotion_probs: dict | None = None  # Ekman probabilities -> the §6.1 mixture mean
    emotion_per_scene: bool = False  # classify every segment between boundaries: an emotion curve
    exclude_audio_features: bool = False  # the classifier ignores the video's audio (§6.3.1: no leakage on music videos)
    emotion_checkpoint: str | Path | None = None  # a VEMOCLAP to use whatever its weights (None: the best real source)
    midi_out: str | Path | None = None  # also keep the DAW MIDI here
    wav_out: str | Path | None = None  # also keep the rendered WAV here
    stems_dir: str | Path | None = None  # also write one WAV per instrument here
    seed: int | None = None  # None: 0, or the previous run's with `keep`
    instruments: str | None = None  # "fewer" | "more" | None (params generate.instruments)
    checkpoint: str | Path | None = None  # generator checkpoint or pkg:music21-generator (None: params generate.checkpoint)
    device: str | None = None  # auto | cpu | cuda (None: params generate.device)
    soundfont: str | Path | None = None  # None: params soundtrack.soundfont, else TimGM6mb.sf2
    keep_audio: bool = False  # mix the video's own audio under the music (at soundtrack.keep_audio_db, no ducking)
    dialogue: str | None = None  # auto | on | off: keep the video's audio and duck the music under speech (None: params)
    duck_db: float | None = None  # dB the music is lowered under speech (None: params soundtrack.duck_db)
    keep: str | Path | None = None  # a previous run's JSON: keep its music up to the first changed boundary
    report: str | Path | None = None  # also write the one-page HTML report here
    use_boundaries: bool = True  # False: the no-boundaries ablation (cuts reported, none given to the generator)
    progress: bool = True  # one progress line per step on stderr
    own: tuple = ()  # the stage whose outputs this run writes (the soundtrack stage: ("soundtrack",)); see check_outputs

    @property
    def seed_value(self) -> int:
        return 0 if self.seed is None else int(self.seed)

    @property
    def emotion_flags(self) -> bool:
        """True when the user fixed the emotion (flags or probabilities)."""
        return self.valence is not None or self.arousal is not None or bool(self.emotion_probs)


@dataclass(frozen=True)
class Assets:
    """The files a request resolved to: the generator checkpoint and the SoundFont."""

    checkpoint: Path
    soundfont: Path
    previous: object = None  # emsync.soundtrack.rescore.Previous with `keep`


def check_request(params, req: SoundtrackRequest) -> Assets:
    """Every check that needs no decoding, in the order the user reads the errors: outputs vs
    inputs, output kinds, flags, the emotion checkpoint when given, the SoundFont and
    the generator checkpoint. Returns the resolved checkpoint and SoundFont."""
    from emsync.core.io import check_outputs
    from emsync.music import vocab as V
    from emsync.music.generator import checkpoint_path, load_generator
    from emsync.soundtrack.emotion import pick_emotion
    from emsync.soundtrack.render import check_video_output, resolve_soundfont, stem_outputs

    stems = stem_outputs(req.stems_dir, [n.lower() for n in V.INSTRUMENTS] + ["dialogue"])  # every WAV --stems may write
    check_outputs(
        {"-o": req.output, "--midi": req.midi_out, "--wav": req.wav_out, "--report": req.report, **stems},
        {
            "video": req.video,
            "--checkpoint": req.checkpoint,
            "--soundfont": req.soundfont,
            "--keep": req.keep,
            "--emotion-checkpoint": req.emotion_checkpoint,
        },  # fmt: skip
        own=req.own,
    )
    check_video_output(req.output)
    if req.report is not None and Path(req.report).suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--report {req.report}: the report is an HTML page (.html)")
    check_mix_flags(req)
    previous = check_keep(req) if req.keep is not None else None
    if req.instruments not in (None, "fewer", "more"):
        raise InputError(f"--instruments {req.instruments}: choose fewer or more")
    pick_emotion(req.valence, req.arousal, req.emotion_probs, params.emotion.max_abs_mean)  # fail fast on bad flags
    if req.emotion_per_scene and req.emotion_flags:
        raise InputError("--emotion-per-scene classifies every scene: drop --valence/--arousal/--emotion-probs")
    if req.emotion_checkpoint is not None:
        if req.emotion_flags:
            raise InputError("--emotion-checkpoint reads the video's emotion: drop --valence/--arousal/--emotion-probs")
        if not Path(req.emotion_checkpoint).is_file():
            raise InputError(f"--emotion-checkpoint {req.emotion_checkpoint}: no such file")
    # paths given here are relative to the working directory, params paths to the repository
    sf = params.soundtrack.soundfont
    soundfont = resolve_soundfont(req.soundfont or (params.path(sf) if sf else None))
    ckpt = checkpoint_path(params, req.checkpoint)  # --checkpoint, else generate.checkpoint (default: the shipped real model)
    if not ckpt.exists():
        load_generator(ckpt)  # raises its "checkpoint not found; train one ..." error before any work
    if previous is not None and previous.record.get("checkpoint") not in (None, str(ckpt)):
        print(
            f"warning: --keep {req.keep}: its music came from {previous.record['checkpoint']}; the rest comes from {ckpt}", file=sys.stderr
        )
    return Assets(checkpoint=ckpt, soundfont=soundfont, previous=previous)


def check_mix_flags(req: SoundtrackRequest) -> None:
    """--dialogue and --duck-db take the values their params take."""
    from emsync.core.config import SoundtrackParams, check_value

    if req.dialogue is not None:
        check_value(SoundtrackParams, "dialogue", req.dialogue, "--dialogue")
    if req.duck_db is not None:
        check_value(SoundtrackParams, "duck_db", req.duck_db, "--duck-db")


def check_keep(req: SoundtrackRequest):
    """The previous run's record; a re-score keeps its seed and emotion, so flags that would
    change them are refused."""
    from emsync.soundtrack.rescore import load_previous

    prev = load_previous(req.keep)
    if req.emotion_flags or req.emotion_per_scene or req.emotion_checkpoint is not None:
        raise InputError(
            "--keep reuses the previous run's emotion: drop --valence/--arousal/--emotion-probs/--emotion-per-scene/--emotion-checkpoint"
        )
    if req.seed is not None and req.seed != prev.seed:
        raise InputError(f"--keep reuses the previous run's seed {prev.seed}: drop --seed {req.seed}")
    if req.instruments is not None:
        raise InputError("--keep reuses the previous run's instruments: drop --instruments")
    return prev
