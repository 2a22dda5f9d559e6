"""Posting tab: preview model (100,000 rows), post with progress and cancel, manual void with role
check, review / retry, reconciliation report export. The Caselle side is the in-memory fake."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

from console.adapters.journal import DONE, NEEDS_REVIEW, REJECTED
from console.app import build_services
from console.config import sandbox_profile
from console.domain.models import Receipt
from console.sandbox import exports
from console.secrets import MemoryBackend
from console.services.posting import PlanRow, PostingService, RetryPolicy
from console.ui.context import UiContext
from console.ui.operations import tracker
from console.ui.posting_dialogs import ManualVoidDialog, VoidRequest
from console.ui.posting_models import PostingRowsModel, RowRole, totals_text
from tests.unit.test_posting_service import TODAY, FakeCaselle

OPS = {o.operator_id: o for o in sandbox_profile().operators}


@pytest.fixture(autouse=True)
def _cleanup(qtbot):
    yield
    tracker().cancel_all()
    tracker().wait(10_000)


class SlowFake(FakeCaselle):
    """Knows every demo account; each create takes a little time so a run can be cancelled."""

    def __init__(self, delay=0.0):
        super().__init__()
        self.delay = delay
        from console.sandbox.seed import demo_customers, to_customer_detail

        self.customers = {c.account_number: to_customer_detail(c) for c in demo_customers()}

    def create_receipt(self, **kw):
        time.sleep(self.delay)
        return super().create_receipt(**kw)


@pytest.fixture
def make_tab(qtbot, monkeypatch):
    errors = []
    monkeypatch.setattr("console.ui.tabs.posting_tab.show_error", lambda parent, exc: errors.append(exc))

    def make(operator="clerk1", delay=0.0):
        from console.ui.tabs.posting_tab import PostingTab

        services = build_services("sandbox", secret_backend=MemoryBackend())
        fake = SlowFake(delay)
        services.__dict__["posting"] = PostingService(services.journal, fake, services.profile, services.audit,
                                                      retry=RetryPolicy(base_s=0.01, cap_s=0.05),
                                                      today=lambda: TODAY, workers=1)
        tab = PostingTab(UiContext(services, OPS.get(operator)))
        qtbot.addWidget(tab)
        tab.errors = errors
        tab.fake = fake
        return tab

    return make


def _wait(qtbot, op, timeout=20_000):
    qtbot.waitUntil(lambda: op.done, timeout=timeout)
    qtbot.wait(20)


def _rows(n):
    return [PlanRow(i + 2, f"P{i:07d}", "receipt", "post receipt", f"1000{i % 50:02d}-01",
                    Decimal(i % 500) + Decimal("0.25"), "CARD" if i % 3 else "ACH", "2026-11-25",
                    ("pending", "done", "rejected")[i % 3]) for i in range(n)]


def test_rows_model_contract_filter_and_totals(qtmodeltester):
    model = PostingRowsModel()
    model.set_rows(_rows(30))
    qtmodeltester.check(model)
    assert model.data(model.index(1, PostingRowsModel.AMOUNT)) == "$1.25"
    model.set_state("rejected")
    qtmodeltester.check(model)
    assert model.rowCount() == 10
    assert all(model.data(model.index(i, 0), RowRole).state == "rejected" for i in range(10))
    model.set_state(None)
    assert model.data(model.index(1, PostingRowsModel.STATE)) == "Done"
    assert "ACH:" in totals_text(model) and "All:" in totals_text(model)


def test_hundred_thousand_rows_filter_and_sort():
    """The model filters and sorts 100,000 rows (speed itself is the benchmark's business)."""
    rows = _rows(100_000)
    model = PostingRowsModel()
    model.set_rows(rows)
    proxy = model  # the model filters itself (was a QSortFilterProxyModel)
    proxy.set_state("done")
    n = proxy.rowCount()
    for i in range(0, n, 997):  # what a view asks for while scrolling
        for c in range(model.columnCount()):
            proxy.data(proxy.index(i, c))
    proxy.sort(PostingRowsModel.AMOUNT, Qt.SortOrder.DescendingOrder)
    first = proxy.data(proxy.index(0, 0), RowRole)
    assert first.state == "done" and first.amount == max(r.amount for r in rows if r.state == "done")
    proxy.sort(PostingRowsModel.LINE, Qt.SortOrder.AscendingOrder)
    assert proxy.data(proxy.index(0, 0), RowRole).line == 3
    assert n == 33_333


def test_preview_then_post_with_progress(qtbot, make_tab, tmp_path):
    tab = make_tab()
    f = tmp_path / "p.csv"
    summary = exports.write_export("payments", f, 120, 8)
    _wait(qtbot, tab.load_file(f, "payments"))
    assert tab.plan is not None and tab.preview.model.rowCount() == 120
    assert tab.post_button.isEnabled() and "120 rows" in tab.banner.text()
    seen = []
    op = tab.post()
    op.on_progress(lambda d, t, m: seen.append((d, t)))
    _wait(qtbot, op)
    assert not tab.errors, tab.errors
    assert tab.last_run.outcomes["posted"] == summary["receipts"]
    assert len(tab.fake.receipts) == summary["receipts"]
    assert seen and seen[-1][0] == seen[-1][1]
    qtbot.waitUntil(lambda: tab.preview.model.state_counts().get(DONE, 0) == summary["receipts"], timeout=5000)
    assert "Posted:" in tab.banner.text()
    # the same file again: the banner says so and nothing is posted twice
    _wait(qtbot, tab.load_file(f, "payments"))
    assert "already imported" in tab.banner.text() and not tab.override_button.isHidden()
    _wait(qtbot, tab.post())
    assert len(tab.fake.creates()) == summary["receipts"]


def test_cancel_then_finish(qtbot, make_tab, tmp_path):
    tab = make_tab(delay=0.01)
    f = tmp_path / "p.csv"
    exports.write_export("payments", f, 200, 12, receipts_only=True)
    _wait(qtbot, tab.load_file(f, "payments"))
    op = tab.post()
    qtbot.waitUntil(lambda: len(tab.fake.receipts) >= 20, timeout=10_000)
    tab.cancel()
    _wait(qtbot, op)
    assert tab.last_run.cancelled and 20 <= len(tab.fake.receipts) < 200
    assert "Cancelled" in tab.banner.text()
    _wait(qtbot, tab.post(), timeout=30_000)
    assert len(tab.fake.receipts) == 200 and len(tab.fake.creates()) == 200


def _counter_receipt(fake, by, day=TODAY):
    fake.receipts["CTR-9"] = Receipt("5.00999", "CTR-9", "100001-01", Decimal("40.00"), "CR20261126", day, "CASH",
                                     extra={"status": "POSTED", "createdBy": by})


def test_manual_void_dialog_reasons_and_role_check(qtbot, make_tab):
    tab = make_tab(operator="cashier1")
    _counter_receipt(tab.fake, by="clerk1")
    dialog = tab.make_void_dialog()
    qtbot.addWidget(dialog)
    assert dialog.reason.count() == 1 + 7 and "PIN" in dialog.note.text()
    assert dialog.problems() == ["Enter the receipt number.", "Choose a reason.", "Write a comment."]
    dialog.receipt.setText("5.00999")
    _wait(qtbot, dialog.find())
    assert "account 100001-01" in dialog.details.text() and "$40.00" in dialog.details.text()
    assert "taken by clerk1" in dialog.details.text()
    dialog.receipt.setText("9.99999")
    _wait(qtbot, dialog.find())
    assert "no receipt 9.99999" in dialog.details.text()
    dialog.receipt.setText("5.00999")
    dialog.reason.setCurrentIndex(dialog.reason.findData("DUPLICATE"))
    dialog.comment.setPlainText("keyed twice")
    assert dialog.problems() == []
    req = dialog.request()
    op = tab.void(req)
    _wait(qtbot, op)
    assert not tab.fake.receipts["CTR-9"].voided
    assert tab.errors and "supervisor" in str(tab.errors[-1]).lower()
    op = tab.void(VoidRequest("5.00999", "DUPLICATE", "keyed twice", "", "9999"))
    _wait(qtbot, op)
    assert tab.fake.receipts["CTR-9"].voided
    assert "voided" in tab.banner.text()
    rows = tab.ctx.services.audit.rows(action="receipt.void")
    assert rows[-1].operator == "cashier1" and rows[-1].details["approved_by"] == "super1"


def test_review_queue_and_retry(qtbot, make_tab, tmp_path):
    tab = make_tab()
    f = tmp_path / "p.csv"
    rows = exports.payments(5, 3, receipts_only=True)
    exports.write_export("payments", f, 5, 3, receipts_only=True)
    pid = rows[0]["PaymentId"]
    tab.fake.receipts[pid] = Receipt("5.08888", pid, rows[0]["AccountNumber"], Decimal("1.00"), "CR", TODAY, "CARD",
                                     extra={"status": "POSTED"})
    missing = rows[1]["AccountNumber"]
    tab.fake.customers.pop(missing)
    _wait(qtbot, tab.load_file(f, "payments"))
    _wait(qtbot, tab.post())
    qtbot.waitUntil(lambda: tab.review.model.rowCount() == 1 and tab.failed.model.rowCount() >= 1, timeout=5000)
    assert tab.review.model.rows[0].key == pid and tab.review.model.rows[0].state == NEEDS_REVIEW
    _wait(qtbot, tab._on_review_clicked(tab.review.model.index(0, 0)))
    assert "differences" in tab.evidence.toPlainText()
    tab.fake.customers[missing] = tab.fake.customers[rows[2]["AccountNumber"]]
    tab.failed.view.selectRow(0)
    op = tab.retry(tab.failed.selected_rows())
    _wait(qtbot, op)
    assert tab.ctx.services.journal.get(rows[1]["PaymentId"]).state == DONE
    tab.review.view.selectRow(0)
    # a clerk may not resolve a review: the buttons say so and the service refuses it
    assert not tab.reject_review_button.isEnabled()
    assert "resolve entries waiting for review" in tab.gate.banner.text()
    _wait(qtbot, tab.resolve("rejected"))
    assert tab.ctx.services.journal.get(pid).state == NEEDS_REVIEW
    tab.ctx.operator = OPS["super1"]  # a supervisor takes over
    tab.review.view.selectRow(0)
    _wait(qtbot, tab.resolve("rejected"))
    assert tab.ctx.services.journal.get(pid).state == REJECTED


def test_reconciliation_report_build_and_export(qtbot, make_tab, tmp_path):
    tab = make_tab()
    f = tmp_path / "p.csv"
    # the file's payment dates come from the service's clock (TODAY), as its batch closing does;
    # dated by the real day instead, no batch was before "today" and none closed after TODAY
    summary = exports.write_export("payments", f, 50, 4, as_of=TODAY)
    _wait(qtbot, tab.load_file(f, "payments"))
    _wait(qtbot, tab.post())
    (record,) = tab.ctx.services.journal.files()
    tab.report_date.setDate(dt.datetime.fromisoformat(record.imported_at).astimezone().date())  # as journaled
    _wait(qtbot, tab.build_report())
    rep = tab.report
    assert rep is not None and rep.total.counts["posted"] == summary["receipts"]
    assert rep.total.amounts["posted"] == Decimal(summary["receipts_total"])
    assert "Total:" in tab.report_text.toPlainText()
    assert "Caselle (closed)" in tab.report_text.toPlainText()  # Caselle's own batch totals beside ours
    _wait(qtbot, tab.export_report(tmp_path / "r.csv", "csv"))
    assert (tmp_path / "r.csv").read_text().startswith("Report,")
    _wait(qtbot, tab.export_report(tmp_path / "r.pdf", "pdf"))
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    assert not tab.errors and tab.pdf_button.isEnabled()


def test_void_dialog_validation_message(qtbot):
    dialog = ManualVoidDialog(operator_role="supervisor")
    qtbot.addWidget(dialog)
    assert "without a PIN" in dialog.note.text()
    dialog._on_ok()
    assert "receipt number" in dialog.error.text()


def test_ach_rejects_disabled_on_old_api(qtbot, make_tab):
    from console.ui.tabs.posting_tab import PostingTab

    tab = make_tab()
    assert tab.kind.model().item(tab.kind.findData("rejects")).isEnabled()
    services = tab.ctx.services
    services.profile = services.profile.with_values(caselle_api_version="2021.02.160")
    old = PostingTab(UiContext(services, OPS["clerk1"]))
    qtbot.addWidget(old)
    item = old.kind.model().item(old.kind.findData("rejects"))
    assert not item.isEnabled() and "2021.05" in item.toolTip()


def test_files_page_and_missed_file_warning(qtbot, qtmodeltester, make_tab, tmp_path):
    from console.adapters.journal import FileRecord
    from console.ui.posting_models import FilesModel, last_import_warning

    tab = make_tab()
    f = tmp_path / "p.csv"
    exports.write_export("payments", f, 10, 5)
    _wait(qtbot, tab.load_file(f, "payments"))
    _wait(qtbot, tab.post())
    qtbot.waitUntil(lambda: tab.files_model.rowCount() == 1, timeout=5000)
    qtmodeltester.check(tab.files_model)
    assert tab.files_model.data(tab.files_model.index(0, FilesModel.NAME)) == "p.csv"
    assert tab.files_model.data(tab.files_model.index(0, FilesModel.RECORDS)) == "10"
    assert tab.files_note.text() == ""
    old = FileRecord("x", "old.csv", "payments", "2026-11-20T12:00:00+00:00", "clerk1", 5, "1.00", 1)
    assert "6 days ago" in last_import_warning([old], "payments", dt.date(2026, 11, 26))
    assert "No payments file" in last_import_warning([], "payments", dt.date(2026, 11, 26))


def test_fetch_from_invoice_cloud_and_supervisor_override(qtbot, make_tab):
    from console.sandbox.invoicecloud_server import DEMO_WEB_SERVICE_KEY, InvoiceCloudServer

    tab = make_tab()
    with InvoiceCloudServer() as ic:
        tab.ctx.services.__dict__["endpoints"] = {"ic_api_url": ic.url, "ic_web_service_key": DEMO_WEB_SERVICE_KEY}
        tab.posting.inbox_dir = tab.ctx.services.paths.data_dir / "inbox"
        _wait(qtbot, tab.fetch())
        assert not tab.errors, tab.errors
        assert tab.plan is not None and tab.plan.records == 200 and tab.plan.name.startswith("ic-payments-")
        _wait(qtbot, tab.post())
        posted = len(tab.fake.receipts)
        assert posted > 0
        _wait(qtbot, tab.fetch())  # the same data again: known, Post only finishes what is left
        assert "already imported" in tab.banner.text()
    _wait(qtbot, tab.override("super1", "0000"))
    assert tab.errors and tab.current_op is None  # wrong PIN: refused, shown, nothing posted
    runs = []
    post = tab.post
    tab.post = lambda **kw: runs.append(post(**kw)) or runs[-1]
    _wait(qtbot, tab.override("super1", "9999"))  # the PIN check, then the posting run
    assert len(runs) == 1 and runs[0] is not None
    _wait(qtbot, runs[0])
    assert len(tab.fake.creates()) == posted  # re-imported, yet nothing posted twice
    rows = tab.ctx.services.audit.rows(action="file.override")
    assert rows and rows[-1].details["approved_by"] == "super1"


def test_a_cashier_sees_posting_disabled_and_why(qtbot, make_tab):
    tab = make_tab(operator="cashier1")
    tab.show()
    for button in (tab.open_button, tab.fetch_button, tab.post_button, tab.retry_failed_button,
                   tab.done_review_button):
        assert not button.isEnabled()
    banner = tab.gate.banner
    assert banner.isVisible() and banner.objectName() == "role-banner"
    assert banner.text().startswith("Signed in as cashier: you may not import a file for posting, "
                                    "post payments to Caselle")
    tab._busy(True, "x")
    tab._busy(False)  # work finishing never turns a refused action back on
    assert not tab.open_button.isEnabled() and not tab.post_button.isEnabled()
    clerk = make_tab(operator="clerk1")
    clerk.show()
    assert clerk.open_button.isEnabled()
    assert "import" not in clerk.gate.banner.text() and "resolve entries waiting for review" in clerk.gate.banner.text()
