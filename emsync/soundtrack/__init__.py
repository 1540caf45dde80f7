"""Video in, scored video out: the EMSYNC pipeline of thesis ch. 6 (§6.1, §6.2, Fig. 6.1).

    emsync soundtrack clip.mp4 -o scored.mp4 --valence 0.4 --arousal 0.2 --midi scored.mid --wav scored.wav
    emsync soundtrack clip.mp4 -o scored.mp4 --emotion-probs joy=0.7,surprise=0.3 --json

    from emsync.soundtrack import SoundtrackRequest, make_soundtrack
    make_soundtrack(load_params(), SoundtrackRequest("clip.mp4", "scored.mp4", valence=0.4, arousal=0.2))

What the user asked is one typed `SoundtrackRequest` (request.py); `make_soundtrack` (pipeline.py)
runs named steps over it, each a function of its own module that can be run and tested alone:

1. check     every flag, output path and input file before any work (request.py `check_request`;
             with --keep, the previous run's JSON, rescore.py);
2. analyse   the video, once, into one `AnalysedVideo` that every later step reads (analysis.py):
             probe (ffprobe: duration, audio stream, time base; one clear error for a
             missing/corrupt/empty video), then scene cuts with FFmpeg's scene score > 0.27 and the
             4 s difference filter -> boundaries (§5.1, §6.2, emsync.video.cuts), and where the
             video's audio is speech (Silero VAD, speech.py) unless the dialogue mix is off;
3. emotion   the condition (emotion.py `choose_emotion`): valence/arousal from the flags, or from
             Ekman probabilities the mean of the §6.1 Gaussian mixture (emsync.emotion.mapping): given
             with --emotion-probs or, without any emotion flag, predicted by the video emotion
             classifier (VEMOCLAP, §5.2.2; emsync.classify) when its checkpoint exists (else the
             neutral centre 0, 0); with --emotion-per-scene the classifier runs on every segment
             between boundaries and the music follows that curve (CURVE_MODES); with --keep the
             previous run's (rescore.py `kept_emotion`);
4. generate  the music transformer generates tokens until the music lasts the video, with the
             boundaries as Algorithm 1's temporal condition (§4.1, §6.2) (music.py); with --keep it
             continues the previous run's tokens up to the first changed boundary (rescore.py);
5. render    the DAW MIDI, then FluidSynth at 44.1 kHz stereo, fitted to the video's duration, 3 s
             fade-out, peak -3 dB; with speech, the video's own audio mixed in and the music ducked
             under the speech (mix.py); optional stems (audio.py);
6. mux       the WAV (or the dialogue mix) as AAC into a copy of the video stream (audio.py, render.py);
7. report    the summary dict `--json` prints and its human form (summary.py), and with --report a
             one-page HTML timeline (report.py).

The summary counts how many boundaries got a generated CHORD within `evaluate.hit_tolerance_s`
(1 s, the §6.4 hit criterion) and the seconds each timed step (STEPS) took.

The `soundtrack` stage (§6.3) runs this for every video under every condition: batch.py (the
conditions and the per-(video, condition) record), stage.py (the stage's plain steps) and
objective.py (the §6.3.2 metrics over its table).
"""

from emsync.soundtrack.analysis import AnalysedVideo, analyse_video
from emsync.soundtrack.emotion import CURVE_MODES, EmotionChoice, choose_emotion, classifier_emotion, pick_emotion
from emsync.soundtrack.pipeline import STEPS, Steps, make_soundtrack
from emsync.soundtrack.request import SoundtrackRequest, check_request
from emsync.soundtrack.summary import format_summary

__all__ = [
    "AnalysedVideo",
    "CURVE_MODES",
    "EmotionChoice",
    "STEPS",
    "SoundtrackRequest",
    "Steps",
    "analyse_video",
    "check_request",
    "choose_emotion",
    "classifier_emotion",
    "format_summary",
    "make_soundtrack",
    "pick_emotion",
]
