"""A one-page HTML report of one soundtrack (`emsync soundtrack ... --report out.html`): the scored
video (picture and the music, playable), and under it the video's timeline with its scene cuts,
the §5.1 boundaries the music was conditioned on, the detected speech, the emotion curve
(valence and arousal), the generated chords and a piano roll of every note; a playhead follows
the video and a click on the timeline seeks it. One file: inline SVG, CSS and a few lines of
script; the video is linked by its path relative to the report.
"""

import html
import os
from pathlib import Path

W, LEFT = 1000, 90  # SVG width and the label column (px)
LANES = {"cuts": (8, 30), "speech": (44, 16), "emotion": (70, 80), "chords": (160, 16), "notes": (186, 180)}  # name: (y, height)
H = 392
COLOURS = {0: "#7f7f7f", 1: "#8c564b", 2: "#2ca02c", 3: "#1f77b4", 4: "#9467bd"}  # drums, bass, guitar, piano, strings


def _x(t: float, duration: float) -> float:
    return round(LEFT + (W - LEFT - 10) * max(0.0, min(t, duration)) / duration, 2)


def _svg(s: dict, notes) -> str:
    """The timeline as SVG elements (each mark carries a class the tests and readers can find)."""
    from emsync.music import vocab as V

    d = max(float(s["duration_s"]), 1e-3)
    out = []
    if s.get("rescore"):  # a re-score: the music kept from the previous run
        k = float(s["rescore"]["kept_until_s"])
        out.append(f'<rect class="kept" x="{LEFT}" y="0" width="{_x(k, d) - LEFT}" height="{H - 20}"><title>kept from '
                   f'{html.escape(str(s["rescore"]["previous"]))} up to {k:.2f} s</title></rect>')  # fmt: skip
    out += [f'<text class="lane" x="4" y="{y + h / 2 + 4}">{name}</text>' for name, (y, h) in LANES.items()]
    y, h = LANES["cuts"]
    out += [f'<line class="cut" x1="{_x(c, d)}" x2="{_x(c, d)}" y1="{y}" y2="{y + h}"><title>cut {c:.2f} s</title></line>'
            for c in s["cuts"] if c < d]  # fmt: skip
    out += [f'<line class="boundary" x1="{_x(b, d)}" x2="{_x(b, d)}" y1="{y}" y2="{H - 22}"><title>boundary {b:.2f} s</title></line>'
            for b in s["boundaries"]]  # fmt: skip
    y, h = LANES["speech"]
    out += [f'<rect class="speech" x="{_x(a, d)}" y="{y}" width="{max(_x(b, d) - _x(a, d), 1)}" height="{h}"><title>speech '
            f"{a:.2f}-{b:.2f} s</title></rect>" for a, b in (s.get("speech") or [])]  # fmt: skip
    y, h = LANES["emotion"]
    curve = s.get("emotion_curve") or [{"start": 0.0, "end": d, "valence": s["valence"], "arousal": s["arousal"]}]
    for key, cls in (("valence", "valence"), ("arousal", "arousal")):
        pts = []
        for c in curve:
            v = y + h / 2 - float(c[key]) * h / 2
            pts += [f"{_x(c['start'], d)},{v:.1f}", f"{_x(c['end'], d)},{v:.1f}"]
        out.append(f'<polyline class="{cls}" points="{" ".join(pts)}"><title>{key}</title></polyline>')
    out.append(f'<line class="zero" x1="{LEFT}" x2="{W - 10}" y1="{y + h / 2}" y2="{y + h / 2}"/>')
    out += [f'<text class="tick" x="{LEFT - 12}" y="{yy + 4}">{t}</text>' for yy, t in ((y, "+1"), (y + h / 2, "0"), (y + h, "-1"))]
    y, h = LANES["chords"]
    out += [f'<path class="chord" d="M{_x(c, d)} {y} l5 {h / 2} l-5 {h / 2} l-5 {-h / 2} z"><title>chord {c:.2f} s</title></path>'
            for c in s["chord_times"] if c <= d]  # fmt: skip
    y, h = LANES["notes"]
    span = V.PITCH_MAX - V.PITCH_MIN + 1
    for ins, pitch, on, off in notes:
        if on >= d:
            continue
        py = y + h - (pitch - V.PITCH_MIN + 1) * h / span
        out.append(f'<rect class="note" x="{_x(on, d)}" y="{py:.1f}" width="{max(_x(off, d) - _x(on, d), 1)}" height="{max(h / span, 2):.1f}" '
                   f'fill="{COLOURS[ins]}"><title>{V.INSTRUMENTS[ins].lower()} {pitch} {on:.2f}-{off:.2f} s</title></rect>')  # fmt: skip
    step = next(x for x in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800) if d / x <= 12)
    out += [f'<text class="tick" x="{_x(t, d)}" y="{H - 6}">{int(t // 60)}:{int(t % 60):02d}</text>'
            for t in range(0, int(d) + 1, step)]  # fmt: skip
    out.append(f'<line id="playhead" x1="{LEFT}" x2="{LEFT}" y1="0" y2="{H - 20}"/>')
    return "\n".join(out)


