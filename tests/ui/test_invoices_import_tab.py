"""Invoice Import tab: table model (qtmodeltester, sort / filter by index lists), problems list
that jumps to the row, summary, Send only for valid files, preview first, cancel, drop."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from console.app import build_services
from console.files.reader import read_bytes
from console.files.writer import write_delimited
from console.secrets import MemoryBackend
from console.ui.context import UiContext
from console.ui.operations import tracker
from console.ui.tabs.invoice_import_tab import (
    InvoiceImportTab,
    InvoiceTableModel,
    ProblemRole,
    ProblemsModel,
    RecordRole,
    display,
    summary_html,
)
from tests.data_files import INVOICES_INVALID
from tests.ui.threads import drain

FUTURE = dt.date.today() + dt.timedelta(days=30)


@pytest.fixture(autouse=True)
def _cleanup(qtbot):
    yield
    # a preview that finished just now may still start its whole-file check from a queued
    # callback: cancel, wait and let the queue run until nothing is left
    drain(qtbot, 10_000, rounds=3, settle_ms=20)


def rows(n: int) -> list[dict]:
    out = []
    for i in range(n):
        prev, cur = Decimal(i % 97) - 10, Decimal((i * 7) % 400) / 4
        out.append({"AccountNumber": f"{i // 1000:02d}-{i % 1000:04d}", "InvoiceNumber": f"INV{i}",
                    "InvoiceType": 42 if i % 10 else 101, "CustomerName": ("SMITH, ANN" if i % 5 == 0 else f"LEE {i}"),
                    "BillDate": FUTURE, "DueDate": FUTURE + dt.timedelta(days=20),
                    "PreviousBalance": prev, "CurrentCharges": cur, "TotalAmountDue": prev + cur})
    return out


def write(tmp_path, n=50, *, corrupt=None, name="inv.txt") -> Path:
    text = write_delimited(rows(n), "ic-invoice-v1")
    if corrupt:
        text = corrupt(text)
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    return p


@pytest.fixture
def make_tab(qtbot, monkeypatch):
    errors = []
    monkeypatch.setattr("console.ui.tabs.invoice_import_tab.show_error", lambda parent, exc: errors.append(exc))

    def make():
        services = build_services("sandbox", secret_backend=MemoryBackend())
        tab = InvoiceImportTab(UiContext(services))
        qtbot.addWidget(tab)
        tab.errors = errors
        return tab

    return make


def _loaded(qtbot, tab, timeout=30_000):
    qtbot.waitUntil(lambda: not tab.loading, timeout=timeout)
    qtbot.wait(10)


# ---- models --------------------------------------------------------------------------
def _result(n=30, corrupt=None):
    text = write_delimited(rows(n), "ic-invoice-v1")
    if corrupt:
        text = corrupt(text)
    return read_bytes(text.encode(), "ic-invoice-v1")


def test_models_pass_qtmodeltester(qtmodeltester):
    r = _result(30, corrupt=lambda t: t.replace(",INV3,42,", ",INV3,4x2,"))
    assert r.errors and r.warnings
    model = InvoiceTableModel()
    model.set_result(r)
    qtmodeltester.check(model)
    problems = ProblemsModel()
    problems.set_problems(r.errors, r.warnings)
    qtmodeltester.check(problems)


def test_table_model_shows_typed_values_and_marks_problems():
    r = _result(12, corrupt=lambda t: t.replace(",INV4,42,", ",INV4,4x2,"))
    model = InvoiceTableModel()
    model.set_result(r)
    assert model.rowCount() == 12 and model.headers[:3] == ["Line", "AccountNumber", "InvoiceNumber"]
    total_col = model.column_of("TotalAmountDue")
    assert model.data(model.index(0, 0)) == "2"
    assert model.data(model.index(0, total_col)) == display(r.column("TotalAmountDue")[0])
    bad = model.index(4, model.column_of("InvoiceType"))
    assert model.data(bad) == "4x2"  # the raw text of a bad cell
    assert model.data(bad, Qt.ItemDataRole.BackgroundRole) is not None
    assert "int" in model.data(bad, Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(3, 1), Qt.ItemDataRole.BackgroundRole) is None
    assert model.data(model.index(4, 1), RecordRole) == 4
    assert display(Decimal("1234.5")) == "1,234.50" and display(True) == "Y" and display(None) == ""
    assert display(dt.date(2026, 1, 2)) == "01/02/2026"


def test_sort_and_filter_rearrange_indexes_only():
    r = _result(20_000)
    model = InvoiceTableModel()
    model.set_result(r)
    col = model.column_of("TotalAmountDue")
    model.sort(col, Qt.SortOrder.DescendingOrder)
    totals = r.column("TotalAmountDue")
    shown = [totals[model.record_index(i)] for i in range(model.rowCount())]
    assert shown == sorted(totals, reverse=True)
    model.sort(0, Qt.SortOrder.AscendingOrder)
    assert [model.record_index(i) for i in range(5)] == [0, 1, 2, 3, 4]
    model.set_filter("smith, ann")
    assert model.rowCount() == 4000
    assert all(r.column("CustomerName")[model.record_index(i)] == "SMITH, ANN" for i in range(0, 4000, 97))
    model.set_filter("02-0015")
    assert model.rowCount() == 1 and model.record_index(0) == 2015
    assert model.view_row(2015) == 0 and model.view_row(3) is None
    model.set_filter("", only_problems=True)  # here: the credit balances (warnings)
    credits = [i for i, v in enumerate(totals) if v < 0]
    assert credits and [model.record_index(i) for i in range(model.rowCount())] == credits


# ---- the tab ---------------------------------------------------------------------------
def test_valid_file_summary_and_send(qtbot, make_tab, tmp_path, confirm_sends):
    tab = make_tab()
    path = write(tmp_path, 50)
    tab.load_file(path)
    assert not tab.send_button.isEnabled()  # nothing checked yet
    _loaded(qtbot, tab)
    assert tab.check is not None and tab.check.ok
    assert tab.model.rowCount() == 50
    total = sum(r["TotalAmountDue"] for r in rows(50))
    assert f"{total:,.2f}" in tab.summary.text() and "Invoice type 101" in tab.summary.text()
    assert "valid" in tab.banner.text()
    assert tab.send_button.isEnabled()
    sent = []
    assert tab.sender is not None  # the transfer side's controller and panel are attached
    tab.sender.send = lambda path, **kw: sent.append((path, kw))
    with qtbot.waitSignal(tab.send_requested, timeout=2000) as sig:
        qtbot.mouseClick(tab.send_button, Qt.MouseButton.LeftButton)
    assert sig.args[0] is tab.check and sig.args[0].fingerprint == tab.check.result.fingerprint
    assert sent == [(path, {"expected_sha256": tab.check.fingerprint})]
    asked = confirm_sends[0]  # confirmed first: what, how many, how much, where, the profile
    assert (asked.what, asked.count, asked.amount, asked.training) == (path.name, 50, total, True)
    assert "invoices" in asked.destination


def test_invalid_file_blocks_send_and_problems_jump_to_rows(qtbot, make_tab):
    tab = make_tab()
    tab.load_file(INVOICES_INVALID)
    _loaded(qtbot, tab)
    assert not tab.check.ok and not tab.send_button.isEnabled()
    assert "error" in tab.banner.text()
    pm = tab.problems_model
    assert pm.rowCount() == len(tab.check.errors) + len(tab.check.warnings)
    # the "not a real date" error on line 12
    row = next(i for i in range(pm.rowCount()) if pm.data(pm.index(i, 0), ProblemRole).line == 12)
    tab.problems.clicked.emit(pm.index(row, 1))
    current = tab.table.currentIndex()
    assert tab.model.data(tab.model.index(current.row(), 0)) == "12"
    assert tab.model.headers[current.column()] == "BillDate"
    # "Show" choices
    tab.show_box.setCurrentIndex(tab.show_box.findData("errors"))
    shown = {tab.model.data(tab.model.index(i, 0)) for i in range(tab.model.rowCount())}
    assert shown == {"5", "9", "12", "15", "18", "21", "24", "27", "30", "33"}
    tab.show_box.setCurrentIndex(tab.show_box.findData("credits"))
    assert tab.model.rowCount() == 0 and "0 of 40 rows" in tab.count_label.text()
    tab.show_box.setCurrentIndex(0)
    # a jump to a row hidden by the filter clears the filter
    tab.filter_edit.setText("no such customer")
    assert tab.model.rowCount() == 0
    p = pm.data(pm.index(0, 0), ProblemRole)
    assert tab.jump_to(p)
    assert tab.filter_edit.text() == "" and tab.model.rowCount() == 40
    # the trailer line has no row to jump to
    trailer = next(p for p in tab.check.errors if p.line == 42)
    assert tab.jump_to(trailer) is False


def test_another_file_opens_at_its_first_column(qtbot, make_tab, tmp_path):
    tab = make_tab()
    tab.resize(900, 600)
    tab.show()
    tab.load_file(INVOICES_INVALID)
    _loaded(qtbot, tab)
    bar = tab.table.horizontalScrollBar()
    assert bar.value() > 0  # the jump to the first error (TotalAmountDue) scrolled the table right
    tab.load_file(write(tmp_path, 20))
    _loaded(qtbot, tab)
    assert tab.check.ok and bar.value() == 0  # the new file starts at Line / AccountNumber


def test_preview_rows_come_first_and_send_waits_for_the_check(qtbot, make_tab, tmp_path, monkeypatch):
    import console.ui.tabs.invoice_import_tab as mod

    release = threading.Event()
    real = mod.check_invoices

    def slow_check(*a, **kw):
        release.wait(20)
        return real(*a, **kw)

    monkeypatch.setattr(mod, "check_invoices", slow_check)
    tab = make_tab()
    path = write(tmp_path, 6000)
    tab.load_file(path)
    qtbot.waitUntil(lambda: tab.model.rowCount() > 0, timeout=10_000)
    assert tab.model.preview and 0 < tab.model.rowCount() < 6000
    assert tab.loading and not tab.send_button.isEnabled()
    assert "checking the whole file" in tab.banner.text()
    release.set()
    _loaded(qtbot, tab)
    assert tab.model.rowCount() == 6000 and not tab.model.preview and tab.send_button.isEnabled()


def test_cancel_and_unreadable_file(qtbot, make_tab, tmp_path, monkeypatch):
    import console.ui.tabs.invoice_import_tab as mod

    release = threading.Event()
    real = mod.check_invoices
    monkeypatch.setattr(mod, "check_invoices", lambda *a, **kw: (release.wait(20), real(*a, **kw))[1])
    tab = make_tab()
    tab.load_file(write(tmp_path, 100))
    assert tab.loading
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    assert not tab.loading and "Cancelled" in tab.banner.text() and not tab.send_button.isEnabled()
    release.set()
    tracker().wait(10_000)
    qtbot.wait(50)
    assert tab.check is None  # the cancelled check's result is dropped
    monkeypatch.setattr(mod, "check_invoices", real)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 30)
    tab.load_file(garbage)
    _loaded(qtbot, tab)
    assert tab.errors and "binary" in str(tab.errors[-1])
    assert not tab.send_button.isEnabled() and tab.model.rowCount() == 0


def test_changing_the_layout_checks_the_file_again(qtbot, make_tab, tmp_path):
    tab = make_tab()
    tab.load_file(write(tmp_path, 10))
    _loaded(qtbot, tab)
    assert tab.check.ok and tab.check.layout.name == "ic-invoice-v1"
    tab.layout_box.setCurrentIndex(tab.layout_box.findData("ic-invoice-fixed-v1"))
    qtbot.waitUntil(lambda: tab.check is not None and tab.check.layout.name == "ic-invoice-fixed-v1",
                    timeout=30_000)
    _loaded(qtbot, tab)
    assert not tab.check.ok and not tab.send_button.isEnabled()  # a CSV file is not fixed width


def test_drop_a_file_loads_it(qtbot, make_tab, tmp_path):
    tab = make_tab()
    path = write(tmp_path, 10)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    tab.dropEvent(event)
    _loaded(qtbot, tab)
    assert tab.check is not None and tab.path == path and tab.model.rowCount() == 10


def test_summary_lists_credits_and_repeated_accounts(tmp_path):
    from console.services.invoices import check_invoices

    data = rows(30)
    data[5]["AccountNumber"] = data[6]["AccountNumber"]
    p = tmp_path / "x.txt"
    p.write_text(write_delimited(data, "ic-invoice-v1"), encoding="utf-8", newline="")
    check = check_invoices(p)
    text = summary_html(check)
    credits = sum(1 for r in data if r["TotalAmountDue"] < 0)
    assert f"Credit balances</td><td>{credits}" in text
    assert data[5]["AccountNumber"] in text and "Account with several invoices: 1" in text


def test_send_a_checked_file_to_the_sftp_server_once(qtbot, tmp_path, confirm_sends):
    """End to end: check, then Send through the transfer side to a real SFTP server."""
    import os
    from types import SimpleNamespace

    import paramiko

    from console.adapters import transfer as tx
    from console.adapters.journal import SqliteJournal
    from console.config import sandbox_profile
    from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
    from console.services.audit import AuditLog
    from console.services.operators import OperatorService
    from console.services.transfer import TransferService

    root = tmp_path / "root"
    (root / "invoices").mkdir(parents=True)
    with SftpServer(root, paramiko.ECDSAKey.generate(bits=256)) as server:
        settings = tx.TransferSettings("sftp", server.host, server.port, DEMO_USER, password=DEMO_PASSWORD,
                                       known_hosts=tmp_path / "known_hosts", timeout=5)
        tx.trust_host_key(settings.known_hosts, server.host, server.port, server.public_key)
        journal, audit = SqliteJournal(tmp_path / "j.sqlite3"), AuditLog(tmp_path / "j.sqlite3")
        svc = TransferService(lambda: tx.SftpTransfer(settings), settings, journal, audit,
                              folders={"invoices": "/invoices"}, profile=sandbox_profile())
        profile = sandbox_profile()
        services = SimpleNamespace(transfer=svc, operators=OperatorService(profile, audit), audit=audit,
                                   profile=profile)
        try:
            tab = InvoiceImportTab(UiContext(services, profile.operator("clerk1")))
            qtbot.addWidget(tab)
            path = write(tmp_path, 40, name="ICExport.txt")
            tab.load_file(path)
            _loaded(qtbot, tab)
            assert tab.send_button.isEnabled()
            tab.sender.poll_limit = 0
            with qtbot.waitSignal(tab.sender.finished, timeout=20_000) as done:
                qtbot.mouseClick(tab.send_button, Qt.MouseButton.LeftButton)
                assert not tab.send_button.isEnabled()  # no double click while sending
            assert done.args == [True]
            assert sorted(os.listdir(root / "invoices")) == ["ICExport.txt"]
            assert (root / "invoices" / "ICExport.txt").read_bytes() == path.read_bytes()
            tab.sender.stop_polling()
            assert tab.send_button.isEnabled()
        finally:
            tracker().cancel_all()
            tracker().wait(5000)
            journal.close()
            audit.close()


def test_show_subsets_credits_and_repeated_accounts():
    data = rows(40)
    data[7]["AccountNumber"] = data[3]["AccountNumber"]
    r = read_bytes(write_delimited(data, "ic-invoice-v1").encode(), "ic-invoice-v1")
    model = InvoiceTableModel()
    model.set_result(r)
    assert model.rows_where("several") == {3, 7}
    credits = {i for i, x in enumerate(data) if x["TotalAmountDue"] < 0}
    assert credits and model.rows_where("credits") == credits
    assert model.rows_where("errors") == set() and model.rows_where("all") is None
    model.set_filter("", subset={3, 7})
    assert [model.record_index(i) for i in range(model.rowCount())] == [3, 7]


def test_amounts_kept_as_cents_sort_like_their_decimals():
    """The invoice check keeps amounts as integer cents; sorting by them gives the Decimal order,
    absent (unreadable) amounts first, without making a Decimal per row."""
    from decimal import Decimal

    from console.files.packed import PackedAmounts
    from console.ui.tabs.invoice_import_tab import _sort_keys

    cents = [1050, None, -275, 0, 99, None, 100000]
    keys = _sort_keys(PackedAmounts(list(cents)))
    by_cents = sorted(range(len(cents)), key=keys.__getitem__)
    decimals = [None if c is None else Decimal(c) / 100 for c in cents]
    plain = _sort_keys(decimals)
    assert by_cents == sorted(range(len(cents)), key=plain.__getitem__) == [1, 5, 2, 3, 4, 0, 6]
    assert _sort_keys(PackedAmounts([None, None])) == [-1, -1]
