"""Invoice Import tab, reviewed as a billing clerk would use it: wording without "(s)", a banner
whose look says valid / broken / sent, the first broken invoice shown at once with its account
and customer, trailer problems explained (not a silent no-jump), and a file that was already
sent says so on opening — when, by whom, where, delivered or awaiting pickup — with Send turned
into "Send again…" (a supervisor's override)."""

from __future__ import annotations

import pytest

from console.app import build_services
from console.config import sandbox_profile
from console.errors import Problem
from console.files.reader import read_bytes
from console.files.writer import write_delimited
from console.sandbox.invoice_export import invoice_rows, write_invoice_export
from console.sandbox.runner import stop_embedded
from console.secrets import MemoryBackend
from console.ui.context import UiContext
from console.ui.operations import tracker
from console.ui.tabs.invoice_import_tab import (
    InvoiceImportTab,
    outside_row_html,
    plural,
    problem_counts,
    row_details_html,
    summary_html,
)
from tests.ui.test_invoices_import_tab import make_tab as make_tab  # noqa: F401 - the fixture

PROFILE = sandbox_profile()


@pytest.fixture(autouse=True)
def _drain(qtbot, monkeypatch):
    monkeypatch.setenv("BILLER_CONSOLE_SANDBOX_PICKUP_DELAY", "0.2")
    yield
    for _ in range(3):
        tracker().cancel_all()
        tracker().wait(10_000)
        qtbot.wait(20)
    stop_embedded()


def broken_file(tmp_path, name="broken.txt"):
    """Realistic rows with a bad amount, a missing account, a date that does not exist, a
    total that breaks balance forward, and a trailer total that disagrees."""
    rows = invoice_rows(30)
    text = write_delimited(rows, "ic-invoice-v1", trailer=True)
    lines = text.split("\r\n")

    def edit(line_no: int, column: int, value: str) -> None:
        fields = lines[line_no - 1].split(",")
        fields[column] = value
        lines[line_no - 1] = ",".join(fields)

    edit(6, 15, "4O.25")  # CurrentCharges: a letter O
    edit(10, 0, "")  # AccountNumber missing
    edit(15, 12, "11/31/2026")  # BillDate that does not exist
    trailer = next(i for i, line in enumerate(lines) if line.startswith("TRAILER"))
    lines[trailer] = "TRAILER,30,1.00"
    path = tmp_path / name
    path.write_text("\r\n".join(lines), encoding="utf-8", newline="")
    return path, rows


def _loaded(qtbot, tab):
    qtbot.waitUntil(lambda: tab.check is not None and not tab.loading, timeout=30_000)
    qtbot.wait(10)


def test_counts_read_as_words():
    assert plural(1, "error") == "1 error" and plural(5, "error") == "5 errors"
    assert plural(1234, "invoice") == "1,234 invoices"
    assert problem_counts(0, 0) == "No problems"
    assert problem_counts(0, 199) == "No errors, 199 warnings"
    assert problem_counts(1, 1) == "1 error, 1 warning"


def test_summary_marks_a_trailer_that_does_not_match(tmp_path):
    from console.services.invoices import check_invoices

    good = tmp_path / "good.txt"
    write_invoice_export(good, count=20)
    text = good.read_text(encoding="utf-8")
    assert "does not match" not in summary_html(check_invoices(good)) and "(s)" not in summary_html(
        check_invoices(good))
    bad = tmp_path / "bad.txt"
    bad.write_text(text.replace(text.rsplit("TRAILER,", 1)[1], "20,1.00\r\n"), encoding="utf-8", newline="")
    check = check_invoices(bad)
    assert any(p.rule.startswith("trailer") for p in check.errors)
    html = summary_html(check)
    assert "does not match" in html and "1 error" in html and "(s)" not in html


