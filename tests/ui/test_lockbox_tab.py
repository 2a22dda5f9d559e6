"""Lockbox tab (offscreen): models, preview → build → send by e-mail → summary, duplicates and the
GL mapping editor with supervisor approval."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from console.app import build_services
from console.config import sandbox_profile
from console.lockbox.glmap import GlFormat, GlMap
from console.secrets import MemoryBackend
from console.services.lockbox import DUPLICATE, INCLUDED, UNMAPPED, load_payments_file
from console.ui.context import UiContext, ui_settings
from console.ui.lockbox_models import (
    AMOUNT,
    BATCH,
    GL_ACCOUNT,
    STATUS,
    ItemRow,
    LockboxFilterModel,
    LockboxItemsModel,
    TotalsModel,
)
from console.ui.operations import tracker
from tests.lockbox_data import payment_rows, write_payments

PROFILE = sandbox_profile()
CLERK = PROFILE.operators[1]
SUPERVISOR = PROFILE.operators[2]
SANDBOX_GL = {"301": "10-4100-000", "302": "10-4200-000", "303": "20-4300-010"}

pytestmark = pytest.mark.usefixtures("drained")


def settle(qtbot, condition, timeout=20000) -> None:
    """Wait (event loop running) until ``condition``, then until every worker thread is idle.

    PySide6 6.12 corrupts reference counts when ``QApplication.processEvents()`` (which
    pytest-qt calls at teardown) runs while another thread executes Python: workers must
    be idle before a test ends.
    """
    qtbot.waitUntil(condition, timeout=timeout)
    assert tracker().wait(timeout)


def make_tab(qtbot, operator=CLERK, endpoints=None):
    from console.ui.tabs.lockbox_tab import LockboxTab

    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints=endpoints or {"caselle_url": ""})
    services.lockbox.use_gl_map(GlMap(SANDBOX_GL, "test"))
    ctx = UiContext(services, operator, settings=ui_settings(services.paths.config_dir))
    tab = LockboxTab(ctx)
    tab.resize(1300, 800)
    qtbot.addWidget(tab)
    tab.show()
    return tab


def previewed(qtbot, tab, path: Path):
    tab.load_payments(path)
    settle(qtbot, lambda: tab.preview is not None and not tab.busy, timeout=20000)
    return tab.preview


def built(qtbot, tab, path: Path):
    tab.current = None
    tab.build_to(path)
    settle(qtbot, lambda: tab.current is not None and not tab.busy, timeout=20000)
    return tab.current



def handed_over_once(qtbot, tmp_path: Path, count: int = 5):
    """A tab that has built ``a.txt`` from ``count`` payments and marked it handed over (so the
    payments are sent); returns ``(tab, payments_file)``."""
    tab = make_tab(qtbot)
    pay = write_payments(tmp_path / "p.csv", payment_rows(count))
    previewed(qtbot, tab, pay)
    built(qtbot, tab, tmp_path / "a.txt")
    tab.mark_handed_over("USB stick")
    settle(qtbot, lambda: not tab.busy and tab.current.registered.status == "handed_over")
    return tab, pay


@contextmanager
def emailed_once(qtbot, tmp_path: Path, count: int):
    """A tab (pointed at a sandbox SMTP sink) that has built ``lb.txt`` from ``count`` payments
    and e-mailed it once; yields ``(tab, sink)`` with the sink still running."""
    from console.sandbox.smtp_sink import DEMO_PASSWORD, DEMO_USER, SmtpSink

    with SmtpSink(tmp_path / "sink") as sink:
        endpoints = {"caselle_url": "", "smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_user": DEMO_USER,
                     "smtp_password": DEMO_PASSWORD, "smtp_ca_file": str(sink.cert_file)}
        tab = make_tab(qtbot, endpoints=endpoints)
        previewed(qtbot, tab, write_payments(tmp_path / "p.csv", payment_rows(count)))
        built(qtbot, tab, tmp_path / "lb.txt")
        tab.send_current("email")
        settle(qtbot, lambda: tab.last_send is not None and not tab.busy, timeout=20000)
        yield tab, sink

# ---- models -------------------------------------------------------------------------------

def _row(i: int, status: str = INCLUDED) -> ItemRow:
    return ItemRow(i, f"P{i}", f"C{i}", f"AR-{i}", "301", "10-4100-000", "SMITH JOHN", Decimal(i) + Decimal("0.05"),
                   "11/21/2026", f"1/{i}", status)


def test_items_model_passes_qtmodeltester_and_filters(qtmodeltester):
    model = LockboxItemsModel()
    model.set_rows([_row(1), _row(2, DUPLICATE), _row(3, UNMAPPED)])
    qtmodeltester.check(model)
    assert model.data(model.index(0, AMOUNT)) == "$1.05"
    assert model.data(model.index(1, STATUS)) == "Left out: duplicate"
    proxy = LockboxFilterModel()
    proxy.setSourceModel(model)
    assert proxy.rowCount() == 3
    proxy.set_group(LockboxFilterModel.NEEDS_LOOK)
    assert proxy.rowCount() == 1
    proxy.set_group(LockboxFilterModel.LEFT_OUT)
    assert proxy.rowCount() == 1
    proxy.set_group(LockboxFilterModel.ALL)
    proxy.set_text("ar-2")
    assert proxy.rowCount() == 1


def test_totals_model_passes_qtmodeltester(qtmodeltester):
    model = TotalsModel(("GL account", "Items", "Amount"), (1, 2))
    model.set_rows([("10-4100-000", "2", "$3.00")], total=("Total", "2", "$3.00"))
    qtmodeltester.check(model)
    assert model.rowCount() == 2 and model.data(model.index(1, 0)) == "Total"


# ---- the flow -------------------------------------------------------------------------------

def test_preview_build_and_summary(qtbot, tmp_path):
    tab = make_tab(qtbot)
    rows = payment_rows(25)
    rows[4]["InvoiceType"] = "42"
    p = previewed(qtbot, tab, write_payments(tmp_path / "p.csv", rows))
    assert len(p.items) == 24 and p.skipped_utility == 1
    assert tab.model.rowCount() == 24
    gl_col = [tab.model.data(tab.model.index(r, GL_ACCOUNT)) for r in range(tab.model.rowCount())]
    assert set(gl_col) <= set(SANDBOX_GL.values())
    assert tab.model.data(tab.model.index(0, BATCH)) == "1/1"
    assert tab.gl_model.data(tab.gl_model.index(tab.gl_model.rowCount() - 1, 1)) == "24"
    assert "24 CloudStore payments" in tab.summary_label.text() and "1 utility" in tab.summary_label.text()
    assert tab.build_button.isEnabled() and not tab.send_button.isEnabled()
    c = built(qtbot, tab, tmp_path / "lb.txt")
    assert c.ok and (tmp_path / "lb.txt").exists() and "verified" in tab.file_label.text()
    assert tab.send_button.isEnabled() and tab.print_button.isEnabled()
    assert c.file.fingerprint[:16] in tab.file_label.text()
    # the summary sheet: printed to a PDF printer, and saved through fpdf2
    from PySide6.QtPrintSupport import QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    tab.print_summary(printer)
    assert (tmp_path / "printed.pdf").read_bytes().startswith(b"%PDF")
    assert c.file.fingerprint in tab.summary_html()
    tab.save_summary_pdf(tmp_path / "sheet.pdf")
    settle(qtbot, lambda: (tmp_path / "sheet.pdf").exists() and not tab.busy, timeout=10000)


def test_unmapped_items_block_the_build_and_are_listed(qtbot, tmp_path):
    tab = make_tab(qtbot)
    rows = payment_rows(6)
    rows[2]["InvoiceType"] = "777"
    p = previewed(qtbot, tab, write_payments(tmp_path / "p.csv", rows))
    assert not p.ok and not tab.build_button.isEnabled()
    assert tab.group_combo.currentIndex() == LockboxFilterModel.NEEDS_LOOK and tab.proxy.rowCount() == 1
    texts = [tab.problems.item(i).text() for i in range(tab.problems.count())]
    assert any("line 4" in t and "unmapped" in t for t in texts)


def test_duplicates_are_left_out_until_a_supervisor_approves(qtbot, tmp_path):
    tab, pay = handed_over_once(qtbot, tmp_path)
    tab.preview = None
    p = previewed(qtbot, tab, pay)
    assert p.count(DUPLICATE) == 5 and not tab.build_button.isEnabled() and tab.override_button.isEnabled()
    asked = []
    tab.ask_supervisor = lambda parent, approve, reason: asked.append(reason) or None
    tab._on_override_button_clicked()
    assert asked and tab.duplicates_by is None
    tab.ask_supervisor = lambda parent, approve, reason: approve(SUPERVISOR.operator_id, "9999")
    tab._on_override_button_clicked()
    settle(qtbot, lambda: not tab.busy and tab.preview.duplicates_overridden_by == SUPERVISOR.operator_id,
                    timeout=10000)
    assert len(tab.preview.items) == 5 and tab.build_button.isEnabled()
    assert "included by supervisor" in tab.summary_label.text()


def test_send_by_email_to_the_sandbox_sink_and_again_only_with_a_supervisor(qtbot, tmp_path):
    with emailed_once(qtbot, tmp_path, 9) as (tab, sink):
        assert len(sink.messages()) == 1
        assert sink.messages()[0].attachment("lb.txt") == (tmp_path / "lb.txt").read_bytes()
        assert "e-mailed" in tab.file_label.text()
        asked = []
        tab.ask_supervisor = lambda parent, approve, reason: asked.append(reason) or None
        tab.last_send = None
        tab.send_current("email")
        settle(qtbot, lambda: bool(asked) and not tab.busy, timeout=20000)
        assert "already e-mailed" in asked[0] and len(sink.messages()) == 1
        tab.ask_supervisor = lambda parent, approve, reason: approve(SUPERVISOR.operator_id, "9999")
        tab.send_current("email")
        settle(qtbot, lambda: tab.last_send is not None and not tab.busy, timeout=20000)
        assert len(sink.messages()) == 2


def test_checking_a_damaged_file_lists_its_problems(qtbot, tmp_path):
    tab = make_tab(qtbot)
    previewed(qtbot, tab, write_payments(tmp_path / "p.csv", payment_rows(3)))
    built(qtbot, tab, tmp_path / "lb.txt")
    data = (tmp_path / "lb.txt").read_bytes().replace(b"\r\n9", b"\r\n9X", 1)
    (tmp_path / "bad.txt").write_bytes(data)
    tab.current = None
    tab.check_file(tmp_path / "bad.txt")
    settle(qtbot, lambda: tab.current is not None and not tab.busy, timeout=10000)
    assert not tab.current.ok and not tab.send_button.isEnabled() and not tab.print_button.isEnabled()
    assert "not a valid lockbox file" in tab.file_label.text()
    assert tab.problems.count() >= 1 and "line" in tab.problems.item(0).text()


def test_gl_mapping_editor_needs_a_supervisor_and_checks_the_format(qtbot, tmp_path):
    tab = make_tab(qtbot, operator=CLERK)
    dialog = tab.gl_mapping_dialog()
    qtbot.addWidget(dialog)
    assert not dialog.editable and not dialog.add_button.isEnabled() and not dialog.save_button.isEnabled()
    tab.ask_supervisor = lambda parent, approve, reason: approve(CLERK.operator_id, "2222")
    with pytest.raises(Exception):  # noqa: B017 - a clerk cannot approve
        dialog._on_unlock_button_clicked()
    tab.ask_supervisor = lambda parent, approve, reason: approve(SUPERVISOR.operator_id, "9999")
    dialog._on_unlock_button_clicked()
    assert dialog.editable and dialog.add_button.isEnabled()
    dialog._on_add_button_clicked()
    r = dialog.table.rowCount() - 1
    from PySide6.QtWidgets import QTableWidgetItem

    dialog.table.setItem(r, 0, QTableWidgetItem("304"))
    dialog.table.setItem(r, 1, QTableWidgetItem("10-41X0-000"))
    assert not dialog.save_button.isEnabled() and "does not match" in dialog.problems_label.text()
    dialog.table.item(r, 1).setText("30-4400-000")
    assert dialog.save_button.isEnabled()
    op = dialog._on_save()  # stored on a worker
    settle(qtbot, lambda: op.done)
    assert dialog.saved is not None and dialog.saved.account("304") == "30-4400-000"
    assert tab.service.settings.gl_map.account("304") == "30-4400-000"
    from console.services.lockbox import profile_gl_map

    stored = profile_gl_map(tab.ctx.services.profile, tab.ctx.services.paths)
    assert stored.account("304") == "30-4400-000" and GlFormat().matches(stored.account("301"))


def test_a_supervisor_edits_directly_and_cashiers_cannot_build(qtbot, tmp_path):
    tab = make_tab(qtbot, operator=SUPERVISOR)
    dialog = tab.gl_mapping_dialog()
    qtbot.addWidget(dialog)
    assert dialog.editable
    cashier = make_tab(qtbot, operator=PROFILE.operators[0])
    previewed(qtbot, cashier, write_payments(tmp_path / "p.csv", payment_rows(2)))
    assert cashier.preview.ok and not cashier.build_button.isEnabled()


def test_sandbox_payments_button_previews_todays_training_file(qtbot):
    from console.ui.tabs.lockbox_tab import LockboxTab

    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    tab = LockboxTab(UiContext(services, CLERK, settings=ui_settings(services.paths.config_dir)))
    qtbot.addWidget(tab)
    assert tab.sandbox_button.isVisible() or not tab.isVisible()
    tab._on_sandbox_button_clicked()
    settle(qtbot, lambda: tab.preview is not None and not tab.busy, timeout=20000)
    assert tab.preview.ok and len(tab.preview.items) > 30
    assert len(load_payments_file(tab.source_path).payments) == 48


def test_posting_queue_as_the_source(qtbot, tmp_path):
    from console.adapters.journal import NewEntry
    from console.services.lockbox import QUEUE_KIND

    tab = make_tab(qtbot)
    journal = tab.ctx.services.journal
    rows = payment_rows(4)
    journal.add_entries([NewEntry(f"lockbox:{r['PaymentId']}", QUEUE_KIND, {
        "payment_id": r["PaymentId"], "confirmation": r["ConfirmationNumber"], "account": r["AccountNumber"],
        "invoice_number": r["InvoiceNumber"], "payer_name": r["PayerName"], "amount": r["Amount"],
        "payment_date": "2026-11-20", "settlement_date": "2026-11-21", "item_code": r["InvoiceType"]})
        for r in rows], operator="clerk1", fingerprint="e" * 64, file_name="p.csv", file_kind="payments",
        records=4, total="0")
    tab.queue_button.click()
    settle(qtbot, lambda: tab.preview is not None and not tab.busy)
    assert tab.source_label.text() == "Posting queue" and len(tab.preview.items) == 4
    built(qtbot, tab, tmp_path / "q.txt")
    tab.mark_handed_over("by hand")
    settle(qtbot, lambda: not tab.busy and tab.current.registered.status == "handed_over")
    assert {e.state for e in journal.entries(kinds=[QUEUE_KIND])} == {"done"}


def test_double_clicking_an_unmapped_payment_opens_the_mapping_with_its_code(qtbot, tmp_path):
    tab = make_tab(qtbot)
    rows = payment_rows(3)
    rows[1]["InvoiceType"] = "555"
    previewed(qtbot, tab, write_payments(tmp_path / "p.csv", rows))
    index = tab.proxy.index(0, 0)  # "Needs a look" shows the unmapped one
    tab.table.doubleClicked.emit(index)
    dialog = tab.gl_dialog
    assert dialog is not None and dialog.isVisible() and "555" in [c for _, c, _ in dialog.entries()]
    assert "NN-NNNN-NNN" in dialog.format_label.text()
    dialog.close()


def test_stratus_send_then_the_pickup_receipt(qtbot, tmp_path):
    import paramiko

    from console.adapters import transfer as tx
    from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer, StratusPickup
    from console.services.transfer import TransferService

    root = tmp_path / "sftp"
    (root / "lockbox").mkdir(parents=True)
    with SftpServer(root, paramiko.ECDSAKey.generate(bits=256)) as srv:
        pickup = StratusPickup(root, delay=0.3).start()
        try:
            kh = tmp_path / "known_hosts"
            tx.trust_host_key(kh, srv.host, srv.port, srv.public_key)
            settings = tx.TransferSettings("sftp", srv.host, srv.port, DEMO_USER, password=DEMO_PASSWORD,
                                           known_hosts=kh, timeout=5)
            tab = make_tab(qtbot)
            journal = tab.ctx.services.journal
            tab.ctx.services.overrides["transfer"] = TransferService(
                lambda: tx.open_transfer(settings), settings, journal, folders={"lockbox": "/lockbox"}, profile=sandbox_profile())
            tab._poll_timer.setInterval(200)
            previewed(qtbot, tab, write_payments(tmp_path / "p.csv", payment_rows(5)))
            built(qtbot, tab, tmp_path / "lb.txt")
            tab.send_current("stratus")
            settle(qtbot, lambda: tab.last_send is not None and not tab.busy)
            assert tab.last_send.destination == "/lockbox/lb.txt"
            assert "sent through Stratus" in tab.file_label.text()
            settle(qtbot, lambda: tab.delivery == "delivered" and not tab.busy, timeout=15000)
            assert (root / "lockbox" / "lb.txt.snt").exists() and "delivered" in tab.summary_label.text()
        finally:
            pickup.stop()
