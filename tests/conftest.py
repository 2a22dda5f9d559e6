"""Test isolation: every test runs with its own console home, offscreen Qt and an in-memory keyring."""

from __future__ import annotations

import ctypes
import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

if sys.version_info < (3, 12):
    # PySide6 6.12 on Python 3.11 drops one reference to None on every call of a void method
    # (QTimer.start, QLineEdit.setText, ...): after ~5,000 calls the interpreter aborts with
    # "Fatal Python error: none_dealloc". None is immortal from Python 3.12; give it spare
    # references here (the app needs the same guard where PySide6 is first imported).
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40


@pytest.fixture(autouse=True)
def no_leftover_swipe_capture():
    """A test that opened a reader test or counter tab leaves no app-wide key capture behind."""
    yield
    module = sys.modules.get("console.ui.swipe_capture")
    if module is not None:
        module.SwipeCapture.remove_installed()


@pytest.fixture(autouse=True)
def console_home(tmp_path, monkeypatch):
    """Config, data, logs and cache under a temp folder; never the real user directories."""
    home = tmp_path / "console-home"
    monkeypatch.setenv("BILLER_CONSOLE_HOME", str(home))
    return home
