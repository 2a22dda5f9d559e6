"""The cash day in the GUI (pytest-qt, offscreen) against the sandbox over HTTP: opening a drawer
from the Counter tab, cash without a drawer, the close-out dialog (blind count, checks ticked off,
expected against counted, PDF), and the Day Close view (tables, variance entries, sealing)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

import console.sandbox.ic_gateway as ic_gateway
from console.app import build_services
from console.config import sandbox_profile
from console.devices.capture import CaptureSettings
from console.domain.money import format_money
from console.sandbox import seed
from console.sandbox.caselle_server import CaselleServer
from console.sandbox.invoicecloud_server import DEMO_WEB_SERVICE_KEY, InvoiceCloudServer
from console.secrets import MemoryBackend
from console.ui.context import UiContext
from console.ui.operations import tracker
from console.ui.swipe_capture import SwipeCapture
from tests.cash_env import pdf_text
from tests.ui.keys import FakeClock

OPS = {o.operator_id: o for o in sandbox_profile().operators}
_accounts = iter([c for c in seed.demo_customers() if c.amount_due > Decimal("5")][40:])


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with CaselleServer(tmp_path_factory.mktemp("caselle")) as caselle, InvoiceCloudServer() as ic:
        ic_gateway.store_of(ic).stall_s = 4.0
        yield {"caselle": caselle, "ic": ic}


@pytest.fixture
def services_for(sandbox):
    made = []

    def make(operator: str, **settings):
        c, ic = sandbox["caselle"], sandbox["ic"]
        endpoints = {"caselle_url": c.url, "caselle_token_url": c.token_url, "caselle_client_id": "sandbox-client",
                     "caselle_client_secret": "sandbox-secret", "ic_api_url": ic.url, "ic_gateway_url": ic.url,
                     "ic_web_service_key": DEMO_WEB_SERVICE_KEY}
        services = build_services("sandbox", secret_backend=MemoryBackend(), operator_id=operator,
                                  endpoints=endpoints, gateway_timeout=2.0)
        if settings:
            services.profile = services.profile.with_values(**settings)
        made.append(services)
        return services

    yield make
    tracker().cancel_all()
    tracker().wait(10_000)
    for s in made:
        s.close()


@pytest.fixture
def counter_tab(qtbot, qapp, services_for, monkeypatch):
    errors = []
    for where in ("console.ui.tabs.counter_tab", "console.ui.counter.drawer_dialogs", "console.ui.counter.drawer_bar"):
        monkeypatch.setattr(f"{where}.show_error", lambda parent, exc: errors.append(exc))
    captures = []

    def make(operator="cashier1", **settings):
        from console.ui.tabs.counter_tab import CounterTab

        services = services_for(operator, **settings)
        capture = SwipeCapture(qapp, CaptureSettings(), clock=FakeClock(5000.0), physical_keys=None)
        captures.append(capture)
        tab = CounterTab(UiContext(services, OPS[operator]), capture=capture)
        qtbot.addWidget(tab)
        tab.resize(1366, 768)
        tab.show()
        qtbot.waitExposed(tab)
        tab.errors, tab.services = errors, services
        return tab

    yield make
    for c in captures:
        c.remove()


def test_cash_without_a_drawer_offers_to_open_one_then_the_drawer_opens(counter_tab, qtbot, monkeypatch):
    tab = counter_tab()
    asked = []
    monkeypatch.setattr("console.ui.counter.drawer_bar.ask_confirmation",
                        lambda parent, title, text: asked.append(text) or False)
    c = next(_accounts)
    tab.open_account(c.account_number)
    qtbot.waitUntil(lambda: tab.account is not None, timeout=10_000)
    tab.set_tender("CASH")
    tab.authorize()
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert "Open a cash drawer" in asked[0] and tab.pages.currentIndex() == 0
    assert tab.services.journal.entries(kinds=["receipt"]) == []  # nothing taken
    assert "No cash drawer open" in tab.drawer_bar.label.text()
    dialog = tab.drawer_bar.open_dialog()
    dialog.float_field.by_denomination.setChecked(True)
    dialog.float_field.grid.boxes["20"].setValue(5)
    dialog.float_field.grid.boxes["0.25"].setValue(4)
    assert "$101.00" in dialog.float_field.grid.total_label.text()
    dialog.open_button.click()
    qtbot.waitUntil(lambda: dialog.session is not None, timeout=10_000)
    assert dialog.session.float_total == Decimal("101.00") and dialog.session.float_count == {"20": 5, "0.25": 4}
    qtbot.waitUntil(lambda: "Drawer open" in tab.drawer_bar.label.text(), timeout=10_000)
    assert not tab.drawer_bar.open_button.isEnabled() and tab.drawer_bar.close_button.isEnabled()


def test_close_out_with_a_blind_count_ticks_checks_and_saves_the_report(counter_tab, qtbot, tmp_path):
    tab = counter_tab(cash_blind_count=True)
    svc = tab.services
    svc.drawers.open_drawer("cashier1", "50.00")
    a, b = next(_accounts), next(_accounts)
    svc.counter.take_other_payment(svc.counter.account(a.account_number), a.amount_due, "CASH", "cashier1")
    svc.counter.take_other_payment(svc.counter.account(b.account_number), b.amount_due, "CHECK", "cashier1",
                                   check_number="6006")
    dialog = tab.drawer_bar.close_dialog()
    qtbot.waitUntil(lambda: dialog.figures is not None, timeout=10_000)
    assert dialog.expected_model.rowCount() == 0 and dialog.reveal_button.isVisible()  # blind: count first
    assert dialog.checks_list.count() == 1 and "6006" in dialog.checks_list.item(0).text()
    dialog.reveal()
    assert dialog.expected_model.rowCount() == 0 and "Count the cash" in dialog.status_label.text()
    expected_cash = Decimal("50.00") + a.amount_due
    dialog.cash_field.edit.setText(str(expected_cash))
    dialog.checks_edit.setText(str(b.amount_due))
    dialog.checks_list.item(0).setCheckState(Qt.CheckState.Checked)
    dialog.reveal()
    assert dialog.expected_model.rows()[0] == ["Cash", format_money(expected_cash), format_money(expected_cash),
                                               "$0.00"]
    dialog.close_drawer()
    qtbot.waitUntil(lambda: dialog.closeout is not None, timeout=10_000)
    assert dialog.closeout.status == "balanced" and "BALANCED" in dialog.status_label.text()
    assert dialog.print_button.isEnabled()
    op = dialog.save_pdf(tmp_path / "close.pdf")
    qtbot.waitUntil(lambda: (tmp_path / "close.pdf").exists() and op.done, timeout=10_000)
    text = pdf_text(tmp_path / "close.pdf")
    assert format_money(expected_cash) in text and "BALANCED" in text
    qtbot.waitUntil(lambda: "No cash drawer open" in tab.drawer_bar.label.text(), timeout=10_000)


def test_day_close_view_shows_the_day_and_a_supervisor_seals_it(qtbot, services_for, counter_tab, monkeypatch,
                                                                 tmp_path):
    from console.ui.counter.day_close_view import DayCloseView

    errors = []
    monkeypatch.setattr("console.ui.counter.day_close_view.show_error", lambda parent, exc: errors.append(exc))
    cashier = counter_tab().services
    cashier.drawers.open_drawer("cashier1", "20.00")
    a = next(_accounts)
    cashier.counter.take_other_payment(cashier.counter.account(a.account_number), a.amount_due, "CASH", "cashier1")
    cashier.drawers.close_drawer("cashier1", cashier.counter, cash=str(Decimal("19.00") + a.amount_due), checks="0",
                                 reason="a dollar short")
    clerk = DayCloseView(UiContext(services_for("clerk1"), OPS["clerk1"]))
    qtbot.addWidget(clerk)
    qtbot.waitUntil(lambda: clerk.report is not None, timeout=15_000)
    assert clerk.close_button.isHidden() and clerk.return_button.isHidden() and clerk.drawers.rowCount() >= 1
    view = DayCloseView(UiContext(services_for("super1"), OPS["super1"]))
    qtbot.addWidget(view)
    view.resize(1366, 768)
    view.show()
    qtbot.waitUntil(lambda: view.report is not None, timeout=15_000)
    rows = view.variances.rows()
    short = next(i for i, r in enumerate(rows) if "a dollar short" in r[3])
    assert rows[short][2] == "-$1.00"
    view.variances_view.selectRow(short)
    assert view.entries.item(0).text().startswith("drw:")
    deposit = view.deposits.rows()[0]
    assert deposit[0] == "General fund" and Decimal(deposit[1].replace("$", "").replace(",", "")) > 0
    assert view.close_button.isVisible() and view.close_button.isEnabled()
    view.close_day(confirm=False)
    qtbot.waitUntil(lambda: view.report is not None and bool(view.report.sealed), timeout=15_000)
    assert "Closed" in view.state_label.text() and not view.close_button.isEnabled()
    op = view.save_pdf(tmp_path / "day.pdf")
    qtbot.waitUntil(lambda: op.done, timeout=15_000)
    text = pdf_text(tmp_path / "day.pdf")
    assert "Sealed by super1" in text and "a dollar short" in text and "-$1.00" in text
    assert "Invoice Cloud files imported" in pdf_text(tmp_path / "day-reconciliation.pdf")
    op = view.export_csv(tmp_path / "day.csv")
    qtbot.waitUntil(lambda: op.done, timeout=15_000)
    csv_text = (tmp_path / "day.csv").read_text()
    assert "variance,Counter,cash,-1.00" in csv_text and "Section,Group" in csv_text
    assert not errors


def test_a_supervisor_reverses_a_returned_check_from_the_day_close(qtbot, services_for, counter_tab, monkeypatch):
    from console.ui.counter.day_close_view import DayCloseView

    monkeypatch.setattr("console.ui.counter.return_check_dialog.show_error", lambda parent, exc: pytest.fail(str(exc)))
    cashier = counter_tab().services
    cashier.drawers.open_drawer("cashier1", "0")
    a = next(_accounts)
    paid = cashier.counter.take_other_payment(cashier.counter.account(a.account_number), a.amount_due, "CHECK",
                                              "cashier1", check_number="3131")
    view = DayCloseView(UiContext(services_for("super1"), OPS["super1"]))
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.report is not None, timeout=15_000)
    assert not view.return_button.isHidden()
    dialog = view.return_check()
    dialog.receipt_edit.setText(paid.receipt_number)
    dialog.reason_edit.setText("NSF")
    dialog.reverse()
    qtbot.waitUntil(lambda: dialog.result_ is not None, timeout=15_000)
    assert dialog.result_.done and "3131" in dialog.message.text() and "reversed in Caselle" in dialog.message.text()
    dialog.accept()
    qtbot.waitUntil(lambda: any("3131" in r[3] for r in view.variances.rows()), timeout=15_000)


def test_a_supervisor_refunds_a_settled_card_charge_from_the_day_close(qtbot, services_for, monkeypatch):
    from console.devices.sred import parse_frame
    from console.ui.counter.day_close_view import DayCloseView
    from tests.swipe_frames import FrameSpec, build_frame

    monkeypatch.setattr("console.ui.counter.return_check_dialog.show_error", lambda parent, exc: pytest.fail(str(exc)))
    cashier = services_for("cashier1")
    a = next(_accounts)
    view_ = cashier.counter.account(a.account_number)
    amount = a.amount_due + Decimal("0.10") if a.amount_due % 1 in {Decimal(f"0.0{i}") for i in range(1, 6)} \
        else a.amount_due
    paid = cashier.counter.take_payment(view_, amount, parse_frame(build_frame(FrameSpec(ksn="62994900000000E00777"))),
                                        "cashier1", confirmed=True)
    assert paid.status == "posted"
    view = DayCloseView(UiContext(services_for("super1"), OPS["super1"]))
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.report is not None, timeout=15_000)
    dialog = view.return_check()
    dialog.kind_combo.setCurrentIndex(1)
    assert not dialog.code_combo.isEnabled()
    dialog.receipt_edit.setText(paid.receipt_number)
    dialog.reason_edit.setText("customer overpaid")
    dialog.reverse()
    qtbot.waitUntil(lambda: dialog.result_ is not None, timeout=15_000)
    assert dialog.result_.done and "refunded and reversed in Caselle" in dialog.message.text()
    dialog.accept()
    qtbot.waitUntil(lambda: any("refunded after settlement" in r[3] for r in view.variances.rows()), timeout=15_000)


def test_split_dialog_pays_two_accounts_by_check_and_cash_with_change(counter_tab, qtbot, monkeypatch):
    from PySide6.QtWidgets import QTableWidgetItem

    tab = counter_tab()
    tab.services.drawers.open_drawer("cashier1", "0")
    a, b = next(_accounts), next(_accounts)
    tab.open_account(a.account_number)
    qtbot.waitUntil(lambda: tab.account is not None, timeout=10_000)
    dialog = tab.drawer_bar.split_dialog()
    assert dialog.accounts.item(0, 0).text() == a.account_number  # starts with the open account
    dialog.accounts.setItem(0, 1, QTableWidgetItem(str(a.amount_due)))
    dialog.accounts.setItem(1, 0, QTableWidgetItem(b.account_number))
    dialog.accounts.setItem(1, 1, QTableWidgetItem(str(b.amount_due)))
    dialog.checks.setItem(0, 0, QTableWidgetItem("8080"))
    dialog.checks.setItem(0, 1, QTableWidgetItem(str(a.amount_due)))
    dialog.cash_edit.setText(str(b.amount_due))
    dialog.tendered_edit.setText(str(b.amount_due + Decimal("3.00")))
    dialog.take()
    qtbot.waitUntil(lambda: dialog.result_ is not None, timeout=15_000)
    r = dialog.result_
    assert r.status == "posted" and r.change == Decimal("3.00") and "Change due $3.00" in dialog.message.text()
    assert [(p.account, p.tender) for p in r.pieces] == [(a.account_number, "CHECK"), (b.account_number, "CASH")]
    assert dialog.print_button.isEnabled()
    text = dialog.document().text()
    assert all(p.receipt_number in text for p in r.pieces) and "$3.00" in text
    qtbot.waitUntil(lambda: "cash $" in tab.today_title.text(), timeout=10_000)
    tab.refresh_today()
    qtbot.waitUntil(lambda: format_money(b.amount_due) in tab.today_title.text(), timeout=10_000)
