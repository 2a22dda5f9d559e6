"""Fixtures shared by the UI tests (opt-in, but for the garbage-collector one below)."""

from __future__ import annotations

import gc

import pytest

from tests.ui.threads import drain


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread(request):
    """As in the GUI app (console/ui/gui_gc.py): no automatic collection while a test runs, so a
    worker of the operation pool never frees a Qt object in a garbage cycle (a full run once died
    with 'Garbage-collecting' on a worker); the test's garbage is collected here, on the GUI
    thread, afterwards. The collector's own tests switch it themselves."""
    if request.module.__name__.endswith("test_shell_gui_gc"):
        yield
        return
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        if was:
            gc.enable()


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
