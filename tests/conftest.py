"""Test isolation: every test runs with its own console home, offscreen Qt and an in-memory keyring."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def console_home(tmp_path, monkeypatch):
    """Config, data, logs and cache under a temp folder; never the real user directories."""
    home = tmp_path / "console-home"
    monkeypatch.setenv("BILLER_CONSOLE_HOME", str(home))
    return home