CSS = """body{font:14px system-ui,sans-serif;margin:20px;color:#222}video{width:640px;max-width:100%;background:#000;display:block;margin:8px 0}
svg{border:1px solid #ccc;cursor:pointer;background:#fff}.lane{font-size:12px;fill:#555}.tick{font-size:11px;fill:#777;text-anchor:middle}
.cut{stroke:#999;stroke-width:1}.boundary{stroke:#e6550d;stroke-width:2.5;stroke-dasharray:5 3}.speech{fill:#6baed6;opacity:.7}
.valence{stroke:#31a354;stroke-width:2;fill:none}.arousal{stroke:#de2d26;stroke-width:2;fill:none}.zero{stroke:#ddd}
.chord{fill:#d62728}.kept{fill:#e5f5e0}#playhead{stroke:#000;stroke-width:1.5}table{border-collapse:collapse}td{padding:2px 10px 2px 0}"""

SCRIPT = """const v=document.getElementById('player'),svg=document.getElementById('timeline'),ph=document.getElementById('playhead');
const D=%s,L=%d,R=%d;function x(t){return L+(R-L)*Math.min(Math.max(t,0),D)/D}
v.addEventListener('timeupdate',()=>{const p=x(v.currentTime);ph.setAttribute('x1',p);ph.setAttribute('x2',p)});
svg.addEventListener('click',e=>{const r=svg.getBoundingClientRect(),px=(e.clientX-r.left)*%d/r.width;if(px>=L){v.currentTime=(px-L)/(R-L)*D}});"""


def report_html(s: dict, notes, video_src: str) -> str:
    """The page for summary `s`, `notes` [(instrument, pitch, on_s, off_s)], the scored video at `video_src`."""
    e = html.escape
    hits = f"{s['boundaries_hit']}/{len(s['boundaries'])} boundaries got a chord within {s['hit_tolerance_s']:g} s"
    dialogue = s.get("dialogue") or {}
    rows = [
        ("video", f"{s['video']} ({s['duration_s']:.2f} s)"),
        ("emotion", f"valence {s['valence']:+.3f}, arousal {s['arousal']:+.3f} ({s['emotion_source']})"),
        ("music", f"{s['notes']} notes, {len(s['chord_times'])} chords; {hits}"),
        (
            "speech",
            f"{len(s.get('speech') or [])} segment(s)"
            + (f", the music {dialogue['duck_db']:g} dB lower under it" if dialogue.get("mixed") else ""),
        ),
        ("weights", str(s.get("weights") or Path(str(s["checkpoint"])).name)),
    ]
    table = "".join(f"<tr><td><b>{e(k)}</b></td><td>{e(v)}</td></tr>" for k, v in rows)
    legend = " ".join(
        f'<span style="color:{c}">&#9632; {n}</span>' for n, c in zip(("drums", "bass", "guitar", "piano", "strings"), COLOURS.values())
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>emsync soundtrack: {e(Path(s["video"]).name)}</title><style>{CSS}</style></head>
<body><h1>emsync soundtrack: {e(Path(s["video"]).name)}</h1>
<video id="player" controls preload="auto" src="{e(video_src)}"></video>
<table>{table}</table>
<p>cuts (grey), <span style="color:#e6550d">boundaries</span>, <span style="color:#3182bd">speech</span>,
<span style="color:#31a354">valence</span> / <span style="color:#de2d26">arousal</span> (-1..1), <span style="color:#d62728">chords</span>; {legend}</p>
<svg id="timeline" viewBox="0 0 {W + 10} {H}" width="{W + 10}" height="{H}" xmlns="http://www.w3.org/2000/svg">
{_svg(s, notes)}
</svg>
<script>{SCRIPT % (float(s["duration_s"]), LEFT, W - 10, W + 10)}</script>
</body></html>
"""


def write_report(path, s: dict, decoded) -> Path:
    """Write the report of summary `s` and its decoded music to `path` (atomically); the scored
    video is linked by its path relative to the report's folder."""
    from emsync.core.io import write_text
    from emsync.music.tokenizer import STEP_S

    path = Path(path)
    n = decoded.notes
    notes = [(int(i), int(p), float(a) * STEP_S, float(b) * STEP_S) for i, p, a, b in zip(n.instrument, n.pitch, n.on, n.off)]
    video = Path(s["outputs"]["video"]).resolve()
    src = Path(os.path.relpath(video, path.resolve().parent)).as_posix()
    write_text(path, report_html(s, notes, src))
    return path
