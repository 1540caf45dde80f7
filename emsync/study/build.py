"""`emsync study build`: anonymised survey pages from the batch soundtracks (thesis §6.3.3).

Input: the `soundtrack` stage's layout, data/soundtrack/<video_id>/<condition>.mp4. Output, a study
folder (default data/study, git-ignored: it will hold participants' answers):

    study.json          private: conditions, videos, the left/centre/right order of each, media and
                        page ids, participant tokens. Only the server reads it.
    links.txt           private: one survey link per participant token, to hand out
    public/media/<id>.mp4     each version, container metadata stripped (ffmpeg -c copy), opaque name
    public/pages/<id>.html    one survey page per `videos_per_page` videos (the thesis: two)

Nothing under public/ names a condition: file names, page ids and media ids are random, the page
calls the versions Method A / B / C (left / centre / right), and the answer form carries only
opaque ids. The mapping back to conditions lives in study.json and is applied by the server.
"""

import html
import json
import secrets
import shutil
import subprocess
from pathlib import Path

from emsync.core.errors import InputError
from emsync.core.io import atomic_path, write_json, write_text
from emsync.study import design

STUDY_FORMAT = 1


def new_id(nbytes: int = 8) -> str:
    """An opaque, unguessable id (hex)."""
    return secrets.token_hex(nbytes)


def find_videos(soundtrack_dir, conditions) -> tuple[list[str], list[dict]]:
    """Video ids under `soundtrack_dir` with an MP4 for every condition, and the skipped ones (with why)."""
    root = Path(soundtrack_dir)
    if not root.is_dir():
        raise InputError(f"{root}: no soundtrack folder (run the `soundtrack` stage, or give --soundtracks)")
    ok, skipped = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        missing = [c for c in conditions if not (d / f"{c}.mp4").is_file()]
        if missing:
            skipped.append({"video_id": d.name, "reason": f"no {', '.join(m + '.mp4' for m in missing)}"})
        else:
            ok.append(d.name)
    return ok, skipped


def strip_copy(src: Path, dst: Path) -> None:
    """Copy the picture and sound of `src` into `dst` unchanged (no re-encode) without container
    metadata or chapters (a title or comment could name the condition); moov atom first, so the
    browser can start playing before the whole file has arrived."""
    with atomic_path(dst) as tmp:
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy"]
        cmd += ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            lines = (r.stderr or "").strip().splitlines()
            raise InputError(f"{src}: ffmpeg cannot copy it ({lines[-1] if lines else 'exit ' + str(r.returncode)})")


def build_study(
    soundtrack_dir,
    out_dir,
    conditions=design.DEFAULT_CONDITIONS,
    n_videos: int | None = None,
    videos_per_page: int = 2,
    participants: int = 30,
    seed: int = 0,
) -> dict:
    """Write a study folder; return a summary (videos, pages, skipped, balance)."""
    conditions = tuple(conditions)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out}: study folder exists and is not empty (it may hold answers); choose another --out or remove it")
    if videos_per_page < 1:
        raise InputError(f"--videos-per-page {videos_per_page}: must be at least 1")
    if participants < 1:
        raise InputError(f"--participants {participants}: must be at least 1")
    ids, skipped = find_videos(soundtrack_dir, conditions)
    if n_videos is not None:
        if n_videos < 1:
            raise InputError(f"--videos {n_videos}: must be at least 1")
        if len(ids) < n_videos:
            raise InputError(f"{soundtrack_dir}: {len(ids)} videos have all of {', '.join(conditions)}; --videos asks for {n_videos}")
        ids = ids[:n_videos]
    if not ids:
        raise InputError(f"{soundtrack_dir}: no video has an MP4 for each of {', '.join(conditions)}")

    tmp = out.with_name(f".{out.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        (tmp / "public" / "media").mkdir(parents=True)
        (tmp / "public" / "pages").mkdir(parents=True)
        videos = []
        for video_id, order in zip(ids, design.layouts(conditions, len(ids), seed)):
            media = {}
            for slot, cond in zip(design.SLOTS, order):
                mid = new_id()
                strip_copy(Path(soundtrack_dir) / video_id / f"{cond}.mp4", tmp / "public" / "media" / f"{mid}.mp4")
                media[slot] = mid
            videos.append({"video_id": video_id, "opaque": new_id(), "order": list(order), "media": media})
        pages = []
        for i in range(0, len(videos), videos_per_page):
            page = {"id": new_id(), "videos": [v["opaque"] for v in videos[i : i + videos_per_page]]}
            write_text(tmp / "public" / "pages" / f"{page['id']}.html", page_html(videos[i : i + videos_per_page], first_number=i + 1))
            pages.append(page)
        # round robin: each page gets the same number of participants (within one)
        tokens = {new_id(12): pages[k % len(pages)]["id"] for k in range(participants)}
        study = {
            "format": STUDY_FORMAT,
            "conditions": list(conditions),
            "questions": list(design.QUESTION_KEYS),
            "seed": seed,
            "videos": videos,
            "pages": pages,
            "tokens": tokens,
            "skipped": skipped,
        }
        write_json(tmp / "study.json", study)
        write_text(tmp / "links.txt", "".join(f"/s/{t}/\n" for t in tokens))
        if out.exists():
            out.rmdir()  # empty (checked above)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "out": str(out),
        "videos": len(videos),
        "pages": len(pages),
        "participants": participants,
        "skipped": skipped,
        "position_counts": position_counts(study),
    }


