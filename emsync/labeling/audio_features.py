"""The Spotify audio-features columns (§3.1.3): the numeric fields of the Web API's audio-features
object, as the labelling stage keeps them and the demo's stand-in catalogue writes them."""

AUDIO_FEATURES = [
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
    "time_signature",
]
