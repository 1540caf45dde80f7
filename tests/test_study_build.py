"""`emsync study build` (§6.3.3): balanced Latin square, anonymised public files, bad input."""

import itertools
import json
import subprocess
from collections import Counter

import pytest
from _study_helpers import CONDITIONS, make_soundtracks

from emsync.cli import main
from emsync.core.errors import InputError
from emsync.study import design
from emsync.study.build import build_study, load_study, position_counts

VIDEOS = ["clip_a", "clip_b", "clip_c", "clip_d", "clip_e", "clip_f"]


@pytest.fixture(scope="module")
def soundtracks(tmp_path_factory):
    root = make_soundtracks(tmp_path_factory.mktemp("soundtrack"), VIDEOS)
    (root / "clip_g").mkdir()  # a video the batch stage only half finished
    (root / "clip_g" / "emsync.mp4").write_bytes((root / "clip_a" / "emsync.mp4").read_bytes())
    return root


@pytest.fixture(scope="module")
def study_dir(soundtracks, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "study"
    assert main(["study", "build", "--soundtracks", str(soundtracks), "-o", str(out), "--participants", "5"]) == 0
    return out


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_williams_rows_balance_positions_and_neighbours(n):
    rows = williams_rows = design.williams_rows(n)
    assert len(rows) == (2 * n if n % 2 else n)
    for pos in range(n):  # every treatment in every position equally often
        assert Counter(r[pos] for r in rows) == Counter({t: len(rows) // n for t in range(n)})
    pairs = Counter((r[i], r[i + 1]) for r in williams_rows for i in range(n - 1))
    assert set(pairs) == {(a, b) for a, b in itertools.permutations(range(n), 2)}  # every ordered neighbour pair
    assert len(set(pairs.values())) == 1  # ... equally often
    for half in (rows[:n], rows[-n:]):  # each half is itself a Latin square
        assert all(sorted(col) == list(range(n)) for col in zip(*half))


def test_williams_three_is_all_six_orders():
    assert sorted(map(tuple, design.williams_rows(3))) == sorted(itertools.permutations(range(3)))


@pytest.mark.parametrize("n_videos", [3, 6, 9, 4, 7, 8])
@pytest.mark.parametrize("seed", [0, 1])
def test_layouts_each_condition_equally_often_left_centre_right(n_videos, seed):
    lay = design.layouts(design.DEFAULT_CONDITIONS, n_videos, seed)
    for cond in design.DEFAULT_CONDITIONS:
        per_pos = [sum(order[p] == cond for order in lay) for p in range(3)]
        if n_videos % 3 == 0:
            assert per_pos == [n_videos // 3] * 3
        else:
            assert max(per_pos) - min(per_pos) <= 1


def test_build_balances_positions_and_skips_incomplete_videos(study_dir):
    study = load_study(study_dir)
    assert [v["video_id"] for v in study["videos"]] == VIDEOS
    assert study["skipped"] == [{"video_id": "clip_g", "reason": "no no_boundaries.mp4, neutral.mp4"}]
    assert position_counts(study) == {c: [2, 2, 2] for c in design.DEFAULT_CONDITIONS}
    assert len(study["pages"]) == 3 and all(len(p["videos"]) == 2 for p in study["pages"])  # thesis: two videos a page
    assert Counter(study["tokens"].values()) == Counter(
        {study["pages"][0]["id"]: 2, study["pages"][1]["id"]: 2, study["pages"][2]["id"]: 1}
    )
    links = (study_dir / "links.txt").read_text().split()
    assert sorted(links) == sorted(f"/s/{t}/" for t in study["tokens"])


def test_nothing_public_names_a_condition_or_a_video(study_dir, soundtracks):
    study = load_study(study_dir)
    secret = [*CONDITIONS, "boundar", "random", *VIDEOS, "EMSYNC"]
    public = sorted(p for p in (study_dir / "public").rglob("*") if p.is_file())
    assert len(public) == 6 * 3 + 3  # 18 media files, 3 pages
    for p in public:
        assert not any(s.lower() in str(p.relative_to(study_dir)).lower() for s in secret), p
        data = p.read_bytes().lower()
        assert not any(s.lower().encode() in data for s in secret), p
    # the sources did carry the condition in their metadata: the copy stripped it
    assert b"condition emsync" in (soundtracks / "clip_a" / "emsync.mp4").read_bytes()
    page = (study_dir / "public" / "pages" / f"{study['pages'][0]['id']}.html").read_text()
    for v in study["videos"][:2]:
        for slot in design.SLOTS:
            assert f'src="/media/{v["media"][slot]}.mp4"' in page
    assert page.count('type="radio"') == 2 * 5 * 3 * 3 + 2
    assert all(q.prompt in page for q in design.QUESTIONS) and design.THEORY_PROMPT in page


def _stream_md5(path, stream):
    r = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", stream, "-c", "copy", "-f", "md5", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return r.stdout.strip()


def test_media_are_the_condition_files_copied_not_reencoded(study_dir, soundtracks):
    study = load_study(study_dir)
    for v in study["videos"][:2]:
        for slot, cond in zip(design.SLOTS, v["order"]):
            src, dst = soundtracks / v["video_id"] / f"{cond}.mp4", study_dir / "public" / "media" / f"{v['media'][slot]}.mp4"
            assert _stream_md5(src, "0:v") == _stream_md5(dst, "0:v")
            assert _stream_md5(src, "0:a") == _stream_md5(dst, "0:a")  # each condition has its own tone: the right file


def test_build_refuses_bad_input(soundtracks, study_dir, tmp_path):
    with pytest.raises(InputError, match="not empty"):
        build_study(soundtracks, study_dir)
    with pytest.raises(InputError, match="6 videos have all of .*--videos asks for 9"):
        build_study(soundtracks, tmp_path / "a", n_videos=9)
    with pytest.raises(InputError, match="no soundtrack folder"):
        build_study(tmp_path / "nowhere", tmp_path / "b")
    with pytest.raises(InputError, match="unknown condition 'cmt'"):
        design.parse_conditions("emsync,cmt,neutral")
    with pytest.raises(InputError, match="exactly 3 versions"):
        design.parse_conditions("emsync,neutral")
    assert design.parse_conditions("emsync, random_emotion,neutral") == ("emsync", "random_emotion", "neutral")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_build_other_conditions_and_json_summary(soundtracks, tmp_path, capsys):
    out = tmp_path / "s"
    args = ["study", "build", "--soundtracks", str(soundtracks), "-o", str(out), "--videos", "3", "--videos-per-page", "3"]
    assert main([*args, "--conditions", "emsync,random_emotion,neutral", "--participants", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["videos"] == 3 and summary["pages"] == 1
    assert summary["position_counts"] == {"emsync": [1, 1, 1], "random_emotion": [1, 1, 1], "neutral": [1, 1, 1]}


def _tags(path):
    r = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration:format_tags:stream_tags", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    d = json.loads(r.stdout)
    return float(d["format"]["duration"]), d["format"].get("tags", {}), [s.get("tags", {}) for s in d["streams"]]


def test_real_clips_copied_exactly_without_their_tags(shared_data, tmp_path):
    """Real H.264 + AAC / MP3 files (Ekman-6 sample with creation times and an `AVC Coding` encoder
    tag; Lavf-muxed Sintel and Chaplin) as the three versions: streams bit-identical, tags gone."""
    sources = {"emsync": shared_data / "ekman6" / "joy.mp4", "no_boundaries": shared_data / "video" / "sintel_5s.mp4"}
    sources["neutral"] = shared_data / "video" / "chaplin.mp4"
    (tmp_path / "st" / "real").mkdir(parents=True)
    for cond, src in sources.items():
        (tmp_path / "st" / "real" / f"{cond}.mp4").symlink_to(src)
    build_study(tmp_path / "st", tmp_path / "study", participants=1)
    v = load_study(tmp_path / "study")["videos"][0]
    for slot, cond in zip(design.SLOTS, v["order"]):
        src, dst = sources[cond], tmp_path / "study" / "public" / "media" / f"{v['media'][slot]}.mp4"
        assert _stream_md5(src, "0:v") == _stream_md5(dst, "0:v") and _stream_md5(src, "0:a") == _stream_md5(dst, "0:a")
        (d_src, fmt_src, _), (d_dst, fmt_dst, streams) = _tags(src), _tags(dst)
        assert abs(d_src - d_dst) < 0.05
        assert set(fmt_src) - {"major_brand", "minor_version", "compatible_brands"}  # the source had tags ...
        assert set(fmt_dst) == {"major_brand", "minor_version", "compatible_brands"}  # ... the copy has none
        assert all(set(t) <= {"language", "handler_name", "vendor_id"} for t in streams)  # muxer defaults only
        assert all(t.get("language") == "und" for t in streams)
