"""Lakh MIDI labelling (thesis §3.1, §4.3): validation, content dedup, MIDI features, MSD/Spotify
matching, Spotify audio features (API or archive), valence/arousal labels and the report."""
