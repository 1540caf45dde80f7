"""§6.3.2 objective metrics (emsync/soundtrack/objective.py) with answers known in advance: cut-to-chord distance
computed by hand, AV-Align on synthetic clips whose motion events and clicks coincide, are disjoint,
are half a second apart or partly match (in memory and through a lossy H.264 file), KL on known
distributions, and the V/A regressor loaded from a saved checkpoint."""

import numpy as np
import pytest
import torch

from _videos import raw_clip
from emsync.soundtrack import objective as O
from emsync.music import vocab as V
from emsync.training.metrics import chord_times

FPS, T, SR = 25, 8.0, 22050
EVENTS = [1.0, 4.0, 7.0]  # the picture's motion events (s)


# --- cut-to-chord --------------------------------------------------------------------------


def test_cut_to_chord_by_hand():
    # boundary 4.0: nearest chord 4.5 (0.5); 9.5: 10.9 (1.4); 20.0: 10.9 (9.1) -> mean 11.0 / 3; 1 of 3 within 1 s
    m = O.cut_to_chord([4.0, 9.5, 20.0], [3.2, 4.5, 10.9, 30.0], tolerance_s=1.0)
    assert m["distances"] == pytest.approx([0.5, 1.4, 9.1])
    assert m["mean_distance_s"] == pytest.approx(11.0 / 3)
    assert m["hit_rate"] == pytest.approx(1 / 3)
    assert O.cut_to_chord([5.0], [], 1.0)["hit_rate"] == 0.0 and O.cut_to_chord([5.0], [], 1.0)["mean_distance_s"] == np.inf
    assert np.isnan(O.cut_to_chord([], [1.0], 1.0)["mean_distance_s"])


def test_cut_to_chord_from_generated_tokens():
    # CHORD after 3 x 1000 ms + 200 ms (3.2 s) and after 800 ms more (4.0 s): boundaries 4.0 and 6.0
    ids = [V.START, V.BAR, *[V.shift_id(1000)] * 3, V.shift_id(200), V.CHORD, V.on_id(V.PIANO, 60), V.shift_id(800), V.CHORD]
    assert list(chord_times(ids)) == pytest.approx([3.2, 4.0])
    m = O.cut_to_chord([4.0, 6.0], chord_times(ids), 1.0)
    assert m["distances"] == pytest.approx([0.0, 2.0]) and m["hit_rate"] == 0.5


# --- AV-Align ------------------------------------------------------------------------------


def _clip(events, seed=0):
    """(T * FPS, 96, 128) grey frames: a still blurred-noise picture with a textured patch that jumps
    40 px sideways at each event time (one frame of motion per event, none otherwise)."""
    import cv2

    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur((rng.random((96, 128)) * 255).astype(np.uint8), (5, 5), 0)
    patch = cv2.GaussianBlur((rng.random((32, 32)) * 255).astype(np.uint8), (3, 3), 0)
    jumps, x, frames = {int(round(t * FPS)) for t in events}, 20, []
    for i in range(int(T * FPS)):
        if i in jumps:
            x = 60 if x == 20 else 20
        f = bg.copy()
        f[30:62, x : x + 32] = patch
        frames.append(f)
    return np.stack(frames)


