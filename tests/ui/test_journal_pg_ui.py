"""The GUI with the office's PostgreSQL journal: the Diagnostics tab shows which journal, its
server version, latency and schema; the counter's card capture keeps its KSNs on the server, so
a read replayed at another window is refused."""

from __future__ import annotations

import pytest

from console.app import build_services
from console.config import JOURNAL_URL_ENV, sandbox_profile
from console.sandbox import runner
from console.secrets import MemoryBackend
from console.services.diagnostics import PASS
from console.ui.context import UiContext
from console.ui.operations import tracker
from console.ui.swipe_capture import SwipeCapture, apply_reader_profile
from console.ui.tabs.diagnostics_tab import DiagnosticsModel, DiagnosticsTab


@pytest.fixture(autouse=True)
def _cleanup(qtbot, qapp):
    SwipeCapture.remove_installed(qapp)
    yield
    tracker().cancel_all()
    tracker().wait(10_000)
    SwipeCapture.remove_installed(qapp)
    runner.stop_embedded()


def test_diagnostics_tab_shows_the_server_journal(qtbot, pg_url, monkeypatch):
    monkeypatch.setenv(JOURNAL_URL_ENV, pg_url)
    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    tab = DiagnosticsTab(UiContext(services, sandbox_profile().operators[3]), auto_run=False)
    qtbot.addWidget(tab)
    tab.run_checks()
    qtbot.waitUntil(lambda: tab.report is not None, timeout=30_000)
    check = next(c for c in tab.report.checks if c.key == "journal")
    assert check.state == PASS and check.summary.startswith("PostgreSQL ")
    row = next(r for r in range(tab.model.rowCount())
               if tab.model.data(tab.model.index(r, DiagnosticsModel.CHECK)) == check.title)
    assert tab.model.data(tab.model.index(row, DiagnosticsModel.RESULT)) == check.summary
    services.close()


def test_the_capture_shares_card_reads_with_every_window(qapp, pg_url, monkeypatch):
    monkeypatch.setenv(JOURNAL_URL_ENV, pg_url)
    this_window = build_services("sandbox", secret_backend=MemoryBackend())
    other_window = build_services("sandbox", secret_backend=MemoryBackend())
    try:
        capture = apply_reader_profile(this_window, qapp)
        assert capture.ksn_store_location == this_window.journal_db.display_url and capture.ksn_store_path is None
        assert other_window.shared_ksn_store(30).remember("FFFF9876543210E00077", "T134000064") is None
        earlier = capture.ksns.remember("FFFF9876543210E00077", "T134000064")  # replayed here
        assert earlier is not None and earlier.serial == "T134000064"
        assert not list(this_window.paths.data_dir.rglob("reader_ksns*"))
    finally:
        SwipeCapture.remove_installed(qapp)
        this_window.close()
        other_window.close()
