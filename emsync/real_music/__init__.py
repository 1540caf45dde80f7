"""Real, public-domain training music: works from the music21 wheel's corpus converted to MIDI in
the tokenizer's instruments (convert.py), labelled with valence/arousal from the music itself
(labels.py), from the sources whose terms allow shipping weights trained on them (sources.py)."""
