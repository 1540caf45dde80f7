"""Errors carry no secrets: a Spotify server whose error replies echo the
credentials and the access token; the error a user sees, the Prefect log and the stage's last
line hold none of them, and a stage failing inside Prefect ends with one line (no traceback)."""

import base64
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from emsync.core.redact import redact
from emsync.labeling import spotify

ROOT = Path(__file__).resolve().parents[1]
CID, SECRET, TOKEN = "client-id-4f9a2c", "s3cr3t-7d1e0b-never-shown", "BQD-access-token-0123456789"
BASIC = base64.b64encode(f"{CID}:{SECRET}".encode()).decode()


class EchoServer:
    """Token endpoint (`bad_client`: refuses, echoing the credentials); API endpoints answer 400
    with a body that echoes the request's Authorization header and the secret."""

    def __init__(self, bad_client=False):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if bad_client:
                    return self._send(
                        400,
                        {"error": f"invalid_client {SECRET}", "error_description": f"got {self.headers.get('Authorization')} and {body}"},
                    )
                self._send(200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600})

            def do_GET(self):
                self._send(
                    400,
                    {
                        "error": {
                            "status": 400,
                            "message": f"bad request: Authorization: "
                            f"{self.headers.get('Authorization')} client_secret={SECRET} basic={BASIC}",
                        }
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _clean(text):
    return not any(s in text for s in (SECRET, BASIC, TOKEN, CID))


@pytest.fixture
def creds(monkeypatch):
    monkeypatch.setenv(spotify.ENV_ID, CID)
    monkeypatch.setenv(spotify.ENV_SECRET, SECRET)


@pytest.mark.parametrize("bad_client", [False, True])
def test_spotify_errors_hold_no_reply_header_or_secret(tmp_path, creds, bad_client):
    srv = EchoServer(bad_client)
    try:
        c = spotify.SpotifyClient(
            tmp_path / "cache", api_base=srv.base + "/v1/", token_url=srv.base + "/api/token", sleep=lambda s: None, max_retries=1
        )
        with pytest.raises(spotify.SpotifyError) as e:
            c.audio_features(["0" * 22])
    finally:
        srv.close()
    msg = str(e.value)
    assert _clean(msg) and "\n" not in msg, msg
    assert ("credentials" in msg) if bad_client else ("HTTP 400" in msg)


def test_redact_blanks_headers_tokens_and_secret_env(monkeypatch):
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", CID)
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", SECRET)
    text = (
        f"Authorization: Basic {BASIC}; headers={{'Authorization': 'Bearer {TOKEN}'}} "
        f'body=grant_type=client_credentials&client_secret={SECRET} {{"access_token": "{TOKEN}"}} id {CID}'
    )
    out = redact(text)
    assert _clean(out) and "***" in out and "grant_type=client_credentials" in out
    assert redact("tempo 120.0 bpm, 3 files rejected") == "tempo 120.0 bpm, 3 files rejected"


STAGE = """import sys
from emsync.core import env
env.apply_defaults()
from prefect import flow, task
from emsync.labeling.spotify import SpotifyClient
from emsync.pipeline.runguard import enter_stage

@task
def features(base, cache):
    return SpotifyClient(cache, api_base=base + "/v1/", token_url=base + "/api/token", sleep=lambda s: None,
                         max_retries=0).audio_features(["0" * 22])

@flow
def stage(base, cache):
    return features(base, cache)

if __name__ == "__main__":
    enter_stage("toy")
    stage(sys.argv[1], sys.argv[2])
"""


@pytest.mark.slow
def test_a_stage_failing_inside_prefect_ends_with_one_clean_line(tmp_path):
    (tmp_path / "stage.py").write_text(STAGE)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")  # the stage runs inside a project of its own
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        spotify.ENV_ID: CID,
        spotify.ENV_SECRET: SECRET,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results"),
    }
    env.pop("EMSYNC_DEBUG", None)
    srv = EchoServer()
    try:
        r = subprocess.run(
            [sys.executable, "stage.py", srv.base, str(tmp_path / "cache")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        srv.close()
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and lines == ["emsync: error: Spotify API refused the request (HTTP 400)"], r.stderr[-3000:]
    assert _clean(r.stdout + r.stderr)


def test_switches_and_numbers_are_never_masked(monkeypatch):
    """TOKENIZERS_PARALLELISM=false made every 'false' in a message '***'."""
    from emsync.core.redact import redact

    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("MY_API_TOKEN", "true")
    monkeypatch.setenv("DB_PASSWORD", "12345")
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefgh12345")
    monkeypatch.setenv("MY_APIKEY", "s3cr3t-value")
    msg = "labeling.fast_hash: expected true/false, got 'yes' (12345 rows); token hf_abcdefgh12345, key s3cr3t-value"
    assert redact(msg) == "labeling.fast_hash: expected true/false, got 'yes' (12345 rows); token ***, key ***"
