"""An X server of its own (Xvfb, no window manager) for the end-to-end tests, driven with xdotool.

The tests skip — saying why — only when Xvfb or xdotool is not installed; CI installs both
(.ci/run: ``apt-get install xvfb xdotool`` and the xcb libraries Qt needs), so there they run.
Xvfb picks a free display number itself (``-displayfd``: no race with another X server or a
parallel test run) and listens on its Unix socket only (``-nolisten tcp``).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

XVFB_START_S = 15.0
SCREEN = "1600x1000x24"


@dataclass
class XDisplay:
    """A running Xvfb: ``name`` (":N") and ``env`` (the environment with DISPLAY set)."""

    name: str
    env: dict[str, str]
    log: Path

    def xdotool(self, *args: str, timeout: float = 20.0) -> str:
        """Run one xdotool command on this display; its stdout (stripped)."""
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args[:3])}… failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout.strip()

    def screenshot(self, path: Path) -> Path | None:
        """The whole screen as PNG with ImageMagick's ``import``; None when it is not installed."""
        if shutil.which("import") is None:
            return None
        done = subprocess.run(["import", "-window", "root", str(path)], env=self.env, capture_output=True,
                              timeout=30)
        return path if done.returncode == 0 and path.exists() else None


def _missing_tools() -> list[str]:
    return [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]


@pytest.fixture
def xdisplay(tmp_path):
    missing = _missing_tools()
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (the end-to-end test needs an X server: "
                    "apt-get install xvfb xdotool — CI's .ci/run installs them)")
    log = tmp_path / "xvfb.log"
    read_fd, write_fd = os.pipe()
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-nolisten", "tcp", "-screen", "0", SCREEN],
            pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    os.close(write_fd)
    try:
        number = _read_display_number(read_fd, proc, log)
    except BaseException:
        _stop(proc)
        raise
    finally:
        os.close(read_fd)
    env = dict(os.environ)
    env["DISPLAY"] = f":{number}"
    env.pop("WAYLAND_DISPLAY", None)
    try:
        yield XDisplay(f":{number}", env, log)
    finally:
        _stop(proc)


def _read_display_number(fd: int, proc: subprocess.Popen, log: Path) -> int:
    """Xvfb writes the display number to the pipe once it accepts connections."""
    deadline = time.monotonic() + XVFB_START_S
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"Xvfb did not start (exit {proc.poll()}): {text}")
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                continue
            data += chunk
    return int(data.strip())


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
