"""Embedded demo data: a seeded, offline, LMD/MSD/Spotify/video/audio/text corpus
with ground truth beside it, so every later stage runs end to end without downloads.

Pure API (no Prefect; every function is deterministic in its seed):
    midi_corpus.build_midi_corpus(out_dir, seed, n_midi, n_duplicates) -> ground truth (midi.json)
    lmd_tables.build_lmd_tables(out_dir, midi_gt, seed, ground_truth_dir)  -> tables + lmd.json
    videos.build_videos(out_dir, seed, n_videos, min_s, max_s)           -> ground truth (videos.json)
    audio.build_audio(out_dir, seed, n_audio)                             -> ground truth (audio.json)
    text.build_goemotions(out_dir, seed, n_text)                          -> rows per split
    build.build_demo_corpus / build.build_demo_videos: small trees for tests (the `demo_corpus` and
    `demo_videos` fixtures in tests/conftest.py).
The `demo_data` flow (flows/demo_data.py) builds the full tree into data/demo with one cached
Prefect task per item. Layout: docs/data_layout.md.
"""
