"""Tiny batch-soundtrack trees for the study tests, in the `soundtrack` stage's layout:
<root>/<video_id>/<condition>.{mp4,json}. Each MP4 is made by real ffmpeg (H.264 + AAC, 0.6 s)
and carries its condition name in its container metadata, so a test can see the build strip it."""

import json
import subprocess
from pathlib import Path

CONDITIONS = ("emsync", "no_boundaries", "neutral", "random_emotion")


def make_soundtracks(root, video_ids, conditions=CONDITIONS) -> Path:
    root = Path(root)
    for i, vid in enumerate(video_ids):
        for j, cond in enumerate(conditions):
            d = root / vid
            d.mkdir(parents=True, exist_ok=True)
            freq = 220 * (j + 1)
            cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
            cmd += ["-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration=0.6,hue=h={40 * i}"]
            cmd += ["-f", "lavfi", "-i", f"sine=frequency={freq}:duration=0.6:sample_rate=22050"]
            cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]
            cmd += ["-metadata", f"title={cond}", "-metadata", f"comment=condition {cond} of {vid}", str(d / f"{cond}.mp4")]
            subprocess.run(cmd, check=True)
            (d / f"{cond}.json").write_text(json.dumps({"video_id": vid, "condition": cond}))
    return root