def test_row_details_name_the_invoice_and_what_is_wrong(tmp_path):
    path, rows = broken_file(tmp_path)
    r = read_bytes(path.read_bytes(), "ic-invoice-v1")
    i = r.index_of_line(6)
    problems = [p for p in r.errors + r.warnings if p.line == 6]
    html = row_details_html(r, i, problems)
    assert "Line 6" in html and rows[4]["AccountNumber"] in html
    assert rows[4]["InvoiceNumber"] in html and rows[4]["CustomerName"] in html
    assert "is not an amount" in html and "Error" in html
    missing = row_details_html(r, r.index_of_line(10), [p for p in r.errors if p.line == 10])
    assert "missing" in missing and "AccountNumber is required" in missing
    many = [Problem(6, "Email", f"r{k}", f"problem number {k}") for k in range(7)]
    capped = row_details_html(r, i, many)
    assert "problem number 2" in capped and "problem number 3" not in capped and "4 more" in capped
    credit = next(k for k, v in enumerate(r.columns["TotalAmountDue"]) if v is not None and v < 0)
    assert f"credit balance ${-r.columns['TotalAmountDue'][credit]:,.2f}" in row_details_html(r, credit, [])
    trailer = next(p for p in r.errors if p.rule.startswith("trailer"))
    assert "the trailer" in outside_row_html(trailer)
    assert "The whole file" in outside_row_html(Problem(None, None, "encoding", "x"))


def test_a_broken_file_shows_its_first_error_and_explains_the_trailer(qtbot, make_tab, tmp_path):
    tab = make_tab()
    path, rows = broken_file(tmp_path)
    tab.load_file(path)
    _loaded(qtbot, tab)
    assert not tab.check.ok and not tab.send_button.isEnabled()
    assert tab.banner.property("state") == "error"
    assert f"has {len(tab.check.errors)} errors" in tab.banner.text() and "(s)" not in tab.banner.text()
    assert "(s)" not in tab.problems_label.text() and "errors" in tab.problems_label.text()
    # the first error is selected in the list and its invoice is on screen, named in words
    first = tab.check.errors[0]
    assert tab.problems.currentIndex().row() == 0
    current = tab.table.currentIndex()
    assert tab.model.data(tab.model.index(current.row(), 0)) == str(first.line)
    assert "Line 6" in tab.row_details.text() and rows[4]["AccountNumber"] in tab.row_details.text()
    # a click on another problem moves both
    pm = tab.problems_model
    row = next(k for k in range(pm.rowCount()) if pm.problems[k].line == 15)
    tab.problems.clicked.emit(pm.index(row, 1))
    assert "Line 15" in tab.row_details.text() and "not a real date" in tab.row_details.text()
    # the trailer has no row: the strip says where it is and what is wrong
    row = next(k for k in range(pm.rowCount()) if pm.problems[k].rule.startswith("trailer"))
    tab.problems.clicked.emit(pm.index(row, 1))
    assert "the trailer" in tab.row_details.text() and "control total" in tab.row_details.text()
    assert "does not match" in tab.summary.text()
    assert "errors" in tab.send_button.toolTip()


def test_a_valid_file_is_ready_to_send(qtbot, make_tab, tmp_path):
    tab = make_tab()
    assert not tab.send_button.isEnabled() and "No file open" in tab.summary.text()
    assert "Open a checked invoice file" in tab.send_button.toolTip()
    path = tmp_path / "ICExport.txt"
    write_invoice_export(path, count=25)
    tab.load_file(path)
    _loaded(qtbot, tab)
    assert tab.banner.property("state") == "ok" and "Ready to send" in tab.banner.text()
    assert "25 invoices" in tab.banner.text()
    assert tab.send_button.text().replace("&", "") == "Send to Invoice Cloud" and tab.send_button.isEnabled()
    assert tab.sent is None


