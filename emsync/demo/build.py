"""Small demo trees for tests and other helpers: the data/demo layout (docs/data_layout.md) in any
folder, built in-process without Prefect. The `demo_data` flow builds the full-size tree."""

from dataclasses import dataclass
from pathlib import Path

from emsync.core.io import write_json


@dataclass
class DemoCorpus:
    root: Path  # the data/demo equivalent
    midi_dir: Path  # root/midi/<md5>.mid
    ground_truth: dict  # ground_truth/midi.json content
    seed: int

    def files_of_kind(self, kind):
        return sorted(h for h, e in self.ground_truth["files"].items() if e["kind"] == kind)

    def path(self, md5):
        return self.midi_dir / f"{md5}.mid"


def build_demo_corpus(root, seed=1234, n_midi=40, n_duplicates=4, **plan_kw) -> DemoCorpus:
    """MIDI corpus + ground_truth/midi.json (+ LMD/MSD/Spotify tables under root/lmd)."""
    from emsync.demo.lmd_tables import build_lmd_tables
    from emsync.demo.midi_corpus import build_midi_corpus

    root = Path(root)
    gt = build_midi_corpus(root / "midi", seed=seed, n_midi=n_midi, n_duplicates=n_duplicates, **plan_kw)
    write_json(root / "ground_truth" / "midi.json", gt)
    build_lmd_tables(root / "lmd", gt, seed=seed, ground_truth_dir=root / "ground_truth")
    return DemoCorpus(root=root, midi_dir=root / "midi", ground_truth=gt, seed=seed)


@dataclass
class DemoVideos:
    root: Path
    videos_dir: Path  # root/videos/<video_id>.mp4
    ground_truth: dict  # ground_truth/videos.json content
    seed: int

    def path(self, video_id):
        return self.videos_dir / f"{video_id}.mp4"


def build_demo_videos(root, seed=1234, n_videos=4, min_s=6.0, max_s=10.0) -> DemoVideos:
    """Videos demo00..: 00 speech + caption, 01 music (160x120), 02 no audio stream + caption
    (640x360), 03 silence; all with hard cuts, some < 4 s apart."""
    from emsync.demo.videos import build_videos

    root = Path(root)
    gt = build_videos(root / "videos", seed=seed, n_videos=n_videos, min_s=min_s, max_s=max_s)
    write_json(root / "ground_truth" / "videos.json", gt)
    return DemoVideos(root=root, videos_dir=root / "videos", ground_truth=gt, seed=seed)