def position_counts(study: dict) -> dict:
    """{condition: [times left, centre, right]} over the study's videos."""
    counts = {c: [0] * len(design.SLOTS) for c in study["conditions"]}
    for v in study["videos"]:
        for pos, cond in enumerate(v["order"]):
            counts[cond][pos] += 1
    return counts


def load_study(study_dir) -> dict:
    """study.json of a built study folder (clear error when it is not one)."""
    path = Path(study_dir) / "study.json"
    if not path.is_file():
        raise InputError(f"{study_dir}: not a study folder (no study.json); run `emsync study build` first")
    try:
        study = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: unreadable study file ({e})") from None
    if study.get("format") != STUDY_FORMAT:
        raise InputError(f"{path}: study format {study.get('format')!r}, this emsync reads {STUDY_FORMAT}")
    return study


_CSS = """
body { font-family: sans-serif; max-width: 1200px; margin: 1em auto; padding: 0 1em; }
.versions { display: flex; gap: 1em; }
.version { flex: 1; text-align: center; }
.version video { width: 100%; }
fieldset { margin: 1em 0; }
table.rank td, table.rank th { padding: 0.2em 0.8em; text-align: center; }
section.video { border-top: 2px solid #888; margin-top: 2em; }
"""

# Picking a rank for one method clears the same rank from the other methods of that question, so
# each question's answer stays an order (the server checks it anyway).
_JS = """
document.querySelectorAll('input[type=radio][data-q]').forEach(function (r) {
  r.addEventListener('change', function () {
    document.querySelectorAll('input[type=radio][data-q="' + r.dataset.q + '"][value="' + r.value + '"]').forEach(function (o) {
      if (o !== r) { o.checked = false; }
    });
  });
});
"""


def page_html(videos: list[dict], first_number: int = 1) -> str:
    """One survey page: per video the three versions side by side and the five ranking questions,
    then the music-theory question. Field names use only opaque video ids and slot letters:
    rank.<video>.<question>.<A|B|C> = 1..3, music_theory = yes|no."""
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Music for video: survey</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Music for video</h1>",
        "<p>Each video below comes with three versions of its music. Watch all three, then rank them "
        "for each question: every rank (1 = best, 3 = worst) goes to exactly one method.</p>",
        '<form method="post" action="submit" id="survey">',
    ]
    for k, v in enumerate(videos):
        vid = v["opaque"]
        parts.append(f'<section class="video" data-video="{e(vid)}"><h2>Video {first_number + k}</h2><div class="versions">')
        for slot in design.SLOTS:
            parts.append(
                f'<div class="version"><h3>Method {slot}</h3>'
                f'<video controls preload="metadata" src="/media/{e(v["media"][slot])}.mp4"></video></div>'
            )
        parts.append("</div>")
        for q in design.QUESTIONS:
            qid = f"{vid}.{q.key}"
            parts.append(f'<fieldset><legend>{e(q.prompt)}</legend><table class="rank"><tr><th></th>')
            parts += [f"<th>{r + 1}: {e(word)}</th>" for r, word in enumerate(q.ranks)]
            parts.append("</tr>")
            for slot in design.SLOTS:
                name = f"rank.{qid}.{slot}"
                parts.append(f"<tr><th>Method {slot}</th>")
                parts += [
                    f'<td><input type="radio" name="{e(name)}" value="{r}" data-q="{e(qid)}" required '
                    f'aria-label="Method {slot}, rank {r}"></td>'
                    for r in (1, 2, 3)
                ]
                parts.append("</tr>")
            parts.append("</table></fieldset>")
        parts.append("</section>")
    parts += [
        f"<fieldset><legend>{e(design.THEORY_PROMPT)}</legend>",
        '<label><input type="radio" name="music_theory" value="yes" required> Yes</label> ',
        '<label><input type="radio" name="music_theory" value="no" required> No</label>',
        "</fieldset>",
        '<p><button type="submit">Submit answers</button></p>',
        "</form>",
        f"<script>{_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
