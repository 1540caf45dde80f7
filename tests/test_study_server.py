"""`emsync study serve` over real HTTP: answers mapped back to conditions server-side, one
submission per token, malformed answers refused with a 4xx and nothing stored, no path traversal."""

import http.client
import json
from urllib.parse import urlencode

import duckdb
import pytest
from _study_helpers import make_soundtracks

from emsync.study import design
from emsync.study.build import build_study, load_study
from emsync.study.server import MAX_BODY, make_server, serve_in_thread


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("study_server")
    make_soundtracks(tmp / "soundtrack", ["v1", "v2", "v3"], ("emsync", "no_boundaries", "neutral"))
    build_study(tmp / "soundtrack", tmp / "study", videos_per_page=2, participants=40)
    study = load_study(tmp / "study")
    db = tmp / "study" / "responses.duckdb"
    server = make_server(study, tmp / "study", db, port=0)
    serve_in_thread(server)
    yield {"study": study, "dir": tmp / "study", "db": db, "port": server.server_address[1], "tokens": list(study["tokens"])}
    server.shutdown()
    server.server_close()


def request(app, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", app["port"], timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.getheader("Location"), data


def page_of(app, token):
    pid = app["study"]["tokens"][token]
    page = next(p for p in app["study"]["pages"] if p["id"] == pid)
    return [next(v for v in app["study"]["videos"] if v["opaque"] == o) for o in page["videos"]]


def answers(app, token, prefer=("emsync", "no_boundaries", "neutral"), theory="yes"):
    """A complete, valid form: the condition `prefer[0]` ranked 1, ... (the test knows the mapping)."""
    fields = {"music_theory": theory}
    for v in page_of(app, token):
        for q in design.QUESTION_KEYS:
            for slot, cond in zip(design.SLOTS, v["order"]):
                fields[f"rank.{v['opaque']}.{q}.{slot}"] = str(prefer.index(cond) + 1)
    return fields


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post(app, token, fields, headers=FORM):
    body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
    return request(app, "POST", f"/s/{token}/submit", body, headers)


def stored(app, token=None):
    with duckdb.connect(str(app["db"]), read_only=True) as con:
        where, args = ("WHERE token = ?", [token]) if token else ("", [])
        subs = con.execute(f"SELECT count(*) FROM submissions {where}", args).fetchone()[0]
        rows = con.execute(f"SELECT video_id, question, condition, slot, rank FROM answers {where} ORDER BY 1, 2, 3", args).fetchall()
    return subs, rows


def test_survey_page_served_for_a_token_only(app):
    t = app["tokens"][0]
    status, _, body = request(app, "GET", f"/s/{t}/")
    assert status == 200 and b"Method A" in body and b'action="submit"' in body
    assert request(app, "GET", f"/s/{'0' * 24}/")[0] == 404
    assert request(app, "GET", "/s/not-a-token/")[0] == 404


def test_submission_is_mapped_to_conditions_and_second_one_refused(app):
    t = app["tokens"][1]
    status, location, _ = post(app, t, answers(app, t, prefer=("neutral", "emsync", "no_boundaries"), theory="no"))
    assert (status, location) == (303, f"/s/{t}/done")
    subs, rows = stored(app, t)
    videos = page_of(app, t)
    assert subs == 1 and len(rows) == len(videos) * 5 * 3
    for video_id, q, cond, slot, rank in rows:  # whatever slot each condition sat in, its rank is the preferred one
        assert rank == {"neutral": 1, "emsync": 2, "no_boundaries": 3}[cond]
        v = next(v for v in videos if v["video_id"] == video_id)
        assert v["order"][design.SLOTS.index(slot)] == cond
    with duckdb.connect(str(app["db"]), read_only=True) as con:
        assert con.execute("SELECT music_theory FROM submissions WHERE token = ?", [t]).fetchone() == (False,)

    status, _, body = post(app, t, answers(app, t, prefer=("emsync", "neutral", "no_boundaries")))
    assert status == 409 and b"already been used" in body
    assert stored(app, t) == (subs, rows)  # the first answers are kept unchanged
    assert request(app, "GET", f"/s/{t}/")[0] == 409
    assert request(app, "GET", f"/s/{t}/done")[0] == 200


def _rank_twice(app, t):
    f = answers(app, t)
    v = page_of(app, t)[0]["opaque"]
    f[f"rank.{v}.timing.A"] = f[f"rank.{v}.timing.B"]
    return f


def _missing_question(app, t):
    f = answers(app, t)
    v = page_of(app, t)[-1]["opaque"]
    for slot in design.SLOTS:
        del f[f"rank.{v}.overall.{slot}"]
    return f


def _unknown_video(app, t):
    f = answers(app, t)
    f["rank.0123456789abcdef.overall.A"] = "1"
    return f


def _video_of_another_page(app, t):
    mine = {v["opaque"] for v in page_of(app, t)}
    other = next(v["opaque"] for v in app["study"]["videos"] if v["opaque"] not in mine)
    f = answers(app, t)
    f.update({f"rank.{other}.{q}.{s}": str(i + 1) for q in design.QUESTION_KEYS for i, s in enumerate(design.SLOTS)})
    return f


def _huge_field(app, t):
    f = answers(app, t)
    f["music_theory"] = "y" * (1 << 20)
    return f


def _drop_theory(app, t):
    f = answers(app, t)
    del f["music_theory"]
    return f


BAD = {
    "rank given twice": (_rank_twice, FORM, 400, b"same rank twice"),
    "missing question": (_missing_question, FORM, 400, b"Overall Match is not fully ranked"),
    "unknown video id": (_unknown_video, FORM, 400, b"is unknown"),
    "video of another page": (_video_of_another_page, FORM, 400, b"is on another page"),
    "1 MB field": (_huge_field, FORM, 413, b"too large"),
    "json content-type": (answers, {"Content-Type": "application/json"}, 415, b"form"),
    "multipart content-type": (answers, {"Content-Type": "multipart/form-data; boundary=x"}, 415, b"form"),
    "no content-type": (answers, {}, 415, b"form"),
    "music theory unanswered": (_drop_theory, FORM, 400, b"music theory"),
    "rank 4": (lambda app, t: {**answers(app, t), f"rank.{page_of(app, t)[0]['opaque']}.quality.C": "4"}, FORM, 400, b"1, 2 or 3"),
    "theory maybe": (lambda app, t: {**answers(app, t), "music_theory": "maybe"}, FORM, 400, b"yes or no"),
    "extra field": (lambda app, t: {**answers(app, t), "comment": "hi"}, FORM, 400, b"unknown field"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_answers_get_4xx_and_store_nothing(app, case):
    make, headers, status, message = BAD[case]
    t = app["tokens"][5 + list(BAD).index(case)]
    got, _, body = post(app, t, make(app, t), headers)
    assert got == status and message in body
    assert stored(app, t) == (0, [])
    # the same participant can still answer properly afterwards
    assert post(app, t, answers(app, t))[0] == 303
    assert stored(app, t)[0] == 1


def test_field_given_twice_and_garbage_bodies_refused(app):
    t = app["tokens"][30]
    body = urlencode(answers(app, t)).encode() + b"&music_theory=no"
    assert post(app, t, body)[0] == 400
    assert post(app, t, b"\xff\xfe not utf-8")[0] == 400
    assert post(app, t, b"")[0] == 400
    conn = http.client.HTTPConnection("127.0.0.1", app["port"], timeout=30)
    conn.putrequest("POST", f"/s/{t}/submit")
    conn.putheader("Content-Type", FORM["Content-Type"])
    conn.endheaders()  # no Content-Length header
    assert conn.getresponse().status == 411
    conn.close()
    assert post(app, t, b"x" * (MAX_BODY + 1))[0] == 413
    assert post(app, "0" * 24, answers(app, t))[0] == 404  # unknown token
    assert stored(app, t) == (0, [])


def test_media_served_by_id_only_no_path_traversal(app):
    v = app["study"]["videos"][0]
    media = app["dir"] / "public" / "media" / f"{v['media']['A']}.mp4"
    status, _, body = request(app, "GET", f"/media/{v['media']['A']}.mp4")
    assert status == 200 and body == media.read_bytes()
    status, _, body = request(app, "GET", f"/media/{v['media']['A']}.mp4", headers={"Range": "bytes=10-19"})
    assert status == 206 and body == media.read_bytes()[10:20]
    assert request(app, "GET", f"/media/{v['media']['A']}.mp4", headers={"Range": "bytes=99999999-"})[0] == 416
    secret = (app["dir"] / "study.json").read_bytes()
    for path in [
        "/media/../study.json",
        "/media/..%2fstudy.json",
        "/media/%2e%2e/%2e%2e/study.json",
        "/media/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/study.json",
        "/public/media/" + v["media"]["A"] + ".mp4",
        "/public/pages/" + app["study"]["pages"][0]["id"] + ".html",
        "/media/0123456789abcdef.mp4",  # well-formed, not a study id
        "//etc/passwd",
        f"/s/{app['tokens'][0]}/../../study.json",
        f"/s/{app['tokens'][0]}/%2e%2e/%2e%2e/study.json",
        "/responses.duckdb",
    ]:
        status, _, body = request(app, "GET", path)
        assert status == 404, path
        assert secret[:40] not in body and b"root:" not in body
    assert request(app, "PUT", "/study.json", b"x")[0] == 405
    assert request(app, "POST", "/media/x.mp4", b"x", FORM)[0] == 404


def test_study_file_keeps_the_mapping_server_side(app):
    page = request(app, "GET", f"/s/{app['tokens'][0]}/")[2].decode()
    study = json.loads((app["dir"] / "study.json").read_text())
    for v in study["videos"]:
        assert v["video_id"] not in page
    for cond in ("emsync", "no_boundaries", "neutral"):
        assert cond not in page.lower()


def test_serve_command_serves_and_stops_on_sigterm(app, tmp_path):
    """The real entry point: `python -m emsync study serve --port 0` prints its address, answers,
    and SIGTERM ends it like Ctrl-C (exit 130, no traceback)."""
    import re
    import signal
    import subprocess
    import sys

    db = tmp_path / "cli.duckdb"
    cmd = [sys.executable, "-m", "emsync", "study", "serve", "--study", str(app["dir"]), "--db", str(db), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/s/<token>/", line).group(1))
        t = app["tokens"][35]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", f"/s/{t}/submit", urlencode(answers(app, t)), FORM)
        assert conn.getresponse().status == 303
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err and t not in err  # the log shows <token>
    assert "POST /s/<token>/submit" in err
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT token FROM submissions").fetchall() == [(t,)]


def test_submission_waits_while_another_process_reads_the_database(app):
    """`emsync study report` (another process) holding the DuckDB file does not lose an answer."""
    import subprocess
    import sys

    hold = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); print('locked', flush=True); time.sleep(1.5)"
    proc = subprocess.Popen([sys.executable, "-c", hold, str(app["db"])], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        t = app["tokens"][36]
        assert post(app, t, answers(app, t))[0] == 303
    finally:
        proc.wait(timeout=30)
    assert stored(app, t)[0] == 1


@pytest.mark.parametrize("length", ["\u00b9", "\u0661", "-1", "1e3", " ", "99999999999999999999999"])
def test_a_content_length_that_is_no_number_gets_411_and_the_server_keeps_serving(app, length):
    """'¹'.isdigit() is True but int('¹') fails: the connection used to drop with a traceback."""
    t = app["tokens"][31]
    conn = http.client.HTTPConnection("127.0.0.1", app["port"], timeout=30)
    conn.putrequest("POST", f"/s/{t}/submit")
    conn.putheader("Content-Type", FORM["Content-Type"])
    conn.putheader("Content-Length", length.encode("utf-8"))
    conn.endheaders()
    assert conn.getresponse().status == 411
    conn.close()
    assert stored(app, t) == (0, [])
    assert request(app, "GET", f"/s/{t}/")[0] == 200


def test_serve_refuses_a_db_that_is_not_duckdb_before_starting(app, capsys):
    """`--db data/study/study.json` used to start, answer 303 and store nothing."""
    from emsync.cli import main

    before = (app["dir"] / "study.json").read_bytes()
    assert main(["study", "serve", "--study", str(app["dir"]), "--db", str(app["dir"] / "study.json"), "--port", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists and is not a DuckDB database" in err[0], err
    assert (app["dir"] / "study.json").read_bytes() == before
    for port in ("-1", "99999"):
        with pytest.raises(SystemExit):
            main(["study", "serve", "--study", str(app["dir"]), "--port", port])
        assert "is not a port number" in capsys.readouterr().err
