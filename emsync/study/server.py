"""`emsync study serve`: the survey as a small local web app (standard library `http.server`).

Routes (nothing else answers; every other path is a 404):

    GET  /                    a line saying to open one's own link
    GET  /s/<token>/          the participant's survey page (404 unknown token, 409 already answered)
    POST /s/<token>/submit    the answers (application/x-www-form-urlencoded); 303 to done/ when stored
    GET  /s/<token>/done      thank-you page
    GET  /media/<id>.mp4      a version's video (Range requests, for seeking)

Why the standard library and not FastAPI: the app has four routes and one form; http.server needs
no dependency beyond Python (FastAPI, uvicorn and python-multipart are not emsync dependencies),
and it lets the body limit act on Content-Length before the body is parsed. Static and
media routes never build a file path from the URL: a request names an id, the id must match
`[0-9a-f]{16}` *and* be one of the study's media ids, and the file is looked up in that table, so
no `..`, `%2e%2e`, absolute path or symlink trick can reach another file.

Answers are checked completely before anything is stored (see `parse_submission`); a bad request
gets a 4xx page naming the problem and stores nothing.
"""

import html
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

from emsync.study import design, responses

MAX_BODY = 64 * 1024  # a full page of answers is ~4 KB; anything bigger is refused (and not stored)
DRAIN_LIMIT = 8 << 20  # a refused body up to this size is read and dropped so the client sees the 413
_TOKEN = r"[0-9a-f]{24}"
_SURVEY = re.compile(rf"/s/({_TOKEN})/")
_SUBMIT = re.compile(rf"/s/({_TOKEN})/submit")
_DONE = re.compile(rf"/s/({_TOKEN})/done")
_MEDIA = re.compile(r"/media/([0-9a-f]{16})\.mp4")


