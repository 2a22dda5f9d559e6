"""Posting tab: file, database and PIN work runs on a worker, never on the GUI thread.

Each test swaps the service call for a recorder that notes the thread it ran on (and, where it
matters, is slow while a GUI-thread timer keeps ticking)."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QTimer

from tests.ui.test_posting_tab import _wait, make_tab  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("_cleanup")


@pytest.fixture
def _cleanup(qtbot):
    from console.ui.operations import tracker

    yield
    tracker().cancel_all()
    tracker().wait(10_000)


def _off_gui() -> bool:
    return threading.current_thread() is not threading.main_thread()


def test_report_export_runs_off_the_gui_thread(qtbot, make_tab, monkeypatch, tmp_path):  # noqa: F811
    tab = make_tab()
    seen = []

    def slow_csv(report, path):
        seen.append(("csv", _off_gui()))
        time.sleep(0.3)
        path.write_text("Report,x\n")

    def slow_pdf(report, path, training=False):
        seen.append(("pdf", _off_gui()))
        path.write_bytes(b"%PDF-fake")

    monkeypatch.setattr("console.ui.tabs.posting_tab.reconciliation.to_csv", slow_csv)
    monkeypatch.setattr("console.ui.tabs.posting_tab.reconciliation.to_pdf", slow_pdf)
    tab.report = object()
    statuses = []
    tab.ctx.status_sink = lambda message, timeout: statuses.append(message)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    op = tab.export_report(tmp_path / "r.csv", "csv")
    assert not tab.csv_button.isEnabled() and not tab.pdf_button.isEnabled()  # busy while it runs
    _wait(qtbot, op)
    timer.stop()
    assert len(ticks) >= 5  # the event loop kept running during the 0.3 s write
    assert tab.csv_button.isEnabled() and "Report saved" in statuses[-1]
    _wait(qtbot, tab.export_report(tmp_path / "r.pdf", "pdf"))
    assert seen == [("csv", True), ("pdf", True)]
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_report_export_failure_is_shown_and_buttons_come_back(qtbot, make_tab, monkeypatch, tmp_path):  # noqa: F811
    tab = make_tab()

    def broken(report, path):
        raise OSError("disk full")

    monkeypatch.setattr("console.ui.tabs.posting_tab.reconciliation.to_csv", broken)
    tab.report = object()
    _wait(qtbot, tab.export_report(tmp_path / "r.csv", "csv"))
    assert tab.errors and isinstance(tab.errors[-1], OSError)
    assert tab.csv_button.isEnabled()
