"""The thesis author's published lyric labels (Emotion4MIDI, §3.2.3.2) as a label source.

`7labels.csv` / `28labels.csv`: one row per MIDI file (`file` = `lakh/<hex>/<md5>.mid` or
`reddit/<letter>/<name>.mid`, 12,509 rows), one column per label with the raw sigmoid output.
Imported into the lyric-label layout (emsync/lyrics/labels.py) keyed by `midi_id`, so a user with
LMD-full gets the thesis's lyric labels without training anything.

    df = load_archive("../shared/data/lyrics_emotions")   # midi_id, archive_file, dataset, p7_*, p28_*
"""

from pathlib import Path

import pandas as pd

from emsync.core.errors import InputError
from emsync.lyrics.labels import LABEL_SETS, columns


def _read(path: Path, n: int) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"{path}: lyric-label archive not found")
    df = pd.read_csv(path)
    want = ["file", *LABEL_SETS[n]]
    missing = [c for c in want if c not in df.columns]
    if missing:
        raise InputError(f"{path}: not a {n}-label archive (missing columns {missing})")
    if df["file"].duplicated().any():
        raise InputError(f"{path}: {int(df['file'].duplicated().sum())} duplicate file rows")
    return df[want].rename(columns=dict(zip(LABEL_SETS[n], columns(n))))


def load_archive(folder) -> pd.DataFrame:
    """The two CSVs under `folder` joined on `file`, keyed by midi_id: the project's key for the
    archive's relative paths (emsync.music.midi_ids: the stem, i.e. the LMD md5, unless stems repeat).
    Rows sorted by midi_id."""
    from emsync.music.midi_ids import midi_ids

    folder = Path(folder)
    d7, d28 = _read(folder / "7labels.csv", 7), _read(folder / "28labels.csv", 28)
    df = d7.merge(d28, on="file", how="outer", validate="one_to_one")
    keys = midi_ids(df["file"].tolist(), ".")
    df.insert(0, "midi_id", df["file"].map(keys))
    df.insert(1, "dataset", df["file"].str.split("/").str[0])
    df = df.rename(columns={"file": "archive_file"})
    dup = df["midi_id"].duplicated(keep=False)
    if dup.any():  # two archive paths with one key would be two rows for one file
        raise InputError(f"{folder}: archive paths {df.loc[dup, 'archive_file'].head(3).tolist()} share a midi_id")
    return df.sort_values("midi_id").reset_index(drop=True)
