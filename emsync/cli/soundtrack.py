"""`emsync soundtrack VIDEO` (video in, scored video out) and `emsync render MIDI` (thesis ch. 6).

    emsync soundtrack clip.mp4 -o scored.mp4                                  # emotion read from the video (best real source)
    emsync soundtrack clip.mp4 -o scored.mp4 --valence 0.5 --arousal -0.2 --seed 3 --midi scored.mid --wav scored.wav
    emsync soundtrack clip.mp4 -o scored.mp4 --emotion-probs anger=0.1,joy=0.6,surprise=0.3 --json
    emsync soundtrack clip.mp4 -o scored.mp4 --midi scored.mid --stems stems/   # DAW-ready MIDI + one WAV per instrument
    emsync soundtrack clip.mp4 -o scored.mp4 --emotion-per-scene --json   # the emotion of each scene, as a curve
    emsync soundtrack clip.mp4 -o scored.mp4 --stride cpu                     # 608: faster on CPU, less context
    emsync soundtrack talk.mp4 -o scored.mp4 --duck-db 15 --stems stems/      # dialogue kept, music 15 dB lower under speech
    emsync soundtrack clip.mp4 -o scored.mp4 --dialogue off                   # the music replaces the video's sound (§6.2)
    emsync soundtrack cut1.mp4 -o scored1.mp4 --json > run1.json              # then, after re-editing the video:
    emsync soundtrack cut2.mp4 -o scored2.mp4 --keep run1.json --report cut2.html   # keeps the music up to the first changed cut
    emsync render song.mid -o song.wav                                        # FluidSynth, 3 s fade-out, -3 dB peak
    emsync render song.mid --video clip.mp4 -o scored.mp4 [--keep-audio]      # fitted to the video, muxed

Without an emotion flag the emotion is read from the video by the best real source at hand
(emsync/emotion/source.py): a VEMOCLAP trained on real data, else the estimator from packaged
pretrained parts; a demo-trained VEMOCLAP only with --emotion-checkpoint, and then the output says
"demo weights". The summary names every weights used (generator, emotion) and their kind.
The generator checkpoint defaults to generate.checkpoint (pkg:music21-generator, the real
generator shipped in the package; --checkpoint names another); the SoundFont to
soundtrack.soundfont (TimGM6mb.sf2 from pretty_midi).
"""

import argparse
import json

from emsync.cli.generate import add_stride_arg, with_stride


