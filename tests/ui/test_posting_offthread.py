"""Posting tab: file, database and PIN work runs on a worker, never on the GUI thread.

Each test swaps the service call for a recorder that notes the thread it ran on (and, where it
matters, is slow while a GUI-thread timer keeps ticking)."""

from __future__ import annotations

import pytest

from tests.ui.test_posting_tab import _wait, make_tab  # noqa: F401 - fixture
from tests.ui.threads import drain, raising, slowed, spy, ticking

pytestmark = pytest.mark.usefixtures("_cleanup")


@pytest.fixture
def _cleanup(qtbot):
    yield
    drain(timeout_ms=10_000)


def test_report_export_runs_off_the_gui_thread(qtbot, make_tab, monkeypatch, tmp_path):  # noqa: F811
    tab = make_tab()
    csv_calls, pdf_calls = [], []  # per call: did it run on the GUI thread

    def fake_csv(report, path):
        path.write_text("Report,x\n")

    def fake_pdf(report, path, training=False):
        path.write_bytes(b"%PDF-fake")

    monkeypatch.setattr("console.ui.tabs.posting_tab.reconciliation.to_csv", slowed(0.3, fake_csv, csv_calls))
    monkeypatch.setattr("console.ui.tabs.posting_tab.reconciliation.to_pdf", spy(pdf_calls, fake_pdf))
    tab.report = object()
    statuses = []
    tab.ctx.status_sink = lambda message, timeout: statuses.append(message)
    timer, ticks = ticking()
    op = tab.export_report(tmp_path / "r.csv", "csv")
    assert not tab.csv_button.isEnabled() and not tab.pdf_button.isEnabled()  # busy while it runs
    _wait(qtbot, op)
    timer.stop()
    assert len(ticks) >= 5  # the event loop kept running during the 0.3 s write
    assert tab.csv_button.isEnabled() and "Report saved" in statuses[-1]
    _wait(qtbot, tab.export_report(tmp_path / "r.pdf", "pdf"))
    assert csv_calls == [False] and pdf_calls == [False]
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_report_export_failure_is_shown_and_buttons_come_back(qtbot, make_tab, monkeypatch, tmp_path):  # noqa: F811
    tab = make_tab()
    monkeypatch.setattr("console.ui.tabs.posting_tab.reconciliation.to_csv", raising(OSError("disk full")))
    tab.report = object()
    _wait(qtbot, tab.export_report(tmp_path / "r.csv", "csv"))
    assert tab.errors and isinstance(tab.errors[-1], OSError)
    assert tab.csv_button.isEnabled()


def test_supervisor_pin_check_runs_off_the_gui_thread(qtbot, make_tab, monkeypatch, tmp_path):  # noqa: F811
    from console.sandbox import exports

    tab = make_tab()
    f = tmp_path / "p.csv"
    exports.write_export("payments", f, 5, 3, receipts_only=True)
    _wait(qtbot, tab.load_file(f, "payments"))
    operators = tab.ctx.services.operators
    real = operators.approve
    seen = []  # per call: did it run on the GUI thread
    monkeypatch.setattr(operators, "approve", spy(seen, real))
    op = tab.override("super1", "0000")
    assert not tab.post_button.isEnabled() and not tab.override_button.isEnabled()  # busy while checking
    _wait(qtbot, op)
    assert seen == [False] and tab.errors  # wrong PIN: checked on a worker, refused, shown
    assert tab.post_button.isEnabled()


def test_run_and_review_journal_reads_run_off_the_gui_thread(qtbot, make_tab, monkeypatch, tmp_path):  # noqa: F811
    from console.sandbox import exports

    tab = make_tab()
    journal = tab.ctx.services.journal
    seen = {name: [] for name in ("file_record", "get", "resolve_review")}  # per call: on the GUI thread?
    for name, calls in seen.items():
        if hasattr(journal, name):
            monkeypatch.setattr(journal, name, spy(calls, getattr(journal, name)))
    f = tmp_path / "p.csv"
    exports.write_export("payments", f, 5, 3, receipts_only=True)
    _wait(qtbot, tab.load_file(f, "payments"))
    for calls in seen.values():
        calls.clear()
    _wait(qtbot, tab.post())
    assert seen["file_record"] and not any(seen["file_record"])
    assert tab.plan.already_imported is not None and tab.post_button.text() in ("Finish posting", "All posted")
    qtbot.waitUntil(lambda: tab.preview.model.rowCount() > 0, timeout=5000)
    tab.review.set_rows(tab.preview.model.rows[:1])
    for calls in seen.values():
        calls.clear()
    _wait(qtbot, tab._on_review_clicked(tab.review.model.index(0, 0)))
    assert seen["get"] == [False]
    assert tab.preview.model.rows[0].key in tab.evidence.toPlainText()
