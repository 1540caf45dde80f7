"""Frames at 1 per second (§5.2.2.3): the genre models read a trailer whole ("all video scenes and
the full audio track", §5.2.3.4) and VEMOCLAP draws its 16 steps from those tables at new random
positions in every training step, equidistant ones at test (§5.2.2.3)."""

import math

import numpy as np
import pytest

from _videos import cut_video
from emsync.classify.features import VideoFeatures, crop
from emsync.classify.tasks import ClassifierData, ClassifierTask
from emsync.core.config import Params
from emsync.video import stage
from emsync.video.sampling import sample_times, sample_video
from tests._extractor_models import handle


def test_fps_times():
    assert list(sample_times(10.0, 120, "fps")) == [k + 0.5 for k in range(10)]
    assert list(sample_times(10.9, 120, "fps", fps=2.0))[-1] == 10.25 and len(sample_times(10.9, 120, "fps", fps=2.0)) == 21
    capped = sample_times(300.0, 120, "fps")  # a cap keeps memory bounded: evenly thinned, first and last kept
    assert len(capped) == 120 and capped[0] == 0.5 and capped[-1] == 299.5
    assert list(sample_times(0.3, 120, "fps")) == [0.15]  # shorter than one slot: its middle


def test_the_sets_extract_at_one_frame_per_second():
    from emsync.core.config import load_params
    from tests._root import ROOT

    for name in ("demo", "thesis"):
        p = load_params(ROOT / "params" / f"{name}.yaml")
        s = stage.sampling_for(p, "clip")
        assert (s["mode"], s["fps"]) == ("fps", 1.0) and p.classify.n_frames == 16
    assert load_params(ROOT / "params" / "thesis.yaml").video.n_frames >= 215  # a 214.4-s trailer (§5.2.3.3 fence) whole
    assert load_params(ROOT / "params" / "demo.yaml").video.n_frames == 32


@pytest.fixture(scope="module")
def trailer(tmp_path_factory):
    """A 3-minute 'trailer': 18 ten-second scenes, a sine track."""
    path, _ = cut_video(tmp_path_factory.mktemp("trailer") / "trailer.mp4", [10.0] * 18, size="96x64", fps=10)
    return path


def test_genre_features_of_a_3_minute_trailer_cover_it_whole(trailer):
    from emsync.classify.inference import extract_tables
    from emsync.core.config import load_params
    from emsync.video import extractors
    from tests._root import ROOT

    thesis = load_params(ROOT / "params" / "thesis.yaml")
    sample = sample_video(trailer, **stage.sampling_for(thesis, "clip"))  # as the thesis set's feature stage samples it
    tables = {name: extractors.get(name).extract(handle(name), sample) for name in ("clip", "audio", "music")}
    assert len(tables["clip"]) == 180 > 16 and len(tables["audio"]) == 180  # one frame and one 3-s chunk per second
    assert len(tables["music"]) == math.ceil(180 / 22) and tables["music"]["t"].max() > 170  # 22-s chunks to the end
    p = Params()  # the demo set: at most 32 frames, spread over the whole trailer (its cost stays that of 16)
    g, _, _ = extract_tables(p, trailer, "genre", handles={n: handle(n) for n in ("clip", "audio", "music", "asr", "ocr", "tokens")})
    assert len(g["clip"]) == len(g["audio"]) == 32 > 16 and g["clip"]["t"].min() == 0.5 and g["clip"]["t"].max() == 179.5
    e, _, _ = extract_tables(p, trailer, "emotion", handles={n: handle(n) for n in ("clip", "audio", "faces", "asr", "ocr", "sentiment")})
    assert len(e["clip"]) == 16 and np.allclose(e["clip"]["t"], (np.arange(16) + 0.5) * 180 / 16, atol=0.11)  # emotion: 16 equidistant


def _task(T=40):
    items = []
    for i in range(4):
        steps = np.arange(T, dtype=np.float32)[:, None]  # each vector holds its step index
        x = {"clip": np.repeat(steps, 6, 1), "audio": np.repeat(steps, 4, 1), "asr": np.zeros(3, np.float32)}
        valid = {"clip": np.ones(T, bool), "audio": np.ones(T, bool), "asr": np.array(False)}
        items.append(VideoFeatures(f"v{i}", x, valid))
    data = ClassifierData(items, np.arange(4) % 6, ["train"] * 3 + ["test"], {"clip": 6, "audio": 4, "asr": 3})
    return ClassifierTask("vemoclap", data, {"d_model": 8, "n_heads": 2}, batch_size=3, n_frames=16, seed=0)


def test_vemoclap_draws_new_random_positions_every_training_step():
    task = _task()
    picks = []
    for step in range(6):  # one batch is one epoch here: each step sees every training video
        x, mask, _ = task.batch(step)
        clip, audio = x["clip"][..., 0].numpy(), x["audio"][..., 0].numpy()
        assert clip.shape == (3, 16) and (np.diff(clip, axis=1) > 0).all()  # 16 distinct positions, in time order
        assert np.array_equal(clip, audio)  # a frame and its audio chunk stay together
        picks.append(clip)
    assert len({p.tobytes() for p in picks}) == 6 and not np.array_equal(picks[0][0], picks[0][1])  # new draws per step and video
    x, _, _ = task._make(task.data.index("test"), None)  # test: equidistant over the 1-fps steps
    assert list(x["clip"][0, :, 0].numpy()) == list(np.linspace(0, 39, 16).round())


def test_equal_length_sequences_share_picks():
    vf = VideoFeatures("v", {"a": np.arange(30.0)[:, None], "b": np.arange(30.0)[:, None], "c": np.arange(20.0)[:, None]},
                       {"a": np.ones(30, bool), "b": np.ones(30, bool), "c": np.ones(20, bool)})  # fmt: skip
    out = crop(vf, 8, np.random.default_rng(3))
    assert np.array_equal(out.x["a"], out.x["b"]) and len(out.x["c"]) == 8