def register(sub):
    p = sub.add_parser(
        "soundtrack",
        help="score a video: cuts + emotion -> MIDI -> FluidSynth audio -> muxed video (ch. 6)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("video", help="input video")
    p.add_argument("-o", "--output", required=True, help="scored video (.mp4, .m4v, .mov or .mkv)")
    p.add_argument("--valence", type=float, default=None, help="valence in [-1, 1] (default 0)")
    p.add_argument("--arousal", type=float, default=None, help="arousal in [-1, 1] (default 0)")
    p.add_argument(
        "--emotion-probs",
        default=None,
        help="Ekman probabilities, e.g. anger=0.1,joy=0.9 -> the §6.1 mixture mean (instead of --valence/--arousal)",
    )
    p.add_argument(
        "--emotion-per-scene",
        action="store_true",
        help="classify every segment between boundaries and condition each segment's music on its own valence/arousal",
    )
    p.add_argument(
        "--emotion-checkpoint",
        default=None,
        metavar="PATH",
        help="read the emotion with this VEMOCLAP checkpoint whatever its weights (default: the best real source: "
        "a VEMOCLAP trained on real data at classify.emotion_checkpoint, else the packaged-model estimator)",
    )
    p.add_argument("--midi", default=None, help="also keep the generated MIDI here")
    p.add_argument("--wav", default=None, help="also keep the rendered 44.1 kHz stereo WAV here")
    p.add_argument(
        "--stems",
        default=None,
        metavar="DIR",
        help="also write one WAV per instrument into DIR (drums.wav, bass.wav, ...) at the mix's gain: they sum to the mix",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same MIDI; default 0)")
    p.add_argument("--instruments", choices=["fewer", "more"], default=None, help="default: params generate.instruments")
    p.add_argument("--checkpoint", default=None, help="generator checkpoint (default: params generate.checkpoint)")
    p.add_argument("--device", default=None, help="auto | cpu | cuda (default: params generate.device)")
    p.add_argument("--soundfont", default=None, help="SoundFont .sf2/.sf3 (default: TimGM6mb.sf2 from pretty_midi)")
    p.add_argument("--keep-audio", action="store_true", help="mix the video's own audio under the music instead of replacing it")
    p.add_argument(
        "--no-audio-features",
        action="store_true",
        help="the emotion classifier ignores the video's audio (audio embeddings and speech text; §6.3.1: scoring a music video against its own soundtrack)",
    )
    p.add_argument(
        "--dialogue",
        choices=["auto", "on", "off"],
        default=None,
        help="keep the video's audio and duck the music under its speech (Silero VAD): auto = when speech is detected "
        "(default: params soundtrack.dialogue)",
    )
    p.add_argument("--duck-db", type=float, default=None, help="how many dB the music goes down under speech (default: soundtrack.duck_db)")
    p.add_argument(
        "--keep",
        default=None,
        metavar="PREVIOUS.json",
        help="re-score a re-cut video: keep the music of this previous `--json` run up to its first changed boundary "
        "(same seed and emotion) and generate only from there",
    )
    p.add_argument("--report", default=None, metavar="OUT.html", help="also write a one-page HTML report (timeline, piano roll, player)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    add_stride_arg(p)
    p.set_defaults(func=_soundtrack)

    p = sub.add_parser("render", help="MIDI -> 44.1 kHz stereo WAV with FluidSynth (3 s fade-out), optionally muxed into a video")
    p.add_argument("midi", help="input MIDI file")
    p.add_argument("-o", "--output", required=True, help="output .wav, or a video (.mp4, .m4v, .mov, .mkv) with --video")
    p.add_argument("--video", default=None, help="mux the music into this video (rendered to its duration)")
    p.add_argument("--duration", type=float, default=None, help="audio length in seconds (default: the video's, else the render's)")
    p.add_argument("--soundfont", default=None, help="SoundFont .sf2/.sf3 (default: TimGM6mb.sf2 from pretty_midi)")
    p.add_argument("--keep-audio", action="store_true", help="with --video: mix its own audio under the music")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_render)


def _soundtrack(args):
    from emsync.core.config import load_params
    from emsync.emotion.mapping import parse_probs
    from emsync.soundtrack import SoundtrackRequest, format_summary, make_soundtrack

    params = with_stride(load_params(), args.stride)
    req = SoundtrackRequest(
        args.video,
        args.output,
        valence=args.valence,
        arousal=args.arousal,
        emotion_probs=parse_probs(args.emotion_probs) if args.emotion_probs is not None else None,
        emotion_per_scene=args.emotion_per_scene,
        exclude_audio_features=args.no_audio_features,
        emotion_checkpoint=args.emotion_checkpoint,
        midi_out=args.midi,
        wav_out=args.wav,
        stems_dir=args.stems,
        seed=args.seed,
        instruments=args.instruments,
        checkpoint=args.checkpoint,
        device=args.device,
        soundfont=args.soundfont,
        keep_audio=args.keep_audio,
        dialogue=args.dialogue,
        duck_db=args.duck_db,
        keep=args.keep,
        report=args.report,
        progress=not args.quiet,
    )
    s = make_soundtrack(params, req)
    print(json.dumps(s) if args.json else format_summary(s))


def _render(args):
    from emsync.core.config import load_params
    from emsync.soundtrack.render import render_file

    s = render_file(
        load_params(),
        args.midi,
        args.output,
        video=args.video,
        duration_s=args.duration,
        soundfont=args.soundfont,
        keep_audio=args.keep_audio,
    )
    if args.json:
        print(json.dumps(s))
    else:
        print(
            f"{s['path']}: {s['duration_s']:.2f} s, {s['sample_rate']} Hz, {s['channels']} channels"
            + (" (silent: the MIDI has no audible notes)" if s["silent"] else "")
        )
