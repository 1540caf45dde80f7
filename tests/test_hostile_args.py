"""Boundaries that cannot be used are one clear line, before any model is loaded (issue 10 item 5)."""
import pytest

from emsync.cli import main


@pytest.mark.parametrize("bounds, msg", [
    ("5,,6", "--boundaries '5,,6': entry 2 is empty"),
    ("4,", "--boundaries '4,': entry 2 is empty"),
    ("3,40,50", "--boundaries 40, 50: at or beyond --duration 30 s; drop them or generate longer music"),
    ("30", "--boundaries 30: at or beyond --duration 30 s"),
])
def test_unusable_boundaries_are_refused(tmp_path, capsys, bounds, msg):
    out = tmp_path / "g.mid"
    assert main(["generate", "--valence", "0", "--arousal", "0", "--duration", "30", "--boundaries", bounds,
                 "--checkpoint", str(tmp_path / "no-model.pt"), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err  # not "checkpoint not found": checked first
    assert not out.exists()
