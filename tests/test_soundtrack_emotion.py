"""§6.1 emotion mapping: Ekman probabilities -> a Gaussian mixture over valence/arousal (Table 6.1)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emsync.core.errors import InputError
from emsync.emotion.mapping import EMOTIONS, TABLE_6_1, mixture_mean, parse_probs, sample_mixture, scaled_gaussians, weights
from emsync.soundtrack import pick_emotion


def test_table_is_the_thesis_table():
    assert EMOTIONS == ("anger", "disgust", "fear", "joy", "sadness", "surprise")
    tab = np.array([TABLE_6_1[e] for e in EMOTIONS])
    # §6.1: min/max of the means as printed under the equations
    assert tab[:, 0].min() == -0.64 and tab[:, 0].max() == 0.76
    assert tab[:, 2].min() == -0.27 and tab[:, 2].max() == 0.67


@pytest.mark.parametrize("r", [0.8, 0.5, 1.0])
def test_scaled_means_span_minus_r_to_r_on_each_axis(r):
    g = scaled_gaussians(r)
    assert np.abs(g.means).max() == pytest.approx(r)
    np.testing.assert_allclose(g.means.max(axis=0), [r, r])
    np.testing.assert_allclose(g.means.min(axis=0), [-r, -r])
    # stds are scaled by the same factor as the means, not shifted
    np.testing.assert_allclose(g.stds[:, 0] / np.array([TABLE_6_1[e][1] for e in EMOTIONS]), 2 * r / 1.40)
    np.testing.assert_allclose(g.stds[:, 1] / np.array([TABLE_6_1[e][3] for e in EMOTIONS]), 2 * r / 0.94)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_one_hot_gives_that_emotions_scaled_mean(emotion):
    k = EMOTIONS.index(emotion)
    assert mixture_mean({emotion: 1.0}) == pytest.approx(tuple(scaled_gaussians(0.8).means[k]))


def test_known_values():
    assert mixture_mean({"joy": 1.0}) == pytest.approx((0.8, 2 * 0.8 * (0.48 + 0.27) / 0.94 - 0.8))
    assert mixture_mean({"sadness": 1.0}) == pytest.approx((2 * 0.8 * (-0.63 + 0.64) / 1.40 - 0.8, -0.8))
    # an even mix of joy and fear is the midpoint of their scaled means
    g = scaled_gaussians(0.8)
    mid = (g.means[EMOTIONS.index("joy")] + g.means[EMOTIONS.index("fear")]) / 2
    assert mixture_mean({"joy": 0.5, "fear": 0.5}) == pytest.approx(tuple(mid))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=6, max_size=6).filter(lambda x: sum(x) > 1e-6))
def test_weights_sum_to_one_and_mean_stays_in_range(raw):
    w = weights(raw)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    v, a = mixture_mean(raw)
    assert -0.8 - 1e-9 <= v <= 0.8 + 1e-9 and -0.8 - 1e-9 <= a <= 0.8 + 1e-9


def test_unnormalised_scores_and_dict_order_do_not_matter():
    assert mixture_mean({"anger": 2, "joy": 6}) == pytest.approx(mixture_mean({"joy": 0.75, "anger": 0.25}))
    assert mixture_mean([0, 0, 0, 1, 0, 0]) == pytest.approx(mixture_mean({"joy": 1}))


def test_sampling_a_one_hot_mixture_follows_that_gaussian():
    rng = np.random.default_rng(0)
    xs = np.array([sample_mixture({"surprise": 1.0}, rng, max_abs_mean=0.3) for _ in range(4000)])  # (n, 2)
    g = scaled_gaussians(0.3)  # narrow enough that clipping to [-1, 1] (almost) never happens
    k = EMOTIONS.index("surprise")
    np.testing.assert_allclose(xs.mean(axis=0), g.means[k], atol=0.02)
    np.testing.assert_allclose(xs.std(axis=0), g.stds[k], rtol=0.08)
    wide = np.array([sample_mixture({"surprise": 1.0}, rng) for _ in range(200)])
    assert np.abs(wide).max() <= 1.0  # clipped to the model's range


def test_sampling_picks_categories_by_probability():
    rng = np.random.default_rng(1)
    xs = np.array([sample_mixture({"joy": 0.8, "sadness": 0.2}, rng) for _ in range(2000)])
    assert np.mean(xs[:, 0] > 0) == pytest.approx(0.8, abs=0.04)  # joy's valence is +0.8, sadness's -0.79


def test_parse_probs():
    assert parse_probs(" Anger=0.2, joy=0.8 ") == {"anger": 0.2, "joy": 0.8}


@pytest.mark.parametrize(
    "text,msg",
    [
        ("joy", "NAME=PROBABILITY"),
        ("joy=x", "'x' (for joy) is not a number"),
        ("", "empty"),
        ("love=1", "unknown emotion 'love'"),
        ("joy=0,fear=0", "all zero"),
        ("joy=-1,fear=2", ">= 0"),
    ],
)
def test_bad_probabilities_are_clear_errors(text, msg):
    with pytest.raises(InputError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        mixture_mean(parse_probs(text))


def test_pick_emotion_sources():
    e = pick_emotion()
    assert (e.valence, e.arousal, e.source) == (0.0, 0.0, "flags")
    e = pick_emotion(emotion_probs={"joy": 3, "surprise": 1})
    assert e.source == "emotion_probs" and e.probs["joy"] == 0.75 and sum(e.probs.values()) == pytest.approx(1)
    assert (e.valence, e.arousal) == pytest.approx(mixture_mean({"joy": 0.75, "surprise": 0.25}), abs=1e-6)
    with pytest.raises(InputError, match="not both"):
        pick_emotion(valence=0.2, emotion_probs={"joy": 1})
    with pytest.raises(InputError, match="--arousal 1.5"):
        pick_emotion(arousal=1.5)
