"""The study's answers in one DuckDB file (default <study>/responses.duckdb).

    submissions(token PRIMARY KEY, page_id, music_theory, submitted_at)
    answers(token, video_id, question, condition, slot, rank)   -- one row per method per question

`video_id` and `condition` are the real ones, mapped back from the page's opaque ids by the server.
A submission is written in one transaction: all its rows or none. The primary key makes a second
submission with the same token fail inside the database too, not only in the server's check.
Each call opens and closes its own connection, so `emsync study report` can read the file while
`emsync study serve` runs (between submissions).
"""

import threading
import time
from pathlib import Path

import duckdb

from emsync.core.errors import InputError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    token VARCHAR PRIMARY KEY,
    page_id VARCHAR NOT NULL,
    music_theory BOOLEAN NOT NULL,
    submitted_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS answers (
    token VARCHAR NOT NULL,
    video_id VARCHAR NOT NULL,
    question VARCHAR NOT NULL,
    condition VARCHAR NOT NULL,
    slot VARCHAR NOT NULL,
    rank TINYINT NOT NULL CHECK (rank BETWEEN 1 AND 3),
    PRIMARY KEY (token, video_id, question, condition)
);
"""

_LOCK = threading.Lock()  # one writer at a time within the server process


class AlreadySubmitted(Exception):
    """This participant token has a stored submission."""


def _connect(db_path, read_only: bool = False, wait_s: float = 10.0):
    """A connection; while another process holds the file (a report being read), retry for `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def init(db_path) -> None:
    with _LOCK, _connect(db_path) as con:
        con.execute(_SCHEMA)


def has_submitted(db_path, token: str) -> bool:
    with _LOCK, _connect(db_path) as con:
        return con.execute("SELECT count(*) FROM submissions WHERE token = ?", [token]).fetchone()[0] > 0


def store_submission(db_path, token: str, page_id: str, music_theory: bool, rows: list[tuple]) -> None:
    """Store one participant's answers; rows = (video_id, question, condition, slot, rank).
    Raises AlreadySubmitted (nothing written) when the token has answered before."""
    with _LOCK, _connect(db_path) as con:
        con.execute(_SCHEMA)
        con.execute("BEGIN TRANSACTION")
        try:
            if con.execute("SELECT count(*) FROM submissions WHERE token = ?", [token]).fetchone()[0]:
                raise AlreadySubmitted(token)
            con.execute("INSERT INTO submissions (token, page_id, music_theory) VALUES (?, ?, ?)", [token, page_id, music_theory])
            con.executemany("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?)", [(token, *r) for r in rows])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def read_answers(db_path):
    """All answers with the participant's group: a DataFrame (token, video_id, question, condition,
    slot, rank, music_theory)."""
    path = Path(db_path)
    if not path.is_file():
        raise InputError(f"{path}: no responses database (run `emsync study serve` and collect answers first)")
    try:
        with _connect(path, read_only=True) as con:
            return con.execute(
                "SELECT a.token, a.video_id, a.question, a.condition, a.slot, a.rank, s.music_theory "
                "FROM answers a JOIN submissions s USING (token) ORDER BY a.token, a.video_id, a.question, a.condition"
            ).df()
    except duckdb.IOException as e:
        raise InputError(f"{path}: cannot open the responses database ({e}); is a server writing to it right now?") from None
    except duckdb.CatalogException:
        raise InputError(f"{path}: not a study responses database (no answers/submissions tables)") from None
