"""Short demo videos with known scene cuts (§5.1), motion, on-screen text and varied audio.

Frames are drawn with numpy (plus OpenCV's Hershey font for text) and piped to ffmpeg (libx264,
yuv420p, AAC, bit-exact flags, one thread), so a seed gives byte-identical files.

- Scenes differ strongly (hue rotated ~137 degrees, dark <-> light) and are joined by hard cuts.
  A cut's ground-truth time is the first frame of the new scene / fps (frame-exact).
- Inside a scene a smooth texture pans (<= 1.5 px/frame) and shapes move (<= 4 px/frame): motion
  that must not look like a cut.
- Some videos hold two cuts closer than 4 s (the §5.1 boundary filter drops the second).
- Text videos show a large black-on-white caption for the whole clip (words in ground truth).
- Audio: espeak-ng speech, a FluidSynth render of a corpus song, digital silence, or no audio
  stream at all (video 2).
- Planted labels for the classifiers (§5.2.2, §5.2.3): video i carries emotion EMOTIONS[i % 6] and
  that emotion's genres (`PLANTED_GENRES`). The emotion shows as a band of its colour across the top
  of every frame (`EMOTION_STYLE`: hue, saturation, value) and, where there is speech or music, as a
  quiet sine tone of its pitch mixed into the sound; both are recorded in the ground truth.

    gt = build_videos(out_dir, seed=1234, n_videos=12)   # <out_dir>/<video_id>.mp4 + ground truth
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError
from emsync.core.io import write_bytes
from emsync.demo.midi_corpus import item_rng
from emsync.models.vemoclap import EMOTIONS

SIZES = [(320, 240), (160, 120), (640, 360), (426, 240), (320, 180), (400, 224)]
FPS = [25, 30, 24]
TEXTS = ["HELLO WORLD", "SUMMER TRIP", "OPEN ROAD", "GOOD MORNING", "THE RIVER", "HAPPY DAYS"]
SPEECH = [
    "Welcome to the demo. Today we walk along the river and watch the city lights.",
    "The weather is calm and the sky is clear. Everyone is happy to be here.",
    "This is a short story about a long road, a small car and a very old song.",
    "Please listen carefully. The next scene starts soon, and then the music begins.",
]


# emotion -> (hue in degrees, saturation, value, tone Hz): warm/bright for joy and surprise,
# dark/cold for fear and sadness (the learnable signal; not a claim about real videos)
EMOTION_STYLE = {
    "anger": (0.0, 0.95, 0.85, 330.0),
    "disgust": (95.0, 0.8, 0.5, 415.0),
    "fear": (275.0, 0.8, 0.3, 523.0),
    "joy": (55.0, 0.9, 1.0, 659.0),
    "sadness": (220.0, 0.7, 0.4, 784.0),
    "surprise": (315.0, 0.9, 0.95, 988.0),
}
PLANTED_GENRES = {
    "anger": ["Action", "Crime"],
    "disgust": ["Horror", "Crime"],
    "fear": ["Horror", "Thriller"],
    "joy": ["Comedy", "Family"],
    "sadness": ["Drama", "Romance"],
    "surprise": ["Adventure", "Fantasy"],
}
BAND = 0.12  # height of the emotion band, as a fraction of the frame height
TONE_LEVEL = 0.2  # amplitude of the planted tone (full scale 1.0)


def video_id(index: int) -> str:
    return f"demo{index:02d}"


def plan_video(seed: int, index: int, min_s=10.0, max_s=60.0) -> dict:
    """Everything about one video, decided up front (the ground truth plus drawing parameters)."""
    rng = item_rng(seed, "video", index)
    w, h = SIZES[index % len(SIZES)]
    fps = FPS[index % len(FPS)]
    audio = ["speech", "music", "none"][index] if index < 3 else ["silence", "speech", "music"][index % 3]
    text = TEXTS[(index // 2) % len(TEXTS)] if index % 2 == 0 and w >= 320 else None
    dur = max_s if index == 5 else float(rng.uniform(min_s, min(max_s, 2 * min_s)))
    n = int(round(dur * fps))
    # scene lengths; every third video hides a pair of cuts < 4 s apart
    cuts, f = [], 0
    short_at = int(rng.integers(1, 3)) if index % 3 == 0 else -1
    while True:
        s = len(cuts)
        length = rng.uniform(1.5, 3.2) if s == short_at else rng.uniform(2.5, 6.5)
        f += int(round(length * fps))
        if f > n - int(1.5 * fps):
            break
        cuts.append(f)
    scenes = []
    base_hue = float(rng.uniform(0, 360))
    for s in range(len(cuts) + 1):
        scenes.append(
            {
                "hue": (base_hue + 137.0 * s) % 360,
                "light": bool(s % 2),
                "pan": [float(rng.uniform(-1.5, 1.5)), float(rng.uniform(-1.0, 1.0))],
                "grid": int(rng.integers(3, 7)),
                "shapes": [
                    {
                        "kind": str(rng.choice(["circle", "rect"])),
                        "r": float(rng.uniform(0.08, 0.18)) * h,
                        "pos": [float(rng.uniform(0.2, 0.8)) * w, float(rng.uniform(0.2, 0.7)) * h],
                        "vel": [float(rng.uniform(-4, 4)), float(rng.uniform(-3, 3))],
                        "hue": float(rng.uniform(0, 360)),
                    }
                    for _ in range(int(rng.integers(1, 4)))
                ],
            }
        )
    return {
        "video_id": video_id(index),
        "index": index,
        "width": w,
        "height": h,
        "fps": fps,
        "n_frames": n,
        "duration": round(n / fps, 6),
        "cut_frames": cuts,
        "cuts": [round(c / fps, 6) for c in cuts],
        "audio": audio,
        "text": text,
        "speech_text": SPEECH[index % len(SPEECH)] if audio == "speech" else None,
        "music_song": index if audio == "music" else None,
        "scenes": scenes,
        "emotion": EMOTIONS[index % len(EMOTIONS)],
        "genres": PLANTED_GENRES[EMOTIONS[index % len(EMOTIONS)]],
    }


def emotion_change_plan(
    seed: int, emotions=("joy", "sadness"), scene_s: float = 5.0, index: int = 3, light_first: bool = False, band: float = 0.4
) -> dict:
    """A demo video plan whose planted emotion changes at its cuts (emotion per scene): scene k
    lasts `scene_s` and shows the band of `emotions[k]`; scenes alternate dark/light (the first dark
    unless `light_first`) with the hue rotated, so every change is a hard cut (and a boundary when
    scene_s >= 4). The emotion band covers `band` of the frame height (0.4: one scene's few frames
    carry it clearly; the demo set's is BAND). Silent audio (no planted tone). `encode_video(plan, seed)` makes the mp4;
    plan["cuts"] / plan["emotions"] are the truth."""
    plan = plan_video(seed, index, scene_s, scene_s)
    fps, k = plan["fps"], len(emotions)
    n = int(round(k * scene_s * fps))
    cut_frames = [int(round(i * scene_s * fps)) for i in range(1, k)]
    base = plan["scenes"][0]
    scenes = [
        {**base, "hue": (base["hue"] + 137.0 * i) % 360, "light": bool((i + light_first) % 2), "emotion": e} for i, e in enumerate(emotions)
    ]
    return {
        **plan,
        "video_id": f"{plan['video_id']}_" + "_".join(emotions),
        "n_frames": n,
        "duration": round(n / fps, 6),
        "cut_frames": cut_frames,
        "cuts": [round(c / fps, 6) for c in cut_frames],
        "audio": "silence",
        "text": None,
        "speech_text": None,
        "music_song": None,
        "scenes": scenes,
        "band": band,
        "emotion": emotions[0],
        "emotions": list(emotions),
        "genres": PLANTED_GENRES[emotions[0]],
    }


def planted_signal(emotion: str) -> dict:
    """The band colour (RGB uint8) and tone pitch that carry `emotion` in a demo video."""
    hue, sat, val, hz = EMOTION_STYLE[emotion]
    rgb = (_hsv(hue, sat, val) * 255).round().astype(np.uint8)
    return {"band_rgb": [int(c) for c in rgb], "band_height": BAND, "tone_hz": hz, "tone_level": TONE_LEVEL}


# --------------------------------------------------------------------------------------------
# drawing (numpy only: elementwise float64 maths is bit-exact everywhere)


def _hsv(hue, s, v):
    """HSV (hue in degrees, s, v in [0, 1]) -> float RGB in [0, 1]; v may be an array."""
    c = v * s
    hp = (hue % 360) / 60.0
    x = c * (1 - abs(hp % 2 - 1))
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(hp) % 6]
    m = v - c
    return np.stack(
        [np.broadcast_to(r + m, np.shape(v)), np.broadcast_to(g + m, np.shape(v)), np.broadcast_to(b + m, np.shape(v))], axis=-1
    )


def _texture(rng, grid, th, tw):
    """A smooth periodic texture in [0, 1] (bilinear upsample of a grid x grid random lattice)."""
    lat = rng.random((grid, grid))
    y = np.arange(th) * grid / th
    x = np.arange(tw) * grid / tw
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    y1, x1 = (y0 + 1) % grid, (x0 + 1) % grid
    a, b = lat[y0][:, x0], lat[y0][:, x1]
    c, d = lat[y1][:, x0], lat[y1][:, x1]
    return a * (1 - fy) * (1 - fx) + b * (1 - fy) * fx + c * fy * (1 - fx) + d * fy * fx


def _caption(text, w, h):
    """(banner RGB uint8, y0): black text on a white band across the lower part of the frame."""
    import cv2

    bh = int(h * 0.24)
    band = np.full((bh, w, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_DUPLEX
    scale = 1.0
    (tw, th), _ = cv2.getTextSize(text, font, scale, 2)
    scale = min((0.86 * w) / tw, (0.62 * bh) / th)
    thick = max(2, int(round(scale * 2)))
    (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
    cv2.putText(band, text, ((w - tw) // 2, (bh + th) // 2), font, scale, (0, 0, 0), thick, cv2.LINE_8)
    return band, h - bh - int(h * 0.04)


def render_frames(plan: dict, seed: int):
    """Yield the video's frames as (h, w, 3) uint8 RGB arrays."""
    w, h, n = plan["width"], plan["height"], plan["n_frames"]
    bounds = [0] + plan["cut_frames"] + [n]
    caption = _caption(plan["text"], w, h) if plan["text"] else None
    band_h = max(2, int(round(plan.get("band", BAND) * h)))
    yy, xx = np.mgrid[0:h, 0:w]
    for s, sc in enumerate(plan["scenes"]):
        band_rgb = np.array(planted_signal(sc.get("emotion", plan["emotion"]))["band_rgb"], np.uint8)  # a scene may plant its own
        rng = item_rng(seed, "scene", plan["index"], s)
        th, tw = 2 * h, 2 * w
        tex = _texture(rng, sc["grid"], th, tw)
        # light scenes are pale and bright, dark ones deep and dim: a cut moves luma by ~70 %
        v = (0.80 + 0.18 * tex) if sc["light"] else (0.06 + 0.16 * tex)
        bg = (_hsv(sc["hue"], 0.3 if sc["light"] else 0.75, v) * 255).round().astype(np.uint8)  # (th, tw, 3)
        bg = np.concatenate([bg, bg[:h]], axis=0)
        bg = np.concatenate([bg, bg[:, :w]], axis=1)  # wrap-padded: any (oy, ox) window is a slice
        colors = {id(sh): (_hsv(sh["hue"], 0.9, 0.35 if sc["light"] else 0.95) * 255).round().astype(np.uint8) for sh in sc["shapes"]}
        for f in range(bounds[s], bounds[s + 1]):
            k = f - bounds[s]
            oy = int(np.floor(k * sc["pan"][1])) % th
            ox = int(np.floor(k * sc["pan"][0])) % tw
            frame = bg[oy : oy + h, ox : ox + w].copy()
            for sh in sc["shapes"]:
                cx = _bounce(sh["pos"][0] + sh["vel"][0] * k, w)
                cy = _bounce(sh["pos"][1] + sh["vel"][1] * k, h)
                r = sh["r"]
                y0, y1 = max(0, int(cy - r) - 1), min(h, int(cy + r) + 2)
                x0, x1 = max(0, int(cx - r) - 1), min(w, int(cx + r) + 2)
                ys, xs = yy[y0:y1, x0:x1], xx[y0:y1, x0:x1]
                if sh["kind"] == "circle":
                    mask = (xs - cx) ** 2 + (ys - cy) ** 2 <= r**2
                else:
                    mask = (np.abs(xs - cx) <= r) & (np.abs(ys - cy) <= 0.7 * r)
                frame[y0:y1, x0:x1][mask] = colors[id(sh)]
            frame[:band_h] = band_rgb  # the planted emotion
            if caption is not None:
                band, y0 = caption
                frame[y0 : y0 + band.shape[0]] = band
            yield frame


def _bounce(p, size):
    """Reflect a coordinate into [0, size): shapes bounce off the frame edges."""
    period = 2 * size
    q = p % period
    return q if q < size else period - q


# --------------------------------------------------------------------------------------------
# audio and encoding


def _audio_wav(plan: dict, seed: int, tmp: Path):
    if plan["audio"] == "speech":
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise InputError("espeak-ng not found on PATH (apt-get install espeak-ng)")
        out = tmp / "speech.wav"
        subprocess.run([exe, "-v", "en", "-s", "150", "-w", str(out), plan["speech_text"]], check=True, capture_output=True)
        return out
    if plan["audio"] == "music":
        from emsync.demo.audio import render_midi
        from emsync.demo.midi_corpus import song_for, song_to_midi

        out = tmp / "music.wav"
        out.write_bytes(render_midi(song_to_midi(song_for(seed, plan["music_song"]))))
        return out
    return None


def encode_video(plan: dict, seed: int) -> bytes:
    """The video's mp4 bytes (H.264 yuv420p + AAC 44.1 kHz stereo, or no audio stream)."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise InputError("ffmpeg not found on PATH (apt-get install ffmpeg)")
    w, h, fps = plan["width"], plan["height"], plan["fps"]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        out = tmp / "out.mp4"
        cmd = [
            exe,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{w}x{h}",
            "-r",
            str(fps),
            "-i",
            "pipe:0",
        ]
        wav = _audio_wav(plan, seed, tmp)
        if wav is not None:  # speech or music, plus the planted tone to mix in
            hz = planted_signal(plan["emotion"])["tone_hz"]
            cmd += ["-i", str(wav), "-f", "lavfi", "-i", f"sine=frequency={hz}:sample_rate=44100"]
        elif plan["audio"] == "silence":
            cmd += ["-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo"]
        cmd += [
            "-map",
            "0:v",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            "-threads",
            "1",
        ]  # the pipe holds exactly n frames
        if plan["audio"] != "none":
            d = f"{plan['duration']:.6f}"
            pad = f"apad=whole_dur={d},atrim=end={d}"  # exactly as long as the video
            if wav is not None:
                cmd += [
                    "-filter_complex",
                    f"[1:a]aresample=44100,aformat=channel_layouts=stereo,{pad}[s];"
                    f"[2:a]volume={TONE_LEVEL},aformat=channel_layouts=stereo,atrim=end={d}[t];"
                    "[s][t]amix=inputs=2:duration=first:normalize=0[a]",
                    "-map",
                    "[a]",
                ]
            else:
                cmd += ["-map", "1:a", "-af", pad]
            cmd += ["-c:a", "aac", "-b:a", "96k", "-ar", "44100", "-ac", "2"]
        cmd += ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1", "-f", "mp4", str(out)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for frame in render_frames(plan, seed):
                proc.stdin.write(frame.tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0 or not out.exists():
            raise InputError(f"ffmpeg failed on demo video {plan['video_id']}: {err.strip()[-300:]}")
        return out.read_bytes()


def ground_truth_entry(plan: dict, seed: int) -> dict:
    keys = ["duration", "fps", "width", "height", "cuts", "cut_frames", "n_frames", "audio", "text", "speech_text", "emotion", "genres"]
    e = {k: plan[k] for k in keys}
    e["planted"] = planted_signal(plan["emotion"])
    if plan["audio"] not in ("speech", "music"):
        e["planted"]["tone_hz"] = None  # no sound to carry it
    e["music_midi_id"] = None  # music = the render of this corpus MIDI file
    if plan["audio"] == "music":
        from emsync.demo.midi_corpus import md5, song_for, song_to_midi

        e["music_midi_id"] = md5(song_to_midi(song_for(seed, plan["music_song"])))
    return e


def render_video_item(seed: int, index: int, min_s=10.0, max_s=60.0) -> tuple:
    """(mp4 bytes, ground-truth entry) of video `index`. Pure and deterministic."""
    plan = plan_video(seed, index, min_s, max_s)
    return encode_video(plan, seed), ground_truth_entry(plan, seed)


def build_videos(out_dir, seed=1234, n_videos=12, min_s=10.0, max_s=60.0) -> dict:
    """Write <out_dir>/<video_id>.mp4; return {video_id: ground-truth entry}."""
    gt = {}
    for i in range(n_videos):
        data, e = render_video_item(seed, i, min_s, max_s)
        write_bytes(Path(out_dir) / f"{video_id(i)}.mp4", data)
        gt[video_id(i)] = e
    return gt
