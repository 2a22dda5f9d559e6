"""Fixtures shared by the UI tests (opt-in: none is autouse)."""

from __future__ import annotations

import pytest

from tests.ui.threads import drain


@pytest.fixture
def drained(qtbot):
    """After the test, cancel the operations still running and wait for their workers. Use as
    ``pytestmark = pytest.mark.usefixtures("drained")``."""
    yield
    drain()


@pytest.fixture
def confirm_sends(monkeypatch):
    """Every "send?" confirmation (``console.ui.confirm_dialog.ask_to_send``) answered Send at
    once; the list holds what was asked (``Outbound``). The dialog itself is tested in
    tests/ui/test_trust_confirm.py."""
    asked = []

    def answer_send(parent, outbound, profile, on_yes, **_kw):
        asked.append(outbound)
        on_yes()

    monkeypatch.setattr("console.ui.confirm_dialog.ask_to_send", answer_send)
    return asked
