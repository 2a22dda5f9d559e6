"""Invoice Import tab as a clerk uses it (regressions found in the QA pass under Xvfb): a PDF
renamed .txt gets one clear error, a header-only file cannot be sent, the banner never shows
raw exception text, Ctrl+O / Ctrl+F work, the last send's delivery status is said once (in the
banner) and goes away when another file is opened, and Enter in the supervisor's PIN approves."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTabBar, QVBoxLayout, QWidget

from console.errors import UserFacingError
from console.files.reader import UnreadableFileError
from console.services.invoices import check_invoices, not_a_text_export
from console.ui.tabs.invoice_import_tab import failure_reason
from tests.data_files import BILLS_SAMPLE_PDF
from tests.ui.test_invoices_import_tab import _cleanup, _loaded, write  # noqa: F401
from tests.ui.test_invoices_import_tab import make_tab as make_tab  # noqa: F401 - the fixture


def test_a_pdf_renamed_txt_is_one_clear_error(tmp_path):
    pdf = tmp_path / "ICExport.txt"
    pdf.write_bytes(BILLS_SAMPLE_PDF.read_bytes()[:4096])
    with pytest.raises(UnreadableFileError) as caught:
        check_invoices(pdf)
    assert "PDF document" in caught.value.reason and "Invoice Cloud Export" in caught.value.reason
    assert len(caught.value.problems) == 1
    for head in (b"PK\x03\x04rest", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"{\\rtf1\\ansi"):
        (tmp_path / "x.txt").write_bytes(head)
        assert not_a_text_export(tmp_path / "x.txt")
    assert not_a_text_export(write(tmp_path, 3)) is None


def test_the_pdf_in_the_tab_names_the_problem_not_every_column(qtbot, make_tab, tmp_path):
    tab = make_tab()
    pdf = tmp_path / "bill.txt"
    pdf.write_bytes(BILLS_SAMPLE_PDF.read_bytes())
    tab.load_file(pdf)
    _loaded(qtbot, tab)
    assert "The file is a PDF document" in tab.banner.text()
    assert str(tmp_path) not in tab.banner.text()  # no path twice, no raw exception text
    assert tab.errors and isinstance(tab.errors[-1], UnreadableFileError)
    assert not tab.send_button.isEnabled()


def test_a_file_with_only_a_header_cannot_be_sent(qtbot, make_tab, tmp_path):
    tab = make_tab()
    full = write(tmp_path, 3)
    header_only = tmp_path / "header.txt"
    header_only.write_text(full.read_text(encoding="utf-8").splitlines()[0] + "\r\n", encoding="utf-8")
    tab.load_file(header_only)
    _loaded(qtbot, tab)
    assert tab.check is not None and tab.check.record_count == 0
    assert not tab.send_button.isEnabled() and "no invoices" in tab.send_button.toolTip()
    assert "holds no invoices" in tab.banner.text()
    tab.load_file(full)
    _loaded(qtbot, tab)
    qtbot.waitUntil(tab.send_button.isEnabled, timeout=5000)


def test_failure_reason_never_shows_an_unexpected_exception():
    assert failure_reason(UnreadableFileError("/x/y.txt", "the file does not exist")) == "The file does not exist."
    assert failure_reason(UserFacingError("The layout is broken")) == "The layout is broken."
    text = failure_reason(KeyError("TotalAmountDue"))
    assert "TotalAmountDue" not in text and "KeyError" not in text


def test_ctrl_o_and_ctrl_f_work_from_the_tab_bar(qtbot, make_tab, tmp_path, monkeypatch):
    host = QWidget()
    qtbot.addWidget(host)
    tab_bar = QTabBar(host)  # the focus is outside the tab's own widgets, as right after choosing the tab
    tab_bar.addTab("Invoice Import")
    tab = make_tab()
    box = QVBoxLayout(host)
    box.addWidget(tab_bar)
    box.addWidget(tab)
    opened = []
    monkeypatch.setattr(tab, "_on_open_clicked", lambda: opened.append(True))
    host.show()
    host.activateWindow()
    qtbot.waitActive(host)
    tab_bar.setFocus()
    # through the window (the way a real key press arrives, so the shortcut map sees it)
    QTest.keyClick(host.windowHandle(), Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert opened == [True]
    QTest.keyClick(host.windowHandle(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert tab.filter_edit.hasFocus()
    box.removeWidget(tab)
    tab.setParent(None)  # qtbot closes the tab itself; the host must not delete it too
    assert tab.open_button.text().startswith("&") and "&" in tab.send_button.text()


def test_the_override_dialog_approves_on_enter_in_the_pin(qtbot):
    from console.ui.transfer_override_dialog import SupervisorOverrideDialog
    from tests.ui.test_transfer_dialogs import _already_sent

    tried = []

    def approve(sid, pin):
        tried.append((sid, pin))
        raise UserFacingError("Unknown operator ID or wrong PIN")

    d = SupervisorOverrideDialog(_already_sent(), approve)
    qtbot.addWidget(d)
    d.show()
    d.activateWindow()
    qtbot.waitActive(d)
    d.supervisor_id.setFocus()
    qtbot.keyClicks(d.supervisor_id, "super1")
    qtbot.keyClick(d.supervisor_id, Qt.Key.Key_Return)
    assert d.focusWidget() is d.pin and d.isVisible()
    qtbot.keyClicks(d.pin, "1234")
    qtbot.keyClick(d.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: d._op is not None and d._op.done, timeout=5000)  # checked on a worker
    assert tried == [("super1", "1234")] and d.isVisible()  # tried, refused, still open
    assert "wrong PIN" in d.message.text()
    qtbot.keyClick(d, Qt.Key.Key_Escape)
    assert not d.isVisible() and d.supervisor is None


def test_the_last_sends_status_is_said_once_and_goes_when_another_file_is_opened(qtbot, make_tab, tmp_path):
    from types import SimpleNamespace

    from console.ui.tabs.invoice_import_tab import SentState

    tab = make_tab()
    panel = tab.transfer_panel
    assert panel is not None and panel.details_only
    statuses = []
    tab.ctx.status = statuses.append
    first = write(tmp_path, 3, name="October.txt")
    tab.load_file(first)
    _loaded(qtbot, tab)
    # as after a send of this file in this session
    tab._sending_path = first
    tab.sent = SentState("", "clerk1", "/invoices/October.txt", this_session=True, status="awaiting pickup")
    tab.sender.result = SimpleNamespace(remote_name="October.txt")
    panel.info.setText("Upload: 1,234 bytes over SFTP, checksum verified.")
    tab.sender.delivery_changed.emit("delivered")
    # the banner says it; the panel under the table does not say it a second time
    assert "/invoices/October.txt: delivered" in tab.banner.text() and tab.banner.property("state") == "ok"
    assert panel.status.isHidden() and "Deliver" not in panel.info.text()
    tab.load_file(first)  # the same file checked again: its upload details stay
    _loaded(qtbot, tab)
    assert panel.info.text().startswith("Upload:")
    tab.load_file(write(tmp_path, 3, name="November.txt"))
    _loaded(qtbot, tab)
    assert panel.status.isHidden() and panel.info.text() == ""
    assert "October" not in tab.banner.text()
    # October's pickup confirmed while November is open: the status bar says so, not the banner
    tab.sender.delivery_changed.emit("delivered")
    assert statuses[-1] == "October.txt: delivered — picked up from the server"
    assert "October" not in tab.banner.text() and panel.status.isHidden()


def test_summary_amounts_read_as_money_like_the_other_tabs(tmp_path):
    from console.ui.tabs.invoice_import_tab import summary_html

    check = check_invoices(write(tmp_path, 30))
    text = summary_html(check)
    from console.domain.money import format_money

    assert f"<b>{format_money(check.total_amount_due)}</b>" in text and "$" in text
    assert check.summary.credit_balance_count > 0  # the generated rows include credit balances
    assert f"({format_money(check.summary.credit_balance_total)})" in text  # "-$123.45", not "-123.45"


def test_override_dialog_shows_local_time_not_utc(qtbot):
    import datetime as dt

    from console.formatting import format_date, format_time
    from console.ui.transfer_override_dialog import SupervisorOverrideDialog, local_time
    from tests.ui.test_transfer_dialogs import _already_sent

    stamp = "2026-11-20T08:00:05.123+00:00"
    moment = dt.datetime.fromisoformat(stamp).astimezone()
    expected = f"{format_date(moment)} at {format_time(moment, seconds=True)}"  # the one local format
    assert local_time(stamp) == "on " + expected
    d = SupervisorOverrideDialog(_already_sent(), lambda sid, pin: None)
    qtbot.addWidget(d)
    assert expected in d.previous_label.text() and "UTC" not in d.previous_label.text()


def test_no_progress_bar_spins_behind_the_supervisor_question(qtbot):
    from types import SimpleNamespace

    from console.services.transfer import AlreadySent
    from console.ui.transfer_panel import TransferPanel
    from console.ui.transfer_sender import TransferSender
    from tests.ui.test_transfer_dialogs import _already_sent

    parent = QWidget()
    qtbot.addWidget(parent)
    seen = []

    def ask_override(widget, error, approve, file_name=""):
        seen.append((panel.progress.isVisibleTo(panel), panel.info.text()))
        return None

    sender = TransferSender(parent, SimpleNamespace(), None, ask_override=ask_override)
    panel = TransferPanel(sender)
    qtbot.addWidget(panel)
    panel.show()
    sender.started.emit("ICExport.txt")  # as when a send starts: progress shown
    assert panel.progress.isVisibleTo(panel)
    error = _already_sent()
    assert isinstance(error, AlreadySent)
    sender._on_failed(Path("ICExport.txt"), error)
    assert seen == [(False, "ICExport.txt was already sent: waiting for a supervisor…")]
    assert "no supervisor approved" in panel.info.text()