class Rejected(Exception):
    """A request we refuse: HTTP status and a one-line reason for the participant."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_submission(study: dict, page_id: str, body: bytes) -> tuple[bool, list[tuple]]:
    """Check a page's form body; return (music_theory, rows of (video_id, question, condition, slot, rank)).

    Every field must be expected and given once: rank.<video>.<question>.<slot> for each of the
    page's videos, each question and each of A/B/C, with the ranks of one question a permutation
    of 1, 2, 3; and music_theory = yes | no. Anything else raises Rejected(400)."""
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body), max_num_fields=1000)
    except (UnicodeDecodeError, ValueError) as e:
        raise Rejected(400, f"the form data cannot be read ({e})") from None
    seen = {}
    for name, value in fields:
        if name in seen:
            raise Rejected(400, f"field {name[:80]!r} is given twice")
        seen[name] = value
    page_videos = {v["opaque"]: v for v in study["videos"] if v["opaque"] in set(_page(study, page_id)["videos"])}
    known_videos = {v["opaque"] for v in study["videos"]}

    theory = seen.pop("music_theory", None)
    if theory is None:
        raise Rejected(400, "the music theory question is not answered")
    if theory not in ("yes", "no"):
        raise Rejected(400, "music_theory must be yes or no")

    ranks = {}
    for name, value in seen.items():
        parts = name.split(".")
        if len(parts) != 4 or parts[0] != "rank":
            raise Rejected(400, f"unknown field {name[:80]!r}")
        _, vid, q, slot = parts
        if vid not in page_videos:
            what = "is on another page" if vid in known_videos else "is unknown"
            raise Rejected(400, f"video id {vid[:40]!r} {what}")
        if q not in design.QUESTION_KEYS:
            raise Rejected(400, f"unknown question {q[:40]!r}")
        if slot not in design.SLOTS:
            raise Rejected(400, f"unknown method {slot[:10]!r}")
        if value not in ("1", "2", "3"):
            raise Rejected(400, f"{name}: rank must be 1, 2 or 3")
        ranks[(vid, q, slot)] = int(value)

    rows = []
    for number, vid in enumerate(_page(study, page_id)["videos"], 1):
        v = page_videos[vid]
        for q in design.QUESTIONS:
            given = [ranks.get((vid, q.key, s)) for s in design.SLOTS]
            if None in given:
                raise Rejected(400, f"video {number}: {q.label} is not fully ranked")
            if sorted(given) != [1, 2, 3]:
                raise Rejected(400, f"video {number}: {q.label} gives the same rank twice (each of 1, 2, 3 once)")
            rows += [(v["video_id"], q.key, cond, slot, r) for slot, cond, r in zip(design.SLOTS, v["order"], given)]
    return theory == "yes", rows


def _page(study: dict, page_id: str) -> dict:
    return next(p for p in study["pages"] if p["id"] == page_id)


def _message_page(title: str, text: str) -> bytes:
    e = html.escape
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title></head>'
        f"<body><h1>{e(title)}</h1><p>{e(text)}</p></body></html>\n"
    ).encode()


class SurveyHandler(BaseHTTPRequestHandler):
    """The survey's routes (module docstring). `make_handler` binds a study to it: `study`, the
    answers' `db_path`, and the lookup tables `media` (id -> file), `pages` (page id -> file) and
    `tokens` (participant token -> page id); no path is ever built from the URL."""

    server_version = "survey/1"
    timeout = 30  # seconds a client may stall mid-request before its connection is dropped
    sys_version = ""
    study: dict = {}
    db_path = None
    media: dict = {}
    pages: dict = {}
    tokens: dict = {}

    def log_message(self, format, *args):  # participant tokens never reach the log
        sys.stderr.write(f"{self.log_date_time_string()} {re.sub(_TOKEN, '<token>', format % args)}\n")

    def _send(self, status: int, body: bytes, ctype="text/html; charset=utf-8", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _refuse(self, status: int, reason: str):
        self.close_connection = True  # an unread body must not be taken for the next request
        self._send(status, _message_page(HTTPStatus(status).phrase, reason))

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/":
            return self._send(200, _message_page("Survey", "Please open the personal survey link you were given."))
        if m := _SURVEY.fullmatch(path):
            return self._survey_page(m.group(1))
        if m := _DONE.fullmatch(path):
            if m.group(1) not in self.tokens:
                return self._refuse(404, "This survey link is not valid.")
            return self._send(200, _message_page("Thank you", "Your answers were stored."))
        if (m := _MEDIA.fullmatch(path)) and m.group(1) in self.media:
            return self._send_media(self.media[m.group(1)])
        return self._refuse(404, "Not found.")

    do_HEAD = do_GET

    def _survey_page(self, token: str):
        if token not in self.tokens:
            return self._refuse(404, "This survey link is not valid.")
        if responses.has_submitted(self.db_path, token):
            return self._refuse(409, "This survey link has already been used: your answers were stored. Thank you!")
        return self._send(200, self.pages[self.tokens[token]].read_bytes())

    def _send_media(self, path: Path):
        size = path.stat().st_size
        start, end, status, headers = 0, size - 1, 200, {"Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        if rng and (m := re.fullmatch(r"bytes=([0-9]*)-([0-9]*)", rng.strip())) and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:  # suffix: the last N bytes
                start = max(size - int(m.group(2)), 0)
            if start >= size or start > end:
                return self._send(416, b"", headers={"Content-Range": f"bytes */{size}"})
            status, headers["Content-Range"] = 206, f"bytes {start}-{end}/{size}"
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start + 1)
        return self._send(status, data, "video/mp4", headers)

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        m = _SUBMIT.fullmatch(path)
        if not m:
            return self._refuse(404, "Not found.")
        token = m.group(1)
        if token not in self.tokens:
            return self._refuse(404, "This survey link is not valid.")
        body = self._form_body()
        if body is None:  # refused already
            return None
        try:
            theory, rows = parse_submission(self.study, self.tokens[token], body)
            responses.store_submission(self.db_path, token, self.tokens[token], theory, rows)
        except Rejected as e:
            return self._refuse(e.status, e.reason)
        except responses.AlreadySubmitted:
            return self._refuse(409, "This survey link has already been used: your first answers are kept, these were not stored.")
        except Exception as e:  # the database could not be written: say so, keep serving
            self.log_message("store failed: %s", type(e).__name__)
            return self._refuse(503, "Your answers could not be stored right now; please submit again in a minute.")
        self._send(303, b"", headers={"Location": f"/s/{token}/done"})

    def _form_body(self) -> bytes | None:
        """The request's form body, or None after refusing it (not a form, no valid length, too large)."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            self._refuse(415, "Answers must be sent as a form (application/x-www-form-urlencoded).")
            return None
        length = self.headers.get("Content-Length")
        if length is None or not re.fullmatch(r"[0-9]{1,18}", length.strip()):  # str.isdigit() takes '¹', int() does not
            self._refuse(411, "The request has no valid Content-Length.")
            return None
        if int(length) > MAX_BODY:
            self._drain(int(length))
            self._refuse(413, f"The answers are too large ({int(length)} bytes; at most {MAX_BODY}).")
            return None
        return self.rfile.read(int(length))

    def _drain(self, length: int):
        """Read and drop a refused body (up to DRAIN_LIMIT), so the client gets to read our answer
        instead of a reset connection; nothing of it is kept."""
        left = min(length, DRAIN_LIMIT)
        try:
            while left > 0 and (chunk := self.rfile.read(min(left, 1 << 16))):
                left -= len(chunk)
        except OSError:  # the client stopped sending (socket timeout) or went away
            pass

    def do_PUT(self):
        self._refuse(405, "Method not allowed.")

    do_DELETE = do_PATCH = do_PUT


def make_handler(study: dict, study_dir, db_path):
    """SurveyHandler bound to one study: its pages and media under <study_dir>/public, its tokens."""
    public = Path(study_dir) / "public"
    media = {m: public / "media" / f"{m}.mp4" for v in study["videos"] for m in v["media"].values()}
    pages = {p["id"]: public / "pages" / f"{p['id']}.html" for p in study["pages"]}
    bound = {"study": study, "db_path": db_path, "media": media, "pages": pages, "tokens": dict(study["tokens"])}
    return type("Handler", (SurveyHandler,), bound)


def make_server(study: dict, study_dir, db_path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A ready-to-run server (port 0: any free port; `server.server_address` says which)."""
    responses.init(db_path)
    server = ThreadingHTTPServer((host, port), make_handler(study, study_dir, db_path))
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return t
