"""Account sync view (Posting tab → Account sync): pending adjustments, Sync with progress and cancel,
history with journal states and retry, conversion builder with preview and errors. In-memory fakes
for Caselle, Invoice Cloud and the transfer; the real journal."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

from console.app import build_services
from console.config import sandbox_profile
from console.secrets import MemoryBackend
from console.services.account_sync import AccountSyncService
from console.services.conversions import ConversionService
from console.services.posting import RetryPolicy
from console.ui.account_sync_view import AccountSyncView, ConversionModel, HistoryModel, PendingModel
from console.ui.context import UiContext
from console.ui.operations import tracker
from tests.unit.test_conversions_rules import _c, _Pages, _Transfer
from tests.unit.test_sync_service import FakeCaselle, FakeIC

OPS = {o.operator_id: o for o in sandbox_profile().operators}


@pytest.fixture(autouse=True)
def _cleanup(qtbot):
    yield
    tracker().cancel_all()
    tracker().wait(10_000)


class SlowIC(FakeIC):
    def __init__(self, delay=0.0, **kw):
        super().__init__(**kw)
        self.delay = delay

    def put_balance(self, row, key):
        time.sleep(self.delay)
        return super().put_balance(row, key)


@pytest.fixture
def make_view(qtbot, monkeypatch):
    errors = []
    monkeypatch.setattr("console.ui.account_sync_view.show_error", lambda parent, exc: errors.append(exc))

    def make(operator="clerk1", delay=0.0, customers=None):
        services = build_services("sandbox", secret_backend=MemoryBackend())
        caselle, ic = FakeCaselle(), SlowIC(delay, unknown={"102451-01"})
        services.__dict__["account_sync"] = AccountSyncService(services.journal, caselle, ic, services.profile,
                                                               services.audit, retry=RetryPolicy(0.0, 0.0))
        transfer = _Transfer()
        pages = _Pages(customers if customers is not None else [_c(f"10010{i}-01") for i in range(4)])
        services.__dict__["conversions"] = ConversionService(pages, transfer=transfer,
                                                             today=lambda: dt.date(2026, 12, 1), profile=services.profile)
        view = AccountSyncView(UiContext(services, OPS.get(operator)))
        qtbot.addWidget(view)
        view.caselle, view.ic, view.transfer, view.errors = caselle, ic, transfer, errors
        return view

    return make


def _wait(qtbot, op, timeout=20_000):
    assert op is not None
    qtbot.waitUntil(lambda: op.done, timeout=timeout)
    qtbot.wait(20)


def _cell(model, row, col):
    return model.data(model.index(row, col))


def test_models_pass_the_model_tester(qtmodeltester, make_view, qtbot):
    view = make_view()
    view.caselle.add("100102-01", "-12.50", "30.00")
    view.caselle.add("102451-01", "5.00", "95.00")
    _wait(qtbot, view.check())
    qtmodeltester.check(view.pending_model)
    _wait(qtbot, view.sync())
    qtmodeltester.check(view.history_model)
    _wait(qtbot, view.build_conversion())
    qtmodeltester.check(view.conversion_model)


def test_pending_table_shows_account_amount_reason_and_new_balance(make_view, qtbot):
    view = make_view()
    view.caselle.add("100102-01", "-12.50", "30.00", reason="Leak credit")
    _wait(qtbot, view.check())
    m = view.pending_model
    assert m.rowCount() == 1
    assert _cell(m, 0, PendingModel.ACCOUNT) == "100102-01"
    assert _cell(m, 0, PendingModel.AMOUNT) == "-$12.50"
    assert _cell(m, 0, PendingModel.REASON) == "Leak credit"
    assert _cell(m, 0, PendingModel.NEW_BALANCE) == "$30.00"
    assert _cell(m, 0, PendingModel.MINIMUM) == "$30.00"  # never above the new balance
    assert "1 balance update" in view.pending_label.text()
    assert view.ic.puts == []  # checking sends nothing


def test_sync_sends_and_shows_history_with_journal_states(make_view, qtbot):
    view = make_view()
    view.caselle.add("100102-01", "-12.50", "30.00")
    view.caselle.add("102451-01", "5.00", "95.00")
    _wait(qtbot, view.sync())
    assert sorted(view.ic.puts) == ["ADJ-000001", "ADJ-000002"]
    assert view.pending_model.rowCount() == 0
    h = view.history_model
    states = {_cell(h, r, HistoryModel.ACCOUNT): (_cell(h, r, HistoryModel.STATE), _cell(h, r, HistoryModel.OUTCOME))
              for r in range(h.rowCount())}
    assert states == {"100102-01": ("Sent", "Sent"), "102451-01": ("Reported", "Account not in Invoice Cloud")}
    assert "102451-01" in view.summary.text() and "complete" in view.summary.text().lower()
    view.history_filter.setCurrentIndex(view.history_filter.findData("rejected"))
    assert view.history_proxy.rowCount() == 1


def test_sync_progress_and_cancel_then_sync_again_finishes(make_view, qtbot):
    view = make_view(delay=0.05)
    for i in range(40):
        view.caselle.add(f"1001{i:02d}-01", "-1.00", "9.00")
    op = view.sync()
    qtbot.waitUntil(lambda: len(view.ic.puts) >= 3, timeout=10_000)
    assert not view.progress.isHidden() and view.cancel_button.isEnabled()
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    _wait(qtbot, op)
    assert view.last_result is not None and view.last_result.cancelled
    assert len(view.ic.puts) < 40 and "cancelled" in view.summary.text().lower()
    view.ic.delay = 0.0
    _wait(qtbot, view.sync())
    assert view.last_result.complete and sorted(set(view.ic.puts)) == sorted(view.ic.puts)
    assert len(view.ic.store) == 40


def test_retry_a_reported_update_once_the_account_is_registered(make_view, qtbot):
    view = make_view()
    view.caselle.add("102451-01", "5.00", "95.00")
    _wait(qtbot, view.sync())
    view.ic.unknown.clear()
    view.history_view.selectRow(0)
    _wait(qtbot, view.retry(view.selected_history()))
    assert _cell(view.history_model, 0, HistoryModel.STATE) == "Sent"
    assert "ADJ-000001" in view.ic.lookups  # looked up before it was sent again


def test_conversion_builder_preview_errors_save_and_send(make_view, qtbot, tmp_path):
    customers = [_c("100102-01"), _c("100106-01", paperless=True, email=""), _c("100110-01", phone="12")]
    view = make_view(customers=customers)
    _wait(qtbot, view.build_conversion())
    m = view.conversion_model
    assert m.rowCount() == 3 and view.errors_list.count() == 2
    assert "100106-01" in view.errors_list.item(0).text() and "e-mail" in view.errors_list.item(0).text()
    assert "100106-01" in _cell(m, 1, ConversionModel.PROBLEMS)
    assert not view.save_button.isEnabled()  # errors: nothing can be written
    view._on_problem_activated(view.errors_list.item(1))
    assert view.conversion_view.selectionModel().selectedRows()[0].row() == 2
    # Caselle fixed: a clean build can be saved and sent
    view.ctx.services.conversions._caselle = _Pages([_c("100102-01"), _c("100106-01", paperless=True)])
    _wait(qtbot, view.build_conversion())
    assert view.errors_list.count() == 0 and view.save_button.isEnabled() and not view.send_button.isEnabled()
    svc = view.ctx.services.conversions
    write, threads = svc.write, []
    svc.write = lambda *a, **kw: threads.append(threading.current_thread() is not threading.main_thread()) or write(*a, **kw)
    save = view.save_conversion(tmp_path / "conv.csv")
    assert not view.save_button.isEnabled()  # written on a worker; the buttons wait
    _wait(qtbot, save)
    path = view.saved_path
    assert path == tmp_path / "conv.csv" and path.exists() and view.send_button.isEnabled()
    assert threads == [True]  # the file was written off the GUI thread
    _wait(qtbot, view.send_conversion())
    assert view.transfer.sent[0][0] == path and "Sent conv.csv" in view.conversion_summary.text()


def test_roles_gate_the_buttons(make_view):
    cashier = make_view(operator="cashier1") if "cashier1" in OPS else None
    if cashier is None:
        pytest.skip("the sandbox profile has no cashier")
    # a cashier works the counter: no account sync, no conversions, and the view says why
    assert not cashier.sync_button.isEnabled()
    assert not cashier.retry_button.isEnabled() and not cashier.build_button.isEnabled()
    assert cashier.gate.banner.isVisibleTo(cashier)
    assert "may not send account balance updates" in cashier.gate.banner.text()
    clerk = make_view(operator="clerk1")
    assert clerk.sync_button.isEnabled() and clerk.build_button.isEnabled()
    assert not clerk.gate.banner.isVisibleTo(clerk)


def test_posting_tab_embeds_the_view_as_a_sub_tab(qtbot):
    from console.ui.tabs.posting_tab import PostingTab

    services = build_services("sandbox", secret_backend=MemoryBackend())
    tab = PostingTab(UiContext(services, OPS.get("clerk1")))
    qtbot.addWidget(tab)
    titles = [tab.pages.tabText(i) for i in range(tab.pages.count())]
    assert "Account sync" in titles
    assert isinstance(tab.pages.widget(titles.index("Account sync")), AccountSyncView)
    qtbot.wait(50)


def test_money_is_decimal_in_the_models(make_view, qtbot):
    view = make_view()
    view.caselle.add("100102-01", "-0.10", "0.20")
    _wait(qtbot, view.check())
    assert view.pending_model.total() == Decimal("-0.10")


def test_first_show_checks_caselle_without_a_click_and_failures_stay_on_the_page(make_view, qtbot):
    view = make_view()
    view.caselle.add("100102-01", "-12.50", "30.00")
    view.show()
    qtbot.waitUntil(lambda: view.pending_model.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: view.current_op is None, timeout=10_000)
    other = make_view()
    other.caselle.fail_detail_for.add("100102-01")
    other.caselle.add("100102-01", "-12.50", "30.00")
    other.show()
    qtbot.waitUntil(lambda: "Could not read" in other.summary.text(), timeout=10_000)
    assert other.errors == []  # no dialog for the automatic check