def _clicks(times, seed=0):
    """T seconds of silence with a 3 ms noise click at each time."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(T * SR), np.float32)
    for t in times:
        i = int(t * SR)
        y[i : i + 64] = rng.uniform(-1, 1, 64)
    return y


@pytest.fixture(scope="module")
def mags():
    return O.flow_magnitude(_clip(EVENTS))


def test_flow_peaks_are_the_motion_events(mags):
    assert list(np.nonzero(mags > 0.01 * mags.max())[0]) == [25, 100, 175]
    assert list(O.strict_maxima(mags, FPS)) == pytest.approx(EVENTS)  # AV-Align's peaks: every strict local maximum
    assert list(O.video_peaks(mags, FPS, 1 / FPS)) == pytest.approx(EVENTS)  # the filtered variant's
    assert list(O.video_peaks(mags, FPS, 1.0)) == pytest.approx(EVENTS)
    assert len(O.video_peaks(np.zeros(50), FPS, 1.0)) == 0 and len(O.strict_maxima(np.zeros(50), FPS)) == 0


def test_strict_maxima_by_hand():
    # strict maxima at 1 and 6; the plateau 2, 2 is none; the ends never are
    assert list(O.strict_maxima([0, 1, 0, 2, 2, 1, 3, 0], 2.0)) == [0.5, 3.0]
    assert list(O.strict_maxima([5, 1, 4], 1.0)) == [] and list(O.strict_maxima([1, 2], 1.0)) == []


def test_flow_trajectory_starts_with_the_first_pair():
    frames = _clip([0.04])[:4]  # the patch jumps at frame 1
    m = O.flow_magnitude(frames)
    assert len(m) == 4 and m[0] == m[1] > 0 and m[2] == m[3] < 0.01 * m[1]  # entry 0 repeats flow(0, 1), as Yariv et al.'s


@pytest.mark.parametrize("align", [O.av_align, O.av_align_filtered], ids=["cited", "filtered"])
@pytest.mark.parametrize(
    "clicks, frame_iou, second_iou",
    [
        pytest.param(EVENTS, 1.0, 1.0, id="coincide"),
        pytest.param([2.5, 5.5], 0.0, 0.0, id="disjoint"),  # 1.5 s from every event
        pytest.param([1.5, 4.5, 7.5], 0.0, 1.0, id="half-second-late"),  # > 1 frame, < 1 s
        pytest.param([1.0, 4.0, 6.5], 0.5, 1.0, id="partial"),  # 1 frame: I = 2 of |A| + |V| - I = 4
    ],
)
def test_av_align_known_iou(mags, clicks, frame_iou, second_iou, align):
    got = align(_clicks(clicks), SR, mags, FPS)
    assert got == {"frame": pytest.approx(frame_iou), "second": pytest.approx(second_iou)}


def test_av_align_through_an_encoded_video(tmp_path):
    """The same clip through libx264 (lossy) and OpenCV's decoder: the filtered variant sees the three
    events only; AV-Align as defined counts every strict maximum, encoder noise included."""
    path = raw_clip(tmp_path / "events.mp4", list(_clip(EVENTS)), fps=str(FPS))
    frames, fps = O.read_grey_frames(path, max_side=160)
    assert fps == FPS and len(frames) == int(T * FPS)
    m = O.flow_magnitude(frames)
    assert O.av_align_filtered(_clicks(EVENTS), SR, m, fps) == {"frame": 1.0, "second": 1.0}
    assert O.av_align_filtered(_clicks([2.5, 5.5]), SR, m, fps) == {"frame": 0.0, "second": 0.0}
    v = O.strict_maxima(m, fps)
    assert set(EVENTS) <= {round(t, 6) for t in v} and len(v) > len(EVENTS)  # noise maxima count too
    got = O.av_align(_clicks(EVENTS), SR, m, fps)
    assert got["frame"] == pytest.approx(3 / len(v))  # I = 3 of |A| + |V| - I = |V|


def test_onsets_are_librosas_defaults(shared_data):
    import librosa

    y, sr = librosa.load(shared_data / "audio" / "Kevin_MacLeod_-_Vibe_Ace.hq.ogg", sr=O.AUDIO_SR, duration=8.0)
    ref = librosa.frames_to_time(librosa.onset.onset_detect(onset_envelope=librosa.onset.onset_strength(y=y, sr=sr), sr=sr), sr=sr)
    got = O.onsets(y, sr)
    assert len(got) > 8 and np.array_equal(got, ref)


def _reference_av_align(path, n_frames, y, sr):
    """AV-Align written out the way Yariv et al.'s published code computes it (native frames,
    cv2.magnitude + cv2.mean per pair, trajectory [of(0,1), of(0,1), of(1,2), ...], strict local
    maxima by a loop, librosa's default onsets, IoU by a double loop with a one-frame window)."""
    import cv2
    import librosa

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while len(frames) < n_frames:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()

    def of(a, b):
        flow = cv2.calcOpticalFlowFarneback(
            cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), cv2.cvtColor(b, cv2.COLOR_BGR2GRAY), None, 0.5, 3, 15, 3, 5, 1.2, 0
        )
        return cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0]

    traj = [of(frames[0], frames[1])] + [of(frames[i - 1], frames[i]) for i in range(1, len(frames))]
    video = [i / fps for i in range(1, len(traj) - 1) if traj[i - 1] < traj[i] > traj[i + 1]]
    env = librosa.onset.onset_strength(y=y, sr=sr)
    audio = librosa.frames_to_time(librosa.onset.onset_detect(onset_envelope=env, sr=sr), sr=sr)
    inter = 0
    for a in audio:
        for v in video:
            if v - 1 / fps < a < v + 1 / fps:
                inter += 1
                break
    return inter / (len(audio) + len(video) - inter), video, fps


