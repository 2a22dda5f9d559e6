"""Diagnostics tab: the card reader's duplicate-swipe memory is checked on the worker while the
console's own capture holds the same file open, and a failure shows its fix."""

from __future__ import annotations

import sqlite3

import pytest

from console.app import build_services
from console.config import sandbox_profile
from console.devices.ksn_memory import FILE_NAME, KsnStore
from console.sandbox import runner
from console.secrets import MemoryBackend
from console.services.diagnostics import FAIL, PASS
from console.ui.context import UiContext
from console.ui.operations import tracker
from console.ui.swipe_capture import SwipeCapture, apply_reader_profile
from console.ui.tabs.diagnostics_tab import DiagnosticsModel, DiagnosticsTab

TITLE = "Card reader duplicate-swipe memory"


@pytest.fixture(autouse=True)
def _cleanup(qtbot, qapp):
    SwipeCapture.remove_installed(qapp)
    yield
    tracker().cancel_all()
    tracker().wait(10_000)
    SwipeCapture.remove_installed(qapp)
    runner.stop_embedded()


def _tab(qtbot):
    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    tab = DiagnosticsTab(UiContext(services, sandbox_profile().operators[3]), auto_run=False)
    qtbot.addWidget(tab)
    return services, tab


def _row(tab) -> int:
    model = tab.model
    return next(r for r in range(model.rowCount())
                if model.data(model.index(r, DiagnosticsModel.CHECK)) == TITLE)


def test_the_check_passes_while_the_capture_holds_the_store_and_adds_no_read(qtbot, qapp):
    services, tab = _tab(qtbot)
    capture = apply_reader_profile(services, qapp)  # what the console does when the profile loads
    path = services.paths.data_dir / FILE_NAME
    assert capture.ksn_store_path == path
    assert capture.ksns.remember("FFFF9876543210E00001", "T134000064") is None
    tab.run_checks()
    qtbot.waitUntil(lambda: tab.report is not None, timeout=15_000)
    row = _row(tab)
    check = next(c for c in tab.report.checks if c.key == "reader_ksns")
    assert check.state == PASS and "Remembers 1 card read for 30 days" in check.summary
    assert tab.model.data(tab.model.index(row, DiagnosticsModel.RESULT)) == check.summary
    # the capture's store still works and still refuses the replay; the check added nothing
    assert capture.ksns.remember("FFFF9876543210E00001", "T134000064") is not None
    assert capture.ksns.failed is None and capture.ksns.count() == 1


def test_a_newer_schema_is_shown_failed_with_its_fix(qtbot):
    services, tab = _tab(qtbot)
    store = KsnStore.in_folder(services.paths.data_dir)
    store.close()
    conn = sqlite3.connect(services.paths.data_dir / FILE_NAME)
    with conn:
        conn.execute("UPDATE schema_version SET version = 3 WHERE component = 'reader_ksns'")
    conn.close()
    tab.run_checks()
    qtbot.waitUntil(lambda: tab.report is not None, timeout=15_000)
    row = _row(tab)
    assert tab.model.data(tab.model.index(row, DiagnosticsModel.STATE)) == "Fail"
    assert tab.model.data(tab.model.index(row, DiagnosticsModel.HINT)).startswith("Update this console")
    tab.table.setCurrentIndex(tab.model.index(row, 0))
    assert "How to fix: Update this console" in tab.details.toPlainText()
    assert next(c for c in tab.report.checks if c.key == "reader_ksns").state == FAIL
