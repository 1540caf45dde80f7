"""The survey in a real headless Chromium (Debian `chromium`, driven by Playwright through
`executable_path`; never `playwright install`): two participants fill their whole pages and submit,
a reload and a second submission with the same token are refused, then the DuckDB rows and the
aggregated Table 6.2-6.4 numbers are checked. Skips when chromium or playwright is missing;
scripts/install_system.sh installs chromium and `.[test]` pins playwright, so CI runs it."""

import os
import shutil

import duckdb
import pytest
from _study_helpers import make_soundtracks

from emsync.study import design, responses
from emsync.study.build import build_study, load_study
from emsync.study.report import aggregate, markdown
from emsync.study.server import make_server, serve_in_thread

CHROMIUM = os.environ.get("EMSYNC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="no chromium executable (scripts/install_system.sh installs Debian's)")

CONDS = ("emsync", "no_boundaries", "neutral")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("study_browser")
    make_soundtracks(tmp / "soundtrack", ["v1", "v2", "v3", "v4"], CONDS)
    build_study(tmp / "soundtrack", tmp / "study", videos_per_page=2, participants=2)
    study = load_study(tmp / "study")
    db = tmp / "study" / "responses.duckdb"
    server = make_server(study, tmp / "study", db, port=0)
    serve_in_thread(server)
    yield {"study": study, "db": db, "base": f"http://127.0.0.1:{server.server_address[1]}"}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


def fill(page, study, token, prefer, theory):
    """Answer every question as a participant who prefers prefer[0] over prefer[1] over prefer[2]
    (the test reads the hidden order from study.json; the page itself only says Method A/B/C)."""
    page.bring_to_front()  # a background tab gets no animation frames: Playwright's clicks would wait on them
    pid = study["tokens"][token]
    for opaque in next(p for p in study["pages"] if p["id"] == pid)["videos"]:
        v = next(v for v in study["videos"] if v["opaque"] == opaque)
        for q in design.QUESTION_KEYS:
            for slot, cond in zip(design.SLOTS, v["order"]):
                page.check(f'input[name="rank.{opaque}.{q}.{slot}"][value="{prefer.index(cond) + 1}"]')
    page.check(f'input[name="music_theory"][value="{theory}"]')


def test_whole_survey_in_chromium(app, browser):
    study, base = app["study"], app["base"]
    t1, t2 = list(study["tokens"])
    assert study["tokens"][t1] != study["tokens"][t2]  # one page each
    ctx = browser.new_context()
    page = ctx.new_page()
    assert page.goto(f"{base}/s/{t1}/").status == 200
    html = page.content().lower()
    assert not any(c in html for c in CONDS) and "boundar" not in html
    assert page.locator("video").count() == 6 and page.locator("text=Method C").count() >= 2
    # the browser really loads the anonymised media
    page.wait_for_function("Array.from(document.querySelectorAll('video')).every(v => v.readyState >= 1)", timeout=30_000)
    durations = page.eval_on_selector_all("video", "vs => vs.map(v => v.duration)")
    assert all(abs(d - 0.6) < 0.15 for d in durations), durations
    page.eval_on_selector("video", "v => { v.muted = true; return v.play(); }")  # picture and sound decode and play
    page.wait_for_function("document.querySelector('video').currentTime > 0.2", timeout=30_000)

    # picking a rank another method holds takes it from that method (each question stays an order)
    first = study["pages"][[p["id"] for p in study["pages"]].index(study["tokens"][t1])]["videos"][0]
    page.check(f'input[name="rank.{first}.timing.A"][value="1"]')
    page.check(f'input[name="rank.{first}.timing.B"][value="1"]')
    assert not page.is_checked(f'input[name="rank.{first}.timing.A"][value="1"]')

    # the submit button refuses an incomplete form in the browser (required radios)
    page.click("button[type=submit]")
    assert page.url == f"{base}/s/{t1}/"

    stale = ctx.new_page()  # the same link open in a second tab, before submitting
    stale.goto(f"{base}/s/{t1}/")

    fill(page, study, t1, prefer=("emsync", "no_boundaries", "neutral"), theory="yes")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{base}/s/{t1}/done" and "Thank you" in page.inner_text("h1")
    page.reload()
    assert "Thank you" in page.inner_text("h1")
    resp = page.goto(f"{base}/s/{t1}/")
    assert resp.status == 409 and "already been used" in page.inner_text("body")

    fill(stale, study, t1, prefer=("neutral", "no_boundaries", "emsync"), theory="no")
    with stale.expect_navigation() as nav:
        stale.click("button[type=submit]")
    assert nav.value.status == 409 and "these were not stored" in stale.inner_text("body")

    p2 = ctx.new_page()
    p2.goto(f"{base}/s/{t2}/")
    fill(p2, study, t2, prefer=("neutral", "emsync", "no_boundaries"), theory="no")
    with p2.expect_navigation():
        p2.click("button[type=submit]")
    assert p2.url.endswith("/done")
    ctx.close()

    with duckdb.connect(str(app["db"]), read_only=True) as con:
        subs = dict(con.execute("SELECT token, music_theory FROM submissions").fetchall())
        assert subs == {t1: True, t2: False}
        per = con.execute("SELECT token, condition, min(rank), max(rank), count(*) FROM answers GROUP BY ALL ORDER BY ALL").fetchall()
    # 2 videos x 5 questions per participant and condition; participant 1's first answers kept
    assert sorted(per) == sorted(
        [(t1, "emsync", 1, 1, 10), (t1, "no_boundaries", 2, 2, 10), (t1, "neutral", 3, 3, 10)]
        + [(t2, "neutral", 1, 1, 10), (t2, "emsync", 2, 2, 10), (t2, "no_boundaries", 3, 3, 10)]
    )

    # Table 6.4: per video EMSYNC is 1 (page 1) or 2 (page 2) -> 1.50 (0.50); neutral 3 or 1 -> 2.00 (1.00);
    # no boundaries 2 or 3 -> 2.50 (0.50). Table 6.2 is participant 1 alone, Table 6.3 participant 2.
    md = markdown(aggregate(responses.read_answers(app["db"])))
    t64 = md.split("## Table 6.4")[1]
    assert "| EMSYNC | **1.50** (0.50) | **1.50** (0.50) | **1.50** (0.50) | **1.50** (0.50) | **1.50** (0.50) |" in t64
    assert "| EMSYNC, no boundaries | 2.50 (0.50) |" in t64 and "| EMSYNC, neutral emotion | 2.00 (1.00) |" in t64
    assert "| EMSYNC | **1.00** (0.00) |" in md.split("## Table 6.2")[1].split("## ")[0]
    assert "| EMSYNC, neutral emotion | **1.00** (0.00) |" in md.split("## Table 6.3")[1].split("## ")[0]
