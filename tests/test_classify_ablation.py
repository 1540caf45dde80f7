"""Table 5.4 (thesis §5.2.3.4): the feature ablation trains one classifier per feature set through
the engine on feature tables, scores it on the test split and prices each row with the extractor
seconds of the features run (+ the classification seconds measured here)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from emsync.classify import ablation
from emsync.core.config import Params
from emsync.models.classifier_blocks import GENRES

D = 8
GENRE_SETS = [["Action"], ["Comedy"], ["Horror"]]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """18 videos' clip / music / audio / tokens tables; the genre shifts clip dimension g only."""
    root = tmp_path_factory.mktemp("ablation")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(18):
        vid, g = f"v{i:02d}", i % 3
        clip = rng.normal(0, 1, (6, D)).astype(np.float32)
        clip[:, g] += 3.0
        tabs = {
            "clip": pd.DataFrame({"video_id": vid, "t": np.arange(6.0), "embedding": list(clip)}),
            "music": pd.DataFrame(
                {"video_id": vid, "chunk": [0], "t": [1.0], "embedding": list(rng.normal(0, 1, (1, D)).astype(np.float32))}
            ),
            "audio": pd.DataFrame({"video_id": vid, "t": np.arange(6.0), "embedding": list(rng.normal(0, 1, (6, D)).astype(np.float32))}),
            "tokens": pd.DataFrame(
                {
                    "video_id": vid,
                    "source": ["ocr"] * 3 + ["asr"] * 3,
                    "chunk": 0,
                    "token": ["[CLS]", "hello", "[SEP]"] * 2,
                    "embedding": list(rng.normal(0, 1, (6, D)).astype(np.float32)),
                }
            ),
        }
        for name, df in tabs.items():
            (root / name).mkdir(exist_ok=True)
            df.to_parquet(root / name / f"{vid}.parquet")
        rows.append({"video_id": vid, "genres": GENRE_SETS[g], "split": "test" if i % 3 == 0 or i % 5 == 0 else "train"})
    return root, pd.DataFrame(rows)


def _c():
    c = Params().classify
    models = {"multi_transformer": {"d_model": 8, "n_heads": 2, "max_positions": 32, "dropout": 0.0}}
    return dataclasses.replace(c, steps=80, lr=3e-3, batch_size=6, seed=0, device="cpu", eval_every=0, genre_models=models)


def test_rows_train_score_and_add_up_their_runtimes(tables):
    root, labels = tables
    seconds = {"clip": 1.5, "music": 0.25, "audio": 0.5, "ocr": 4.0, "tokens": 2.0}  # no asr timing
    rows = ablation.run(labels, root, None, _c(), seconds, rows=["clip", "clip+music+audio+ocr*+asr*"])
    clip, full = rows["clip"], rows["clip+music+audio+ocr*+asr*"]
    assert clip["extractors"] == ["clip"] and clip["missing_timing"] == []
    assert clip["runtime_s"] == pytest.approx(1.5 + clip["classify_s"], abs=1e-3)
    assert full["extractors"] == ["clip", "music", "audio", "asr", "ocr", "tokens"]
    assert full["missing_timing"] == ["asr"] and full["extract_s"] == pytest.approx(8.25)
    assert clip["n_test"] == full["n_test"] == int((labels["split"] == "test").sum())
    # the planted clip signal is learned: well above the no-skill level of this test split
    y = np.stack([np.isin(GENRES, g).astype(np.float32) for g in labels.loc[labels["split"] == "test", "genres"]])
    chance = ablation.chance_map(y)
    assert clip["map"] > chance + 0.3, (clip["map"], chance)
    md = "\n".join(ablation.markdown(rows, chance))
    assert "| clip | multi_transformer |" in md and "64.73 | 5.32 |" in md and "no timing: asr" in md


def test_a_feature_set_without_tables_is_a_recorded_skip(tables):
    root, labels = tables  # no vit / ast tables here
    rows = ablation.run(labels, root, None, _c(), {}, rows=["baseline"])
    assert "vit" in rows["baseline"]["skipped"] and rows["baseline"]["extractors"] == ["vit", "ast"]
    assert "| baseline | baseline | skipped: " in "\n".join(ablation.markdown(rows))


def test_seconds_per_video_from_the_features_record():
    summary = {"extractors": {"clip": {"decode_s": 10.0, "extract_s": 2.0, "videos": 4}, "faces": {"videos": 0}}}
    assert ablation.seconds_per_video(summary) == {"clip": 3.0}
    assert ablation.extractors_of(("clip", "ocr")) == ["clip", "ocr", "tokens"]


def test_frames_benchmark_keeps_n_random_frames_per_video_seeded():
    """Fig. 5.8 benchmark (emsync bench frames_map): N CLIP rows per video at random sorted
    positions, the same draw for the same seed, every row when a video has fewer than N."""
    from emsync.benchmarks.frames_map import keep_frames
    from emsync.classify.features import VideoFeatures
    from emsync.classify.tasks import ClassifierData

    items = [
        VideoFeatures(f"v{k}", {"clip": np.arange(T * 2, dtype=np.float32).reshape(T, 2)}, {"clip": np.ones(T, bool)})
        for k, T in enumerate((20, 5))
    ]
    data = ClassifierData(items, np.zeros((2, len(GENRES)), np.float32), ["train", "test"], {"clip": 2})
    a, b, c = keep_frames(data, 8, 0), keep_frames(data, 8, 0), keep_frames(data, 8, 1)
    t0 = a.items[0].x["clip"][:, 0] / 2
    assert len(t0) == 8 and np.all(np.diff(t0) > 0) and len(set(t0)) == 8
    assert np.array_equal(a.items[0].x["clip"], b.items[0].x["clip"]) and not np.array_equal(a.items[0].x["clip"], c.items[0].x["clip"])
    assert len(a.items[1].x["clip"]) == 5  # fewer rows than N: all of them