def test_av_align_equals_the_reference_on_a_real_clip(shared_data):
    """An Ekman-6 clip's first 2 s (320x240, 29.97 fps, its own audio): the same video peaks and IoU."""
    from emsync.video.sampling import read_audio

    path = shared_data / "ekman6" / "disgust.mp4"
    y = read_audio(path, sr=O.AUDIO_SR)[: 2 * O.AUDIO_SR]
    ref_iou, ref_video, fps = _reference_av_align(path, 60, y, O.AUDIO_SR)
    fps2, it = O.grey_frames(path, max_side=0)  # native size, as the reference
    frames = [f for _, f in zip(range(60), it)]
    m = O.flow_magnitude(frames)
    assert fps2 == fps and list(O.strict_maxima(m, fps)) == pytest.approx(ref_video) and len(ref_video) >= 3
    assert O.av_align(y, O.AUDIO_SR, m, fps)["frame"] == pytest.approx(ref_iou)


def test_peaks_iou_definition():
    assert O.peaks_iou([1.0, 2.0, 3.0], [1.01, 5.0], 0.04) == pytest.approx(1 / 4)  # I = 1, |A| + |V| - I = 4
    assert O.peaks_iou([], [1.0], 1.0) == 0.0 and O.peaks_iou([1.0], [], 1.0) == 0.0
    assert O.peaks_iou([1.0], [2.0], 1.0) == 0.0  # strictly within the window


# --- KL and the tagger -----------------------------------------------------------------------


def test_kl_known_values():
    assert O.kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.5 * np.log(2) + 0.5 * np.log(2 / 3), abs=1e-8)
    assert O.kl_divergence([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == pytest.approx(0.0, abs=1e-12)
    assert O.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.log(2), abs=1e-6)


def test_tag_distribution_with_a_saved_tiny_tagger(tmp_path):
    from emsync.models.audio_tagger import AudioTagger, AudioTaggerConfig
    from emsync.video.extractors import music

    torch.manual_seed(0)
    AudioTagger(AudioTaggerConfig(channels=[4, 8], d_embed=8, n_classes=5, chunk_s=1.0)).save_pretrained(tmp_path / "tagger")
    tagger = music.load(str(tmp_path / "tagger"))["tagger"].model.eval()  # how the stage loads features.models.music
    rng = np.random.default_rng(0)
    y = rng.standard_normal(int(2.5 * 16000)).astype(np.float32) * 0.1  # 3 chunks, the last zero-padded
    p = O.tag_distribution(tagger, y)
    assert p.shape == (5,) and p.sum() == pytest.approx(1.0) and (p > 0).all()
    assert O.kl_divergence(p, O.tag_distribution(tagger, y)) == pytest.approx(0.0, abs=1e-9)
    assert O.kl_divergence(p, O.tag_distribution(tagger, np.zeros_like(y))) > 0


# --- emotion agreement ----------------------------------------------------------------------


def test_regressor_loads_and_predicts_like_the_model(tmp_path):
    from emsync.models.emotion_regressor import EmotionRegressor, EmotionRegressorConfig, regressor_bytes
    from emsync.training.regressor import predict_sequence

    assert O.load_regressor(tmp_path / "none.pt") is None
    torch.manual_seed(0)
    model = EmotionRegressor(EmotionRegressorConfig(n_layers=1, n_heads=2, d_model=16, d_ff=32, max_len=24)).eval()
    (tmp_path / "r.pt").write_bytes(regressor_bytes(model))
    loaded = O.load_regressor(tmp_path / "r.pt")
    ids = [V.START, V.BAR, *[V.shift_id(200), V.on_id(V.PIANO, 60)] * 20]
    with torch.no_grad():
        want = predict_sequence(model, ids)
    assert O.emotion_prediction(loaded, ids) == pytest.approx(tuple(float(x) for x in want), abs=1e-6)
