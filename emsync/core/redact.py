"""Secrets never reach an error message, a log line or the Prefect database.

`redact(text)` blanks what could carry a credential: the values of secret-looking environment
variables (and their base64 `id:secret` pair, as in a Basic auth header), Authorization headers,
Bearer/Basic tokens, and `access_token` / `client_secret` / `password`-like fields in JSON, form
bodies and query strings. `quiet_prefect_logs()` (a flow's entry point) runs every Prefect log
record through it and, unless EMSYNC_DEBUG is set, drops Prefect's error lines and tracebacks: a
stage that stops on an error ends with the one line its excepthook prints. The state message
Prefect stores is the exception's own message, redacted where it is made (e.g. SpotifyError).
"""

import base64
import logging
import os
import re

MASK = "***"
# a secret-looking variable name: the word as a whole part of it (HF_TOKEN, AWS_SECRET_ACCESS_KEY,
# GITHUB_TOKEN), not inside another word (TOKENIZERS_PARALLELISM is a switch, not a secret)
SECRET_ENV = re.compile(r"(?:^|_)(SECRETS?|TOKENS?|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|CLIENT_ID|CREDENTIALS?)(?:_|$)", re.I)
_NOT_SECRET = re.compile(r"(?i)true|false|yes|no|on|off|none|null|[-+]?[0-9]+(?:\.[0-9]+)?")  # switches and numbers
_PATTERNS = [  # (pattern, replacement)
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\n,})]+"), r"\1***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (
        re.compile(
            r"(?i)([\"']?(?:access_token|refresh_token|id_token|client_secret|client_id|password|passwd|secret|"
            r"api_key|apikey|token)[\"']?\s*[:=]\s*)(?:\"[^\"]*\"|'[^']*'|[^\s&,;)}\]]+)"
        ),
        r"\1***",
    ),
]


def _secret_values() -> list:
    vals = [v for k, v in os.environ.items() if SECRET_ENV.search(k) and v and len(v) >= 4 and not _NOT_SECRET.fullmatch(v)]
    cid, sec = os.environ.get("SPOTIPY_CLIENT_ID"), os.environ.get("SPOTIPY_CLIENT_SECRET")
    if cid and sec:
        vals.append(base64.b64encode(f"{cid}:{sec}".encode()).decode())
    return sorted(set(vals), key=len, reverse=True)


def redact(text) -> str:
    s = str(text)
    for v in _secret_values():
        s = s.replace(v, MASK)
    for pat, repl in _PATTERNS:
        s = pat.sub(repl, s)
    return s


class _RedactFilter(logging.Filter):
    def filter(self, record):
        debug = bool(os.environ.get("EMSYNC_DEBUG"))
        if not debug and record.levelno >= logging.ERROR and record.name.startswith("prefect"):
            # Prefect's failure lines and traceback: the exception propagates and the stage's last
            # line says what failed; --debug / EMSYNC_DEBUG shows them (redacted)
            return False
        try:
            msg = record.getMessage()
        except Exception:  # a malformed record: leave it to logging
            return True
        record.msg, record.args = redact(msg), None
        if record.exc_info and debug:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def quiet_prefect_logs():
    """Add the redacting filter to every handler of the Prefect loggers (and the root's)."""
    f = _RedactFilter()
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict) if n.startswith("prefect")]
    for lg in loggers:
        for h in lg.handlers:
            if not any(isinstance(x, _RedactFilter) for x in h.filters):
                h.addFilter(f)
