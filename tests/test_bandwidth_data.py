"""§7.3 data: dataset layouts and splits, conversions of odd files, the decoded cache, crops."""

import subprocess
import wave

import numpy as np
import pytest

from emsync.bandwidth import audio as A
from emsync.bandwidth import data as D
from emsync.bandwidth import filters as F
from emsync.core.errors import InputError


def _wav(path, x, sr=44100):
    """Write (channels, n) float as 16-bit WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[0])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(A.to_int16(x).tobytes())
    return path


def _tone(n=20000, f=440.0, sr=44100, ch=2):
    t = np.arange(n) / sr
    return np.stack([0.3 * np.sin(2 * np.pi * f * (i + 1) * t) for i in range(ch)])


def test_dsd100_medleydb_folder_splits(tmp_path):
    dsd, med, fold = tmp_path / "DSD100", tmp_path / "MedleyDB", tmp_path / "misc"
    for i in range(10):
        _wav(dsd / "Mixtures" / "Dev" / f"{i:03d} - Song" / "mixture.wav", _tone(3000))
    for i in range(3):
        _wav(dsd / "Mixtures" / "Test" / f"{i:03d} - Test" / "mixture.wav", _tone(3000))
    _wav(med / "Audio" / "A_B" / "A_B_MIX.wav", _tone(3000))
    _wav(med / "Audio" / "A_B" / "A_B_STEM_01.wav", _tone(3000))  # stems are not songs
    _wav(fold / "x.wav", _tone(3000))
    songs = D.discover(str(dsd), str(med), [str(fold)], folder_test_songs=0, val_songs=8)
    by = {s: sorted(x.song_id for x in songs if x.split == s) for s in ("train", "val", "test")}
    # §7.3: the last 8 DSD100 Dev songs validate; the rest of Dev + MedleyDB train; DSD100 Test tests
    assert by["val"] == [f"dsd100:{i:03d} - Song" for i in range(2, 10)]
    assert by["train"] == ["dsd100:000 - Song", "dsd100:001 - Song", "folder:x", "medleydb:A_B"]
    assert by["test"] == [f"dsd100:{i:03d} - Test" for i in range(3)]
    with pytest.raises(InputError, match="bandwidth.medleydb_dir"):
        D.discover(medleydb_dir=str(fold))


def test_odd_files_are_converted_with_notes(tmp_path):
    mono8k = tmp_path / "mono8k.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=8000:duration=1",
            "-af",
            "volume=0.5",
            "-c:a",
            "pcm_s24le",
            str(mono8k),
        ],
        check=True,
    )
    x, notes = A.read_audio(mono8k)
    assert x.shape == (2, 44100) and np.array_equal(x[0], x[1])  # duplicated at the same level
    assert notes == ["resampled 8000 -> 44100 Hz", "mono duplicated to stereo", "pcm_s24le read as float"]
    assert np.abs(x[0, 4000:-4000]).max() == pytest.approx(0.0625, rel=0.01)  # lavfi sine 1/8, volume 0.5
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\0\0\0\0WAVEfmt " + b"\x01" * 40)
    with pytest.raises(InputError, match="bad.wav: cannot read audio"):
        A.read_audio(bad)


def test_cache_and_crops(tmp_path):
    fold = tmp_path / "songs"
    _wav(fold / "a.wav", _tone(30000))
    _wav(fold / "b.wav", _tone(5000, f=1000.0))  # shorter than a crop: zero-padded
    (fold / "c.flac").write_bytes(b"fLaC" + b"\0" * 20)  # corrupt: rejected, not fatal
    songs = D.discover(folders=[str(fold)], folder_test_songs=0, val_songs=0)
    rejects = []
    cached = D.build_cache(songs, tmp_path / "cache", rejects=rejects)
    assert [s.song_id for s in cached] == ["folder:a", "folder:b"] and [r["song_id"] for r in rejects] == ["folder:c"]
    a = cached[0].audio()
    assert a.dtype == np.int16 and a.shape == (30000, 2)
    assert np.array_equal(a, A.to_int16(_tone(30000)))
    again = D.build_cache(songs[:2], tmp_path / "cache")  # reused, same arrays
    assert again == cached
    sampler = D.CropSampler(cached, F.MULTI_FILTER, crop=8192)
    low, full, names = sampler.sample(np.random.default_rng(0), 8)
    assert low.shape == full.shape == (8, 2, 8192) and low.dtype == np.float32
    assert set(names) <= set(F.MULTI_FILTER) and len(set(names)) > 2
    # the same draw gives the same batch (batches depend only on the RNG)
    low2, _full2, names2 = sampler.sample(np.random.default_rng(0), 8)
    assert np.array_equal(low, low2) and names == names2
    # a crop equals the same slice of the whole song low-passed
    lo, _fu = sampler.crop_at(cached[0], 1000, "cheby1_6")
    whole = F.lowpass(a.T / 32768, "cheby1_6")[:, 1000:9192]
    assert np.abs(lo - whole).max() < 1e-5


def test_real_clips_load(shared_data, tmp_path):
    songs = D.discover(folders=[str(shared_data / "audio")], folder_test_songs=1, val_songs=0)
    assert [s.split for s in songs] == ["train", "test"]
    cached = D.build_cache(songs[1:], tmp_path / "cache")
    info = A.probe(songs[1].path)
    assert info["sample_rate"] == 44100 and info["channels"] == 2
    # the container's duration and the decoded length agree (61.46 s)
    assert cached[0].samples / 44100 == pytest.approx(info["duration"], abs=0.01)
    assert cached[0].notes == ("stored as 16-bit",)
