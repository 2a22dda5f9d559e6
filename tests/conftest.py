"""Test isolation: every test runs with its own console home, offscreen Qt and an in-memory keyring."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import console.ui  # noqa: E402,F401 - applies the PySide6 6.12 / Python 3.11 None-refcount guard first


@pytest.fixture(autouse=True)
def no_leftover_swipe_capture():
    """A test that opened a reader test or counter tab leaves no app-wide key capture behind."""
    yield
    module = sys.modules.get("console.ui.swipe_capture")
    if module is not None:
        module.SwipeCapture.remove_installed()


@pytest.fixture(autouse=True)
def no_leftover_error_box():
    """An error box a test left open (a failing tab, an unexpected error) must not become the
    active window of the next test and take its keyboard."""
    yield
    module = sys.modules.get("console.ui.errors")
    if module is not None:
        for box in module.find_error_boxes():
            box.close()


@pytest.fixture(autouse=True)
def console_home(tmp_path, monkeypatch):
    """Config, data, logs and cache under a temp folder; never the real user directories."""
    home = tmp_path / "console-home"
    monkeypatch.setenv("BILLER_CONSOLE_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def audit_key_keyring(monkeypatch):
    """One in-memory keyring per test for the audit chain's key, shared by every console the test
    builds (as the OS keyring is), whatever secret backend each one was given."""
    from console.secrets import MemoryBackend, SecretStore
    from console.services import audit_anchor

    store = SecretStore("journal", backend=MemoryBackend())
    monkeypatch.setattr(audit_anchor, "shared_secret_store", lambda secrets: store)
    return store
