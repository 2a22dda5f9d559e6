"""`biller-console --self-test`: opens every tab offscreen and exits 0 (a real process)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_self_test_opens_every_tab_and_exits_0(tmp_path):
    env = {**os.environ, "BILLER_CONSOLE_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-m", "console", "--self-test", "--timing"], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "self-test: OK" in out.stdout
    assert "7 tabs opened" in out.stdout and "Diagnostics (tab)" in out.stdout and "Day Close (tab)" in out.stdout
    assert "main window shown" in out.stdout
