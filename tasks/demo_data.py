"""Prefect tasks of the demo_data stage: one per MIDI file, video and audio render. Each returns
the bytes plus its ground-truth entry; the flow writes the files. `code` (the emsync/demo source
digest) is part of every cache key, so editing the generator re-renders."""

from emsync.pipeline.flowkit import cached_task


@cached_task(name="demo-midi")
def demo_midi(item: dict, seed: int, code: str) -> tuple:
    """(bytes, entry) of one planned corpus item."""
    from emsync.demo.midi_corpus import render_midi_item

    return render_midi_item(seed, item)


@cached_task(name="demo-video")
def demo_video(index: int, seed: int, min_s: float, max_s: float, code: str) -> tuple:
    """(mp4 bytes, entry) of video `index`."""
    from emsync.demo.videos import render_video_item

    return render_video_item(seed, index, min_s, max_s)


@cached_task(name="demo-audio")
def demo_audio(index: int, seed: int, sample_rate: int, code: str) -> tuple:
    """(wav bytes, entry) of corpus song `index` rendered with FluidSynth."""
    from emsync.demo.audio import render_audio_item

    return render_audio_item(seed, index, sample_rate)


@cached_task(name="demo-lmd-tables")
def demo_lmd_tables(midi_gt: dict, seed: int, code: str) -> dict:
    """MSD / match-score / Spotify tables for the corpus."""
    from emsync.demo.lmd_tables import make_lmd_tables

    return make_lmd_tables(midi_gt, seed)


@cached_task(name="demo-goemotions")
def demo_goemotions(seed: int, n_text: int, code: str) -> dict:
    from emsync.demo.text import make_goemotions

    return make_goemotions(seed, n_text)
