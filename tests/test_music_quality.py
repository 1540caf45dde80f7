"""The music measures behind `emsync bench music_quality` (emsync/music/quality.py), on notes whose
answers are known, on a real MIDI file, and against chance."""

import numpy as np
import pytest

from emsync.music import quality as q


def _notes(pitches, starts=None, dur=0.5):
    pitches = np.asarray(pitches)
    starts = np.arange(len(pitches)) * dur if starts is None else np.asarray(starts, float)
    return q.NoteList(pitches, starts, starts + dur, float(starts.max() + dur))


def test_a_c_major_scale_is_fully_consistent_and_in_key():
    m = q.measures(_notes([60, 62, 64, 65, 67, 69, 71, 72]))
    assert m["scale_consistency"] == 1.0 and m["in_key_ratio"] == 1.0 and m["mode"] == "major"
    assert m["pitch_class_entropy"] == pytest.approx(-(6 * (1 / 8) * np.log2(1 / 8) + (2 / 8) * np.log2(2 / 8)))
    assert m["notes_per_s"] == 2.0 and m["polyphony"] == 1.0


def test_the_chromatic_scale_has_maximal_entropy_and_seven_twelfths_consistency():
    m = q.measures(_notes(range(60, 72)))
    assert m["pitch_class_entropy"] == pytest.approx(np.log2(12)) and m["scale_consistency"] == pytest.approx(7 / 12)


def test_polyphony_counts_pitches_sounding_together():
    triads = _notes([60, 64, 67, 62, 65, 69], starts=[0, 0, 0, 1, 1, 1], dur=1.0)
    assert q.polyphony(triads) == pytest.approx(3.0)


def test_an_a_minor_melody_with_its_leading_tone_is_in_a_minor():
    m = q.measures(_notes([69, 71, 72, 74, 76, 77, 80, 81, 76, 69, 72, 69]))
    assert m["mode"] == "minor" and m["in_key_ratio"] == 1.0 and m["scale_consistency"] < 1.0  # G# is outside A natural minor


def test_random_pitch_classes_sit_where_the_issue_measured_chance():
    ref = q.random_pitch_reference(300, draws=500)
    assert 0.58 < ref["scale_consistency_p5_p95"][0] < ref["scale_consistency_p5_p95"][1] < 0.70
    assert 3.45 < ref["pitch_class_entropy_p5_p95"][0] < ref["pitch_class_entropy_p5_p95"][1] <= np.log2(12)


def test_a_real_pop_song_is_tonal(shared_data):
    m = q.measures(q.from_midi(shared_data / "midi" / "Mr._Blue_Sky.mid"))
    assert m["scale_consistency"] > 0.9 and m["pitch_class_entropy"] < 3.1 and m["mode"] == "major"
