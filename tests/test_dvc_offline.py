"""The README's `dvc repro` calls nothing outside, even without emsync's environment defaults
(emsync/core/env.py sets DVC_NO_ANALYTICS only for emsync's own entry points): the checkout's
.dvc/config turns off DVC's usage analytics and its update check, each a daemon that calls out."""

import os
import shutil
import subprocess

from _root import ROOT


def test_dvc_in_a_copy_of_the_checkout_config_spawns_no_analytics_daemon(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".dvc").mkdir()
    shutil.copy(ROOT / ".dvc" / "config", tmp_path / ".dvc" / "config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVC_")}
    r = subprocess.run(["dvc", "status", "-v"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-2000:]
    assert "Analytics is disabled" in out and "daemon" not in out
    r = subprocess.run(["dvc", "config", "core.check_update"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "false"
