"""Counter tab: the receipt PDF and the list of today's payments (a journal read) are done on a
worker, never on the GUI thread — a slow disk or journal must not freeze the cashier's screen."""

from __future__ import annotations

from tests.ui.test_counter_tab import make_tab, sandbox  # noqa: F401 - fixtures
from tests.ui.threads import raising, slowed, ticking


def test_todays_payments_are_read_off_the_gui_thread(make_tab, qtbot, monkeypatch):  # noqa: F811
    tab = make_tab()
    qtbot.waitUntil(lambda: tab._today_op is None, timeout=10_000)
    real = tab.counter.todays_payments
    seen = []  # per call: did it run on the GUI thread
    monkeypatch.setattr(tab.counter, "todays_payments", slowed(0.3, real, seen))
    timer, ticks = ticking()
    op = tab.refresh_today()
    again = tab.refresh_today()  # asked again while reading: the same read, then one more after it
    assert again is op
    qtbot.waitUntil(lambda: len(seen) == 2 and tab._today_op is None, timeout=10_000)
    timer.stop()
    assert seen == [False, False]
    assert len(ticks) >= 10  # the event loop kept running through 0.6 s of reading
    assert "Today's payments" in tab.today_title.text() and "could not be read" not in tab.today_title.text()


def test_receipt_pdf_is_written_off_the_gui_thread(make_tab, qtbot, monkeypatch, tmp_path):  # noqa: F811
    tab = make_tab()
    seen = []  # per call: did it run on the GUI thread

    def fake_pdf(doc, path):
        path.write_bytes(b"%PDF-fake")
        return path

    monkeypatch.setattr("console.ui.tabs.counter_tab.save_receipt_pdf", slowed(0.3, fake_pdf, seen))
    tab.last_document = object()
    tab.pages.setCurrentIndex(1)
    statuses = []
    monkeypatch.setattr(tab.ctx, "status", lambda text, *a: statuses.append(text))
    timer, ticks = ticking()
    op = tab.save_pdf(tmp_path / "r.pdf")
    assert op is not None and not tab.pdf_button.isEnabled()  # busy while writing
    assert tab.save_pdf(tmp_path / "again.pdf") is None  # a second Ctrl+S meanwhile does not start another
    qtbot.waitUntil(lambda: op.done, timeout=10_000)
    timer.stop()
    assert seen == [False] and len(ticks) >= 5
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF") and not (tmp_path / "again.pdf").exists()
    assert tab.pdf_button.isEnabled() and statuses[-1].startswith("Receipt saved")


def test_receipt_pdf_failure_is_shown(make_tab, qtbot, monkeypatch, tmp_path):  # noqa: F811
    tab = make_tab()
    monkeypatch.setattr("console.ui.tabs.counter_tab.save_receipt_pdf", raising(OSError("the disk is full")))
    tab.last_document = object()
    tab.pages.setCurrentIndex(1)
    op = tab.save_pdf(tmp_path / "r.pdf")
    qtbot.waitUntil(lambda: op.done, timeout=10_000)
    assert tab.errors and isinstance(tab.errors[-1], OSError) and tab.pdf_button.isEnabled()