def test_a_file_sent_before_says_so_and_send_becomes_send_again(qtbot, tmp_path, confirm_sends):
    services = build_services("sandbox", secret_backend=MemoryBackend(), operator_id="clerk1")
    try:
        export = tmp_path / "ICExport-Nov2026.txt"
        write_invoice_export(export, count=30)
        tab = InvoiceImportTab(UiContext(services, PROFILE.operator("clerk1")))
        qtbot.addWidget(tab)
        tab.sender.set_poll_interval(100)
        tab.load_file(export)
        _loaded(qtbot, tab)
        with qtbot.waitSignal(tab.sender.finished, timeout=30_000) as done:
            tab.send_button.click()
        assert done.args == [True]
        # the banner follows the send: sent, then delivered once Stratus picked it up
        assert tab.sent is not None and tab.sent.this_session
        qtbot.waitUntil(lambda: tab.sent.status == "delivered", timeout=15_000)
        assert "was sent to the sandbox (TRAINING" in tab.banner.text() and "delivered" in tab.banner.text()
        assert "/invoices/ICExport-Nov2026.txt" in tab.banner.text()
        assert tab.banner.property("state") == "ok"
        # said once: the panel under the table tells how the upload was checked, not the delivery again
        panel = tab.transfer_panel
        assert panel.status.isHidden() and not panel.status.text()
        assert panel.info.text().startswith("Upload:") and "checksum verified" in panel.info.text()
        assert "ICExport-Nov2026" not in panel.info.text() and "elivered" not in panel.info.text()
        assert tab.send_button.text().replace("&", "") == "Send again…" and tab.send_button.isEnabled()
        assert "supervisor" in tab.send_button.toolTip()
        tab.sender.stop_polling()

        # another day, another window: the same file opened again
        other = InvoiceImportTab(UiContext(services, PROFILE.operator("clerk1")))
        qtbot.addWidget(other)
        other.load_file(export)
        _loaded(qtbot, other)
        qtbot.waitUntil(lambda: other.sent is not None and other.sent.status is not None, timeout=15_000)
        text = other.banner.text()
        assert "already sent" in text and "Blair Clerk (clerk1)" in text
        assert "/invoices/ICExport-Nov2026.txt" in text and "delivered" in text and "supervisor" in text
        assert other.banner.property("state") == "warn"
        assert other.send_button.text().replace("&", "") == "Send again…"
        # Send again without a supervisor's approval: nothing sent, the banner still says why
        asked_while = []  # what the tab says while the supervisor is asked: nothing is being sent then
        other.sender.ask_override = lambda *a, **k: asked_while.append(
            (other.banner.text(), other.send_button.text())) or None
        banners = []
        other.sender.started.connect(lambda _n: banners.append(other.banner.text()))
        with qtbot.waitSignal(other.sender.finished, timeout=30_000) as done:
            other.send_button.click()
        assert done.args == [False]
        assert banners and banners[0].startswith("Sending ICExport-Nov2026.txt to the sandbox")
        assert asked_while and not asked_while[0][0].startswith("Sending") and "Sending" not in asked_while[0][1]
        assert "already sent" in other.banner.text() and other.banner.property("state") == "warn"
        assert other.send_button.text().replace("&", "") == "Send again…" and other.send_button.isEnabled()

        # a different file: nothing about the earlier send
        fresh = tmp_path / "ICExport-Dec2026.txt"
        write_invoice_export(fresh, count=31)
        other.load_file(fresh)
        _loaded(qtbot, other)
        qtbot.wait(200)
        assert other.sent is None and "already sent" not in other.banner.text()
        assert other.send_button.text().replace("&", "") == "Send to Invoice Cloud"
    finally:
        tracker().cancel_all()
        tracker().wait(10_000)
        services.close()


def test_an_unreadable_file_leaves_no_stale_summary(qtbot, make_tab, tmp_path):
    tab = make_tab()
    good = tmp_path / "ICExport.txt"
    write_invoice_export(good, count=10)
    tab.load_file(good)
    _loaded(qtbot, tab)
    assert "Total amount due" in tab.summary.text()
    pdf = tmp_path / "scan.txt"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + bytes(range(256)) * 4)
    tab.load_file(pdf)
    qtbot.waitUntil(lambda: not tab.loading, timeout=10_000)
    assert tab.check is None and "No file open" in tab.summary.text()
    assert tab.banner.property("state") == "error" and not tab.send_button.isEnabled()
