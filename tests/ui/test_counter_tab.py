"""Counter Payments tab, driven like a cashier: keyboard search → Enter → amount → a real swipe (key
events at reader speed delivered to the window, through the real SwipeCapture) → F5 → receipt
(Ctrl+S PDF, Ctrl+P print) → Ctrl+N → Void; decline, overpayment confirmation, failed swipe.
Against the sandbox's Caselle stand-in and card gateway over HTTP; models checked with qtmodeltester."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import console.sandbox.ic_gateway as ic_gateway
from console.app import build_services
from console.config import sandbox_profile
from console.devices.capture import CaptureSettings
from console.sandbox import seed
from console.sandbox.caselle_server import CaselleServer
from console.sandbox.invoicecloud_server import DEMO_WEB_SERVICE_KEY, InvoiceCloudServer
from console.secrets import MemoryBackend
from console.ui.context import UiContext
from console.ui.counter_models import AccountResultsModel, TodayPaymentsModel
from console.ui.operations import tracker
from console.ui.posting_dialogs import VoidRequest
from console.ui.swipe_capture import SwipeCapture
from tests.swipe_frames import FrameSpec, build_frame
from tests.ui.keys import FakeClock, send_keys

OPS = {o.operator_id: o for o in sandbox_profile().operators}
_ksn = itertools.count(0x300)


def new_spec(**kw) -> FrameSpec:
    kw.setdefault("ksn", f"62994900000000D{next(_ksn):05X}")
    return FrameSpec(**kw)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with CaselleServer(tmp_path_factory.mktemp("caselle")) as caselle, InvoiceCloudServer() as ic:
        ic_gateway.store_of(ic).stall_s = 4.0  # well past the client timeout, even on a busy machine
        yield {"caselle": caselle, "ic": ic, "dir": caselle.data_dir}


@pytest.fixture
def make_tab(qtbot, qapp, sandbox, monkeypatch):
    errors = []
    monkeypatch.setattr("console.ui.tabs.counter_tab.show_error", lambda parent, exc: errors.append(exc))
    made = []

    def make(operator="cashier1"):
        from console.ui.tabs.counter_tab import CounterTab

        c, ic = sandbox["caselle"], sandbox["ic"]
        endpoints = {"caselle_url": c.url, "caselle_token_url": c.token_url, "caselle_client_id": "sandbox-client",
                     "caselle_client_secret": "sandbox-secret", "ic_api_url": ic.url, "ic_gateway_url": ic.url,
                     "ic_web_service_key": DEMO_WEB_SERVICE_KEY}
        services = build_services("sandbox", secret_backend=MemoryBackend(), operator_id=operator,
                                  endpoints=endpoints, gateway_timeout=2.0)
        clock = FakeClock(5000.0)
        capture = SwipeCapture(qapp, CaptureSettings(), clock=clock, physical_keys=None)
        tab = CounterTab(UiContext(services, OPS[operator]), capture=capture)
        qtbot.addWidget(tab)
        tab.resize(1280, 860)
        tab.show()
        qtbot.waitExposed(tab)
        tab.errors, tab.clock, tab.services, tab.ic = errors, clock, services, ic
        made.append((tab, capture, services))
        return tab

    yield make
    tracker().cancel_all()
    tracker().wait(10_000)
    for _tab, capture, services in made:
        capture.remove()
        services.close()


def swipe(tab, qtbot, spec: FrameSpec | None = None, *, frame: str | None = None) -> str:
    """Type a frame into the window at 1.2 ms per character, as a SREDKey does."""
    frame = frame if frame is not None else build_frame(spec or new_spec())
    send_keys(tab.window().windowHandle(), tab.clock, frame + "\r", 0.0012)
    tab.clock.t += 1.0
    tab.capture.poll()
    qtbot.wait(10)
    return frame


def key(tab, k, mods=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(tab.window().windowHandle(), k, mods)


def open_account(tab, qtbot, account_number: str) -> None:
    tab.open_account(account_number)
    qtbot.waitUntil(lambda: tab.account is not None and tab.account.account_number == account_number, timeout=10_000)


def customers(**want):
    return [c for c in seed.demo_customers() if all(getattr(c, k) == v for k, v in want.items())
            and c.amount_due > Decimal("5")]


def test_cashier_flow_from_the_keyboard(make_tab, qtbot, tmp_path, monkeypatch):
    tab = make_tab()
    printed = []
    monkeypatch.setattr("console.ui.tabs.counter_tab.print_receipt", lambda parent, doc: printed.append(doc) or True)
    pdf = tmp_path / "receipt.pdf"
    monkeypatch.setattr("console.ui.tabs.counter_tab.save_pdf_path", lambda parent, suggested: pdf)
    last = next(c.last_name for c in seed.demo_customers()
                if c.last_name.isascii() and sum(x.last_name == c.last_name for x in seed.demo_customers()) > 2)

    key(tab, Qt.Key.Key_F2)
    assert tab.search_edit.hasFocus()
    qtbot.keyClicks(tab.search_edit, last)
    qtbot.keyClick(tab.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.results_model.rowCount() > 1, timeout=10_000)
    assert tab.results.hasFocus() and tab.results.isVisible()
    qtbot.keyClick(tab.results, Qt.Key.Key_Down)
    chosen = tab.results_model.row(tab.results.currentIndex().row())
    qtbot.keyClick(tab.results, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.account is not None, timeout=10_000)
    assert tab.account.account_number == chosen.account_number
    assert tab.amount_edit.hasFocus() and tab.amount_edit.text() == f"{tab.account.suggested_amount:.2f}"
    assert tab.panel.chart.bars and len(tab.panel.chart.bars) == 24
    assert not tab.authorize_button.isEnabled()  # no card yet
    assert tab.card_box.state == "waiting"

    # live amount rules: too little, then the amount due again
    tab.amount_edit.selectAll()
    qtbot.keyClicks(tab.amount_edit, "0.50")
    assert "smallest payment" in tab.amount_message.text()
    tab.amount_edit.selectAll()
    qtbot.keyClicks(tab.amount_edit, f"{tab.account.amount_due:.2f}")
    assert tab.amount_check().ok

    # swipe with the focus in the amount field: the card arrives, the field is untouched
    swipe(tab, qtbot)
    assert tab.card_box.state == "card" and "4111********1111" in tab.card_box.headline.text()
    assert tab.amount_edit.text() == f"{tab.account.amount_due:.2f}"
    assert tab.authorize_button.isEnabled()

    key(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: tab.pages.currentIndex() == 1, timeout=15_000)
    result = tab.last_result
    assert result.status == "posted" and result.receipt_number
    assert "APPROVED" in tab.result_banner.text()
    assert tab.preview.doc.receipt_number == result.receipt_number and tab.preview.doc.training
    qtbot.waitUntil(lambda: tab.today_model.rowCount() == 1, timeout=10_000)  # read on a worker
    assert tab.today_model.rows[0].state == "posted"

    key(tab, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: tab._pdf_op is None, timeout=10_000)  # written on a worker
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    key(tab, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert printed and printed[0].receipt_number == result.receipt_number

    key(tab, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert tab.pages.currentIndex() == 0 and tab.account is None and tab.search_edit.hasFocus()

    # void it (own receipt, same day: no supervisor)
    monkeypatch.setattr("console.ui.tabs.counter_tab.ask_void",
                        lambda parent, p, role, why: VoidRequest(p.receipt_number, "WRONG_AMOUNT", "test void", "", ""))
    tab.today.selectRow(0)
    assert tab.void_button.isEnabled()
    tab.void_button.click()
    qtbot.waitUntil(lambda: tab.today_model.rowCount() == 1 and tab.today_model.rows[0].state == "voided",
                    timeout=15_000)
    assert not tab.errors
    assert ic_gateway.store_of(tab.ic).by_id[result.transaction_id].voided


def test_decline_overpayment_confirmation_and_failed_swipe(make_tab, qtbot, monkeypatch):
    tab = make_tab()
    c = customers(partial_payments_allowed=True)[5]
    open_account(tab, qtbot, c.account_number)
    answers = [False, True]
    asked = []
    monkeypatch.setattr("console.ui.tabs.counter_tab.ask_confirmation",
                        lambda parent, title, text: asked.append(text) or answers.pop(0))

    # a damaged read (last characters lost): refused, the cashier is asked to swipe again
    frame = build_frame(new_spec())
    swipe(tab, qtbot, frame=frame[:-3])
    assert tab.card_box.state == "error" and "swipe again" in tab.card_box.headline.text()
    assert tab._card is None

    over = Decimal(int(tab.account.amount_due) + 1) + Decimal("0.01")  # .01 = the gateway declines
    tab.amount_edit.setText(f"{over:.2f}")
    assert "Take" in tab.amount_message.text()
    swipe(tab, qtbot)
    key(tab, Qt.Key.Key_F5)  # the cashier says No: nothing happens
    assert asked and tab.pages.currentIndex() == 0 and tab._card is not None and not tab._busy
    key(tab, Qt.Key.Key_F5)  # Yes
    qtbot.waitUntil(lambda: tab.last_result is not None, timeout=15_000)
    assert tab.last_result.status == "declined"
    assert tab.card_box.state == "error" and "DECLINED" in tab.card_box.headline.text()
    assert tab._card is None and not tab.authorize_button.isEnabled()  # a new swipe is needed
    qtbot.waitUntil(lambda: tab.today_model.rowCount() and tab.today_model.rows[0].state == "declined",
                    timeout=10_000)
    assert not tab.void_button.isEnabled()

    key(tab, Qt.Key.Key_Escape)  # back to no account
    assert tab.account is None


def test_card_swiped_in_another_field_or_before_the_account(make_tab, qtbot):
    tab = make_tab()
    tab.search_edit.setFocus()
    swipe(tab, qtbot)
    assert tab.search_edit.text() == ""  # the frame never lands in the search field
    assert tab.card_box.state == "error" and "account first" in tab.card_box.headline.text()
    c = customers()[7]
    open_account(tab, qtbot, c.account_number)
    tab.search_edit.setFocus()  # the reader works whichever field has focus
    swipe(tab, qtbot)
    assert tab.search_edit.text() == "" and tab.card_box.state == "card"
    key(tab, Qt.Key.Key_Escape)  # Esc discards the card read
    assert tab._card is None and tab.card_box.state == "waiting"


def test_models(qtmodeltester):
    from console.services.counter import CounterPayment

    m = AccountResultsModel()
    m.set_rows([_summary(c) for c in seed.demo_customers()[:5]])
    qtmodeltester.check(m)
    t = TodayPaymentsModel()
    import datetime as dt

    t.set_rows([CounterPayment("k", dt.datetime(2026, 1, 1, 9, 5), "100-01", "N", Decimal("1.00"), "4111****1111",
                               "Visa", "ABC123", "GW1", "5.1", "cashier1", "posted")])
    qtmodeltester.check(t)
    assert t.data(t.index(0, TodayPaymentsModel.TIME)) == "9:05 AM"
    assert t.data(t.index(0, TodayPaymentsModel.STATUS)) == "Posted"


def _summary(c):
    from console.domain.models import AccountSummary

    return AccountSummary(c.account_number, c.name, c.service_address, c.phone, c.balance)


def test_cash_with_change_and_check_from_the_keyboard(make_tab, qtbot):
    tab = make_tab()
    tab.services.drawers.open_drawer("cashier1", "100.00")  # cash and checks go into an open drawer
    c = customers()[11]
    open_account(tab, qtbot, c.account_number)
    due = tab.account.amount_due
    key(tab, Qt.Key.Key_F7)  # cash
    assert tab.tender == "CASH" and tab.tendered_edit.hasFocus()
    assert tab.authorize_button.isEnabled() and "cash" in tab.authorize_button.text().lower()  # blank = exact
    qtbot.keyClicks(tab.tendered_edit, "1.00")
    assert "short" in tab.change_label.text() and not tab.authorize_button.isEnabled()
    tab.tendered_edit.clear()
    qtbot.keyClicks(tab.tendered_edit, f"{due + Decimal('20'):.2f}")
    assert tab.change_label.text() == "$20.00"
    key(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: tab.pages.currentIndex() == 1, timeout=15_000)
    assert tab.last_result.status == "posted" and "Change due $20.00" in tab.result_banner.text()
    assert ("Change", "$20.00") in tab.preview.doc.lines()
    qtbot.waitUntil(lambda: tab.today_model.rowCount() and tab.today_model.rows[0].paid_by == "Cash", timeout=10_000)

    key(tab, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    open_account(tab, qtbot, customers()[12].account_number)
    assert tab.tender == "CARD"  # every payment starts as a card payment
    key(tab, Qt.Key.Key_F8)  # check
    assert tab.tender == "CHECK" and not tab.authorize_button.isEnabled()
    qtbot.keyClicks(tab.check_edit, "1042")
    qtbot.keyClick(tab.check_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.pages.currentIndex() == 1, timeout=15_000)
    qtbot.waitUntil(lambda: tab.today_model.rowCount() and tab.today_model.rows[0].paid_by == "Check 1042",
                    timeout=10_000)
    assert tab.today_model.rows[0].state == "posted"

    # a swipe while "Cash" is chosen switches to the card
    key(tab, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    open_account(tab, qtbot, customers()[13].account_number)
    tab.set_tender("CASH")
    swipe(tab, qtbot)
    assert tab.tender == "CARD" and tab.card_box.state == "card"


def test_usage_chart_and_account_panel(qtbot):
    import datetime as dt

    from console.services.counter import AccountView, UsageBar
    from console.ui.counter_widgets import AccountPanel

    panel = AccountPanel()
    qtbot.addWidget(panel)
    panel.resize(520, 560)
    panel.show()
    assert not panel.chart.isVisible() and not panel.adjustments_title.isVisible()
    bars = [UsageBar(f"{2025 + (i + 10) // 12}-{(i + 10) % 12 + 1:02d}", Decimal(i % 7 + 3), "kgal",
                     Decimal("80.00") + i) for i in range(24)]
    view = AccountView("100001-01", "Pat Doe", "1 Main St", "", "", "", Decimal("80.00"), Decimal("80.00"),
                       Decimal("10.00"), dt.date(2026, 11, 20), dt.date(2026, 11, 25), True, False, True, False,
                       usage=tuple(bars), notices=("The bill expired on 11/25/2026: a payment goes to the account "
                                                   "balance ($80.00).",))
    panel.set_account(view)
    assert panel.chart.isVisible() and panel.notices.isVisible() and "expired" in panel.facts.text()
    assert panel.no_adjustments.isVisible() and not panel.adjustments.isVisible()
    image = panel.chart.grab().toImage()
    assert image.width() > 100
    assert panel.chart.tooltip_text(0) == "November 2025: 3 kgal, billed $80.00"
    plot = panel.chart._plot_rect()
    assert panel.chart.bar_at(plot.left() + 1, plot.center().y()) == 0
    assert panel.chart.bar_at(plot.right() - 1, plot.center().y()) == 23
    assert panel.chart.bar_at(plot.left() - 5, 10) is None
