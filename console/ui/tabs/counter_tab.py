"""Counter Payments: find the account, take the amount, swipe the card, authorize, hand over a receipt.

Keyboard: F2 search · Enter picks an account · type the amount · swipe (the reader works
whichever widget has focus) — or F7 cash / F8 check (F6 back to card) · F5 (or Enter in the
amount) authorizes or takes the cash / check · Ctrl+P prints ·
Ctrl+S saves the PDF · Ctrl+N starts the next payment · Esc cancels the step in progress.

All work goes through ``ctx.services.counter`` (console.services.counter) in ``Operation``s;
this module only lays out and reacts. The swiped card (masked fields plus the opaque encrypted
read) is held only until it is used for one authorization, the cashier cancels, or it is
left unused for a few minutes; no widget ever shows or holds anything but masked card data.
"""

from __future__ import annotations

import html
import logging
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QRegularExpression, Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence, QRegularExpressionValidator, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.domain.money import format_money
from console.domain.wording import counted
from console.errors import UserFacingError
from console.services.counter import SEARCH_BY, AccountView, CounterPayment, PaymentResult, PaymentUnconfirmed
from console.services.drawer import NoOpenDrawer
from console.ui.counter.drawer_bar import DrawerBar
from console.ui.counter.questions import ask_confirmation, ask_void, save_pdf_path
from console.ui.counter_models import AccountResultsModel, RowRole, TodayPaymentsModel
from console.ui.counter_receipt import ReceiptPreview, print_receipt, save_receipt_pdf
from console.ui.counter_widgets import AccountPanel, CardBox, PanelOptions
from console.ui.errors import show_error
from console.ui.operations import Operation

log = logging.getLogger(__name__)

CARD_HOLD_MS = 3 * 60 * 1000  # an unused card read is dropped after this long


class CounterTab(QWidget):
    def __init__(self, ctx, parent=None, *, capture=None):
        super().__init__(parent)
        self.ctx = ctx
        self.counter = ctx.services.counter
        self.account: AccountView | None = None
        self._card = None  # the swiped card until it is used (masked fields + opaque payload)
        self._busy = False
        self.last_result: PaymentResult | None = None
        self.last_document = None
        self._today_op: Operation | None = None  # the running read of today's payments
        self._today_again = False  # a refresh was asked for while one ran
        self._pdf_op: Operation | None = None  # the receipt PDF being written
        self._card_timer = QTimer(self)
        self._card_timer.setSingleShot(True)
        self._card_timer.timeout.connect(self._on_card_expired)
        self._build()
        self._connect_capture(capture)
        self._shortcuts()
        self._restore_ui_state()
        self.refresh_today()
        self._update_state()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        # search row
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Account number, name, service address or phone — then Enter")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName("Account search")
        self.search_by = QComboBox()
        for code, label in SEARCH_BY.items():
            self.search_by.addItem(label, code)
        self.search_button = QPushButton("Search (F2)")
        self.search_edit.returnPressed.connect(self.search)
        self.search_button.clicked.connect(self.search)
        self.results_model = AccountResultsModel(self)
        self.results = QTableView()
        self.results.setModel(self.results_model)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.verticalHeader().hide()
        self.results.horizontalHeader().setSectionResizeMode(AccountResultsModel.ADDRESS, QHeaderView.ResizeMode.Stretch)
        self.results.setAlternatingRowColors(True)
        self.results.setWordWrap(False)
        self.results.verticalHeader().setDefaultSectionSize(self.results.fontMetrics().height() + 8)
        for col in (AccountResultsModel.ACCOUNT, AccountResultsModel.NAME, AccountResultsModel.PHONE,
                    AccountResultsModel.BALANCE):
            self.results.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.results.activated.connect(self._on_result_activated)
        self.results.doubleClicked.connect(self._on_result_activated)
        self.results.setAccessibleName("Search results")
        self.results.installEventFilter(self)
        self.results_note = QLabel("")
        self.results_note.setStyleSheet("color: #4b5563;")
        search_row = QHBoxLayout()
        find_label = QLabel("&Find account")
        find_label.setBuddy(self.search_edit)
        search_row.addWidget(find_label)
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.search_by)
        search_row.addWidget(self.search_button)

        # account panel (left)
        self.panel = AccountPanel(options=PanelOptions.from_profile(self.ctx.profile))

        # payment panel (right): entry page and receipt page
        self.steps = QLabel("")
        self.steps.setTextFormat(Qt.TextFormat.RichText)
        self.amount_edit = QLineEdit()
        self.amount_edit.setAccessibleName("Amount to pay")
        self.amount_edit.setPlaceholderText("0.00")
        self.amount_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\$?[0-9,]{0,9}(\.[0-9]{0,2})?"),
                                                                  self.amount_edit))
        big = QFont(self.amount_edit.font())
        big.setPointSizeF(big.pointSizeF() * 2.4)
        big.setBold(True)
        self.amount_edit.setFont(big)
        self.amount_edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.amount_edit.setMinimumHeight(56)
        self.amount_edit.textChanged.connect(self._on_amount_changed)
        self.amount_edit.returnPressed.connect(self._on_amount_enter)
        dollar = QLabel("$")
        dollar.setFont(big)
        self.pay_due_button = QPushButton("Amount due")
        self.pay_due_button.setToolTip("Fill in the amount due")
        self.pay_due_button.clicked.connect(self._fill_amount_due)
        self.pay_due_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        amount_row = QHBoxLayout()
        amount_row.addWidget(dollar)
        amount_row.addWidget(self.amount_edit, 1)
        amount_row.addWidget(self.pay_due_button)
        self.amount_message = QLabel("")
        self.amount_message.setWordWrap(True)
        self.card_box = CardBox()
        self.tender_buttons = QButtonGroup(self)
        self.tender_buttons.setExclusive(True)
        tender_row = QHBoxLayout()
        for i, (code, label) in enumerate((("CARD", "Card  (F6)"), ("CASH", "Cash  (F7)"), ("CHECK", "Check  (F8)"))):
            b = QPushButton(label)
            b.setCheckable(True)
            b.setChecked(code == "CARD")
            b.setProperty("tender", code)
            b.setMinimumHeight(32)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setStyleSheet("QPushButton:checked { background: #1e3a8a; color: white; font-weight: bold; }")
            self.tender_buttons.addButton(b, i)
            tender_row.addWidget(b)
        self.tender_buttons.buttonToggled.connect(self._on_tender_toggled)
        self.tendered_edit = QLineEdit()
        self.tendered_edit.setAccessibleName("Cash handed over")
        self.tendered_edit.setPlaceholderText("exact amount")
        self.tendered_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\$?[0-9,]{0,9}(\.[0-9]{0,2})?"),
                                                                    self.tendered_edit))
        self.tendered_edit.textChanged.connect(lambda _t: self._update_state())
        self.tendered_edit.returnPressed.connect(self.authorize)
        self.change_label = QLabel("")
        fc = QFont(self.change_label.font())
        fc.setPointSizeF(fc.pointSizeF() * 1.6)
        fc.setBold(True)
        self.change_label.setFont(fc)
        cash = QWidget()
        cf = QFormLayout(cash)
        cf.setContentsMargins(0, 0, 0, 0)
        cf.addRow("Cash handed over", self.tendered_edit)
        cf.addRow("Change due", self.change_label)
        self.check_edit = QLineEdit()
        self.check_edit.setAccessibleName("Check number")
        self.check_edit.setPlaceholderText("check number")
        self.check_edit.setMaxLength(10)
        self.check_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"[0-9]{0,10}"), self.check_edit))
        self.check_edit.textChanged.connect(lambda _t: self._update_state())
        self.check_edit.returnPressed.connect(self.authorize)
        check_page = QWidget()
        kf = QFormLayout(check_page)
        kf.setContentsMargins(0, 0, 0, 0)
        kf.addRow("Check number", self.check_edit)
        kf.addRow(QLabel("Make sure the check is payable to the utility and signed."))
        self.tender_pages = QStackedWidget()
        self.tender_pages.addWidget(self.card_box)
        self.tender_pages.addWidget(cash)
        self.tender_pages.addWidget(check_page)
        self.tender_pages.setMaximumHeight(110)
        self.authorize_button = QPushButton("Authorize  (F5)")
        self.authorize_button.setMinimumHeight(48)
        fb = QFont(self.authorize_button.font())
        fb.setPointSizeF(fb.pointSizeF() * 1.3)
        fb.setBold(True)
        self.authorize_button.setFont(fb)
        self.authorize_button.clicked.connect(self.authorize)
        self.authorize_button.setStyleSheet(
            "QPushButton:enabled { background: #1d4ed8; color: white; border: 1px solid #1e3a8a; border-radius: 6px; }"
            "QPushButton:enabled:focus { border: 3px solid #f59e0b; }")
        self.cancel_button = QPushButton("Cancel  (Esc)")
        self.cancel_button.setMinimumHeight(48)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.authorize_button, 2)
        buttons.addWidget(self.cancel_button, 1)
        self.progress_label = QLabel("")
        self.progress_label.setStyleSheet("color: #1e3a8a; font-weight: bold;")
        entry = QWidget()
        el = QVBoxLayout(entry)
        el.setContentsMargins(0, 0, 0, 0)
        amount_label = QLabel("<b>Amount</b>")
        amount_label.setBuddy(self.amount_edit)
        el.addWidget(amount_label)
        el.addLayout(amount_row)
        el.addWidget(self.amount_message)
        el.addSpacing(6)
        el.addWidget(QLabel("<b>Paid by</b>"))
        el.addLayout(tender_row)
        el.addWidget(self.tender_pages)
        el.addSpacing(6)
        el.addLayout(buttons)
        el.addWidget(self.progress_label)
        el.addStretch(1)
        keys = QLabel("F2 find account · Enter open · F6 card · F7 cash · F8 check · F5 authorize / take · "
                      "Esc cancel · Ctrl+P print · Ctrl+N next")
        keys.setStyleSheet("color: #6b7280;")
        keys.setWordWrap(True)
        el.addWidget(keys)

        self.result_banner = QLabel("")
        self.result_banner.setWordWrap(True)
        self.result_banner.setTextFormat(Qt.TextFormat.RichText)
        self.preview = ReceiptPreview()
        self.print_button = QPushButton("Print  (Ctrl+P)")
        self.print_button.clicked.connect(self.print_receipt)
        self.pdf_button = QPushButton("Save PDF  (Ctrl+S)")
        self.pdf_button.clicked.connect(lambda: self.save_pdf())
        self.next_button = QPushButton("Next payment  (Ctrl+N)")
        self.next_button.clicked.connect(self.new_payment)
        receipt_buttons = QHBoxLayout()
        receipt_buttons.addWidget(self.print_button)
        receipt_buttons.addWidget(self.pdf_button)
        receipt_buttons.addWidget(self.next_button)
        done = QWidget()
        dl = QVBoxLayout(done)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(self.result_banner)
        dl.addWidget(self.preview, 1)
        dl.addLayout(receipt_buttons)

        self.pages = QStackedWidget()
        self.pages.addWidget(entry)
        self.pages.addWidget(done)
        right = QFrame()
        right.setObjectName("paybox")
        right.setStyleSheet("#paybox { border: 1px solid #d1d5db; border-radius: 8px; }")
        rl = QVBoxLayout(right)
        rl.addWidget(self.steps)
        rl.addWidget(self.pages, 1)

        # the search results take the account panel's place while the cashier chooses (above it they
        # made the console taller than a 700- or 800-px screen)
        self.left = QStackedWidget()
        self.left.addWidget(self.panel)
        self.left.addWidget(self.results)
        middle = self.middle_splitter = QSplitter(Qt.Orientation.Horizontal)
        middle.addWidget(self.left)
        middle.addWidget(right)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 2)
        middle.setChildrenCollapsible(False)

        # today's payments (bottom)
        self.today_model = TodayPaymentsModel(self)
        self.today = QTableView()
        self.today.setModel(self.today_model)
        self.today.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.today.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.today.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.today.verticalHeader().hide()
        self.today.setWordWrap(False)
        self.today.verticalHeader().setDefaultSectionSize(self.today.fontMetrics().height() + 8)
        header = self.today.horizontalHeader()
        for col in range(len(TodayPaymentsModel.HEADERS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(TodayPaymentsModel.NAME, QHeaderView.ResizeMode.Stretch)
        self.today.setAccessibleName("Today's payments")
        self.today.selectionModel().selectionChanged.connect(lambda *_: self._update_today_buttons())
        self.today_title = QLabel("<b>Today's payments</b>")
        self.void_button = QPushButton("Void…")
        self.void_button.clicked.connect(self.void_selected)
        self.reprint_button = QPushButton("Show receipt")
        self.reprint_button.clicked.connect(self.show_selected_receipt)
        self.check_button = QPushButton("Check again")
        self.check_button.setToolTip("Ask the gateway about unconfirmed payments; retry queued receipts and voids")
        self.check_button.clicked.connect(self.check_again)
        today_bar = QHBoxLayout()
        today_bar.addWidget(self.today_title)
        today_bar.addStretch(1)
        today_bar.addWidget(self.reprint_button)
        today_bar.addWidget(self.check_button)
        today_bar.addWidget(self.void_button)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addLayout(today_bar)
        bl.addWidget(self.today)

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(search_row)
        tl.addWidget(self.results_note)
        tl.addWidget(middle, 1)
        outer = self.outer_splitter = QSplitter(Qt.Orientation.Vertical)
        outer.addWidget(top)
        outer.addWidget(bottom)
        outer.setStretchFactor(0, 4)
        outer.setStretchFactor(1, 1)
        outer.setChildrenCollapsible(False)
        outer.setSizes([620, 200])
        self.training_banner = QLabel("TRAINING — sandbox: no real cards are charged")
        self.training_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.training_banner.setStyleSheet("background: #b91c1c; color: white; font-weight: bold; padding: 3px;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.training_banner)
        # only once it has a parent: a parentless widget shown is a top-level window, which
        # takes the keyboard focus away from the main window for good (seen under X11)
        self.training_banner.setVisible(bool(self.ctx.training))
        self.drawer_bar = DrawerBar(self.ctx, self)  # the cash drawer: open, close out, deposit slip; split tender
        self.drawer_bar.account_source = lambda: self.account.account_number if self.account else ""
        self.drawer_bar.card_source = self._hand_over_card
        layout.addWidget(self.drawer_bar)
        layout.addWidget(outer, 1)
        QWidget.setTabOrder(self.search_edit, self.search_by)
        QWidget.setTabOrder(self.search_by, self.search_button)
        QWidget.setTabOrder(self.search_button, self.results)
        QWidget.setTabOrder(self.results, self.amount_edit)
        QWidget.setTabOrder(self.amount_edit, self.tendered_edit)
        QWidget.setTabOrder(self.tendered_edit, self.check_edit)
        QWidget.setTabOrder(self.check_edit, self.authorize_button)
        QWidget.setTabOrder(self.authorize_button, self.cancel_button)
        QWidget.setTabOrder(self.cancel_button, self.today)
        QWidget.setTabOrder(self.today, self.reprint_button)
        QWidget.setTabOrder(self.reprint_button, self.check_button)
        QWidget.setTabOrder(self.check_button, self.void_button)

    def _shortcuts(self) -> None:
        def bind(seq, slot) -> QShortcut:
            s = QShortcut(QKeySequence(seq), self)
            s.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            s.activated.connect(slot)
            return s

        self.shortcut_search = bind("F2", self.focus_search)
        self.shortcut_authorize = bind("F5", self.authorize)
        self.shortcut_print = bind(QKeySequence.StandardKey.Print, self.print_receipt)
        self.shortcut_pdf = bind(QKeySequence.StandardKey.Save, lambda: self.save_pdf())
        self.shortcut_next = bind(QKeySequence.StandardKey.New, self.new_payment)
        self.shortcut_cancel = bind("Esc", self.cancel)
        self.shortcut_card = bind("F6", lambda: self._choose_tender("CARD"))
        self.shortcut_cash = bind("F7", lambda: self._choose_tender("CASH"))
        self.shortcut_check = bind("F8", lambda: self._choose_tender("CHECK"))

    def _connect_capture(self, capture) -> None:
        if capture is None:
            try:
                from console.ui.swipe_capture import SwipeCapture, apply_reader_profile

                capture = apply_reader_profile(self.ctx.services) or SwipeCapture.install()
            except Exception:  # noqa: BLE001 - a console without a reader still takes the rest
                log.exception("card reader capture unavailable")
                capture = None
        self.capture = capture
        if capture is not None:
            reader = getattr(capture, "reader_settings", None)
            if reader is not None:  # which reader settings are in use (Settings › Card reader)
                self.card_box.setToolTip("Card reader settings (Settings › Card reader): " + reader.one_line())
            capture.card_did_arrive.connect(self._on_card)
            capture.swipe_did_fail.connect(self._on_swipe_failed)
            capture.state_did_change.connect(self._on_reader_state)

    # ------------------------------------------------------------------ search and account
    def focus_search(self) -> None:
        if self._busy:
            return
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def search(self) -> None:
        text = self.search_edit.text().strip()
        if not text or self._busy:
            return
        by = str(self.search_by.currentData())
        self.results_note.setText("Searching…")
        Operation(self, lambda op: self.counter.search(text, by), label="Searching accounts…") \
            .success(self._on_results).failure(self._on_failed_quietly).run()

    def _on_results(self, rows) -> None:
        self.results_model.set_rows(rows)
        self._show_results(bool(rows))
        n = len(rows)
        self.results_note.setText("No account found — try part of the name, the street or the phone number."
                                  if not n else f"{counted(n, 'account')}. Up/Down to choose, Enter to open.")
        if n:
            self.results.setFocus()
            self.results.selectRow(0)
        if n == 1:
            self.open_account(rows[0].account_number)

    def _show_results(self, visible: bool) -> None:
        self.left.setCurrentWidget(self.results if visible else self.panel)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj is self.results and event.type() == event.Type.KeyPress and event.key() in (
                Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._on_result_activated(self.results.currentIndex())
            return True
        return super().eventFilter(obj, event)

    def _on_result_activated(self, index) -> None:
        row = self.results_model.row(index.row()) if index.isValid() else None
        if row is not None:
            self.open_account(row.account_number)

    def open_account(self, account_number: str) -> None:
        if self._busy:
            return
        self.ctx.status(f"Opening account {account_number}…")
        Operation(self, lambda op: self.counter.account(account_number), label="Loading the account…") \
            .success(self._on_account).failure(self._on_failed_quietly).run()

    def _on_account(self, view: AccountView) -> None:
        self.new_payment(keep_account=True)
        self._show_results(False)
        if self.results_model.rowCount() > 1:
            self.results_note.setText(f"{self.results_model.rowCount()} accounts found — Esc goes back to the list, "
                                      "F2 searches again.")
        else:
            self.results_note.setText("F2 searches again.")
        self.account = view
        self.panel.set_account(view)
        self.ctx.status(f"Account {view.account_number} · {view.name}")
        self.amount_edit.setText(f"{view.suggested_amount:.2f}" if view.suggested_amount > 0 else "")
        self._update_state()  # enables the amount field first: Qt gives no focus to a disabled widget
        #                       (with nothing due no text change enabled it, and the amount typed was lost)
        self.amount_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.amount_edit.selectAll()

    # ------------------------------------------------------------------ amount
    def _fill_amount_due(self) -> None:
        if self.account is not None:
            self.amount_edit.setText(f"{self.account.suggested_amount:.2f}")
            self.amount_edit.setFocus()

    def amount_check(self):
        if self.account is None:
            return None
        return self.counter.check_amount(self.account, self.amount_edit.text())

    def _on_amount_changed(self, _text: str) -> None:
        self._update_state()

    def _on_amount_enter(self) -> None:
        if self.tender != "CARD":
            (self.tendered_edit if self.tender == "CASH" else self.check_edit).setFocus()
            return
        if self._card is not None:
            self.authorize()
        else:
            check = self.amount_check()
            if check is not None and check.ok:
                self.card_box.show_state("waiting", "Swipe the card now",
                                         f"{format_money(check.amount)} — the reader works whichever field has "
                                         "focus.")

    # ------------------------------------------------------------------ tender
    @property
    def tender(self) -> str:
        b = self.tender_buttons.checkedButton()
        return str(b.property("tender")) if b is not None else "CARD"

    def _choose_tender(self, tender: str) -> None:
        if not self._busy and self.pages.currentIndex() == 0 and self.account is not None:
            self.set_tender(tender)

    def set_tender(self, tender: str) -> None:
        for b in self.tender_buttons.buttons():
            if b.property("tender") == tender:
                b.setChecked(True)

    def _on_tender_toggled(self, button, checked: bool) -> None:
        if not checked:
            return
        tender = str(button.property("tender"))
        self.tender_pages.setCurrentIndex({"CARD": 0, "CASH": 1, "CHECK": 2}[tender])
        if tender != "CARD":
            self._drop_card()
        self.authorize_button.setText({"CARD": "Authorize  (F5)", "CASH": "Take cash  (F5)",
                                       "CHECK": "Take check  (F5)"}[tender])
        self._update_state()
        if tender == "CASH":
            self.tendered_edit.setFocus()
        elif tender == "CHECK":
            self.check_edit.setFocus()

    # ------------------------------------------------------------------ card reader
    def _accepting_cards(self) -> bool:
        return self.isVisible() and self.account is not None and not self._busy and self.pages.currentIndex() == 0

    def _on_card(self, card) -> None:
        if not self._accepting_cards():
            if self.isVisible() and self.account is None:
                self.card_box.show_state("error", "Find the account first",
                                         "The card read was discarded. Choose the account, then swipe again.")
            return
        if getattr(card, "payload", None) is None:
            self.card_box.show_state("error", "This card read cannot be used", "Swipe the card again.")
            return
        if self.tender != "CARD":
            self.set_tender("CARD")  # a swipe says how the customer pays
        self._card = card
        self._card_timer.start(CARD_HOLD_MS)
        self._update_state()
        if self.authorize_button.isEnabled():
            self.authorize_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_swipe_failed(self, reason: str) -> None:
        if not self.isVisible() or self.pages.currentIndex() != 0:
            return
        self._drop_card()
        if self.tender != "CARD":
            self.set_tender("CARD")
        self.card_box.show_state("error", "Card read failed — swipe again", reason)

    def _on_reader_state(self, state: str) -> None:
        if not self._accepting_cards() or self._card is not None:
            return
        if state == "receiving":
            self.card_box.show_state("reading", "Reading the card…", "Keep the card moving through the reader.")
        elif state == "listening":
            self._update_state()

    def _on_card_expired(self) -> None:
        if self._card is not None and not self._busy:
            self._drop_card()
            self.card_box.show_state("waiting", "Card read timed out — swipe again",
                                     "An unused card read is discarded after a few minutes.")
            self._update_state(keep_card_box=True)

    def _drop_card(self) -> None:
        self._card = None
        self._card_timer.stop()

    def _hand_over_card(self):
        """The held card read, for a split payment's card part: used once, so the tab lets go of it."""
        card, self._card = self._card, None
        self._card_timer.stop()
        return card

    # ------------------------------------------------------------------ authorize
    def authorize(self) -> None:
        if self._busy or self.account is None or self.pages.currentIndex() != 0:
            return
        check = self.amount_check()
        if check is None or not check.ok:
            self.amount_edit.setFocus()
            return
        tender = self.tender
        if tender == "CARD" and self._card is None:
            self.card_box.show_state("waiting", "Swipe the card now", f"{format_money(check.amount)} to charge.")
            return
        if tender != "CARD" and not self._other_ready(check):
            (self.tendered_edit if tender == "CASH" else self.check_edit).setFocus()
            return
        confirmed = False
        if check.needs_confirmation:
            if not ask_confirmation(self, "Overpayment", check.needs_confirmation):
                self.amount_edit.setFocus()
                self.amount_edit.selectAll()
                return
            confirmed = True
        account, amount, operator = self.account, check.amount, self.ctx.operator_id
        if tender != "CARD":
            tendered, number = self.tendered_edit.text().strip(), self.check_edit.text().strip()
            self._set_busy(True, f"Recording {tender.lower()} {format_money(amount)}…")

            def other(op):
                return self.counter.take_other_payment(account, amount, tender, operator, confirmed=confirmed,
                                                       tendered=tendered or None, check_number=number,
                                                       progress=op.progress)

            Operation(self, other, label=f"{tender.capitalize()} payment {format_money(amount)}…") \
                .success(self._on_paid).failure(self._on_payment_failed).run()
            return
        card, self._card = self._card, None  # used once: the tab no longer holds it
        self._card_timer.stop()
        self._set_busy(True, f"Authorizing {format_money(amount)}…")

        def work(op):
            return self.counter.take_payment(account, amount, card, operator, confirmed=confirmed,
                                             progress=op.progress)

        Operation(self, work, label=f"Card payment {format_money(amount)}…") \
            .on_progress(lambda done, total, msg: self.progress_label.setText(msg.capitalize() if msg else "")) \
            .success(self._on_paid).failure(self._on_payment_failed).run()

    def _on_paid(self, result: PaymentResult) -> None:
        self._set_busy(False)
        self.last_result = result
        self.refresh_today()
        if result.status == "declined":
            self.card_box.show_state("error", f"DECLINED — {result.reason}",
                                     "Nothing was charged. Ask for another card (swipe it now) or another way to pay.")
            self.ctx.status(f"Declined: {result.reason}")
            self.amount_edit.setFocus()
            self._update_state(keep_card_box=True)
            return
        self.last_document = self.counter.receipt_document(result.payment or result.key)
        self.preview.set_document(self.last_document)
        color = "#15803d" if result.status == "posted" else "#b45309"
        p = result.payment
        if p is not None and p.tender != "CARD":
            head = "PAID" if result.status == "posted" else "PAID — RECEIPT QUEUED"
            change = (f"<div style='font-size:14pt'><b>Change due {format_money(p.change)}</b></div>"
                      if p.change else "")
            line = p.paid_by
        else:
            head = "APPROVED" if result.status == "posted" else "APPROVED — CHARGED"
            change = ""
            line = f"{result.brand} {result.masked_pan} · auth {result.auth_code}"
        self.result_banner.setText(
            f"<div style='font-size:16pt; color:{color}'><b>{head}  {format_money(result.amount)}</b></div>"
            f"{change}<div>{line}</div><div>{result.message}</div>")
        self.pages.setCurrentIndex(1)
        self.print_button.setFocus()
        self.ctx.status(result.message)
        self._update_state()
        self.refresh_account_panel(result.account_number)

    def refresh_account_panel(self, account_number: str) -> Operation | None:
        """Read the account again after a payment or a void, so the balance shown is Caselle's now
        (it kept the balance from before the payment). Quiet: a failure leaves the panel as it was."""
        if self.account is None or self.account.account_number != account_number:
            return None

        def shown(view: AccountView) -> None:
            if self.account is not None and self.account.account_number == view.account_number:
                self.account = view
                self.panel.set_account(view)

        op = Operation(self, lambda op: self.counter.account(account_number), label="Refreshing the balance…")
        op.success(shown).failure(lambda exc: log.info("account %s not refreshed: %s", account_number, exc)).run()
        return op

    def _on_payment_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.refresh_today()
        if isinstance(exc, NoOpenDrawer):  # nothing was taken: offer to open the drawer
            self.drawer_bar.offer_open(exc)
            return
        if isinstance(exc, PaymentUnconfirmed):
            self.card_box.show_state("error", "NOT CONFIRMED — do not swipe again",
                                     f"{exc.message}. Use “Check again” under Today's payments.")
        elif self.tender == "CARD":
            self.card_box.show_state("error", "Not charged", str(exc))
        self._update_state(keep_card_box=True)
        show_error(self, exc)

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self._busy = busy
        self.progress_label.setText(message)
        for w in (self.search_edit, self.search_button, self.results, self.amount_edit, self.pay_due_button,
                  self.cancel_button, self.void_button, self.check_button, self.tendered_edit, self.check_edit,
                  *self.tender_buttons.buttons()):
            w.setEnabled(not busy)
        self._update_state(keep_card_box=True)

    # ------------------------------------------------------------------ after the payment
    def print_receipt(self) -> None:
        if self.last_document is not None and self.pages.currentIndex() == 1:
            if print_receipt(self, self.last_document):
                self.ctx.status("Receipt sent to the printer")

    def save_pdf(self, path: Path | None = None) -> Operation | None:
        """Ask where, then write the receipt PDF on a worker (Save PDF waits meanwhile)."""
        doc = self.last_document
        if doc is None or self.pages.currentIndex() != 1 or self._pdf_op is not None:
            return None
        if path is None:
            folder = self.ctx.services.paths.data_dir / "receipts"
            name = f"receipt-{(doc.receipt_number or doc.transaction_id).replace('/', '-')}.pdf"
            path = save_pdf_path(self, folder / name)
            if path is None:
                return None

        def ended() -> None:
            self._pdf_op = None
            self.pdf_button.setEnabled(True)

        def saved(written: Path) -> None:
            ended()
            self.ctx.status(f"Receipt saved: {written}")

        def failed(exc: BaseException) -> None:
            ended()
            show_error(self, exc)

        self.pdf_button.setEnabled(False)
        self.ctx.status("Saving the receipt PDF…")
        op = Operation(self, lambda op: save_receipt_pdf(doc, path), label="Saving the receipt PDF…")
        op.success(saved).failure(failed)
        self._pdf_op = op
        op.run()
        return op

    def new_payment(self, keep_account: bool = False, keep_results: bool = False) -> None:
        if self._busy:
            return
        self._drop_card()
        self.tendered_edit.clear()
        self.check_edit.clear()
        self.set_tender("CARD")
        self.pages.setCurrentIndex(0)
        self.last_document = None
        self.preview.set_document(None)
        self.result_banner.setText("")
        self.progress_label.setText("")
        if not keep_account:
            self.account = None
            self.panel.set_account(None)
            self.amount_edit.clear()
            if not keep_results:
                self.results_model.set_rows([])
                self._show_results(False)
                self.results_note.setText("")
                self.focus_search()
        self._update_state()

    def cancel(self) -> None:
        """Esc: drop the card read; else leave the receipt page; else clear the account."""
        if self._busy:
            return
        if self._card is not None:
            self._drop_card()
            self._update_state()
            self.ctx.status("Card read discarded")
        elif self.pages.currentIndex() == 1:
            self.new_payment()
        elif self.account is not None:
            back_to_list = self.results_model.rowCount() > 1
            self.new_payment(keep_results=back_to_list)
            if back_to_list:
                self._show_results(True)
                self.results_note.setText("Up/Down to choose, Enter to open.")
                self.results.setFocus()

    # ------------------------------------------------------------------ today's payments
    def refresh_today(self) -> Operation:
        """Read today's payments on a worker (a journal read). Asked again while a read runs, it
        reads once more after it, so the list never shows what was there before the last change."""
        if self._today_op is not None:
            self._today_again = True
            return self._today_op
        self._today_again = False
        counter = self.counter
        op = Operation(self, lambda op: counter.todays_payments(), label="Reading today's payments…")
        op.success(self._show_today).failure(self._on_today_failed)
        self._today_op = op
        op.run()
        return op

    def _today_read(self) -> None:
        self._today_op = None
        if self._today_again:
            self.refresh_today()

    def _on_today_failed(self, exc: BaseException) -> None:
        # the list is secondary; show why (an unexpected error is logged by the Operation)
        why = exc.message if isinstance(exc, UserFacingError) else "the details are in the log (Help → Open the log folder)"
        self.today_title.setText(f"<b>Today's payments</b> — could not be read: {html.escape(why)}")
        self._today_read()

    def _show_today(self, rows: list[CounterPayment]) -> None:
        self.today_model.set_rows(rows)
        posted = [p for p in rows if p.state in ("posted", "queued", "review")]
        total = sum((p.amount for p in posted), start=0)
        attention = sum(p.state in ("unconfirmed", "queued", "review", "void_pending", "receipt_voided") for p in rows)
        note = f" · <span style='color:#b45309'>{attention} need attention</span>" if attention else ""
        by = {t: sum((p.amount for p in posted if p.tender == t), start=0) for t in ("CASH", "CHECK", "CARD")}
        self.today_title.setText(f"<b>Today's payments</b> — {len(posted)} taken, {format_money(total)} (cash "
                                 f"{format_money(by['CASH'])}, checks {format_money(by['CHECK'])}, cards "
                                 f"{format_money(by['CARD'])}){note}")
        self._update_today_buttons()
        self._today_read()

    def selected_payment(self) -> CounterPayment | None:
        idx = self.today.selectionModel().selectedRows()
        return self.today_model.data(idx[0], RowRole) if idx else None

    def _update_today_buttons(self) -> None:
        p = self.selected_payment()
        self.void_button.setEnabled(not self._busy and p is not None and p.voidable)
        self.reprint_button.setEnabled(p is not None and p.state in ("posted", "queued", "voided", "void_pending",
                                                                              "receipt_voided"))

    def show_selected_receipt(self) -> None:
        p = self.selected_payment()
        if p is None or self._busy:
            return
        self._drop_card()
        self.last_document = self.counter.receipt_document(p)
        self.preview.set_document(self.last_document)
        self.result_banner.setText(f"<b>Receipt {p.receipt_number or '(to follow)'}</b> — {p.state_label}")
        self.pages.setCurrentIndex(1)
        self.print_button.setFocus()
        self._update_state()

    def void_selected(self) -> None:
        p = self.selected_payment()
        if p is None or not p.voidable or self._busy:
            return
        why = self.counter.void_permission(p, self.ctx.operator_id)
        request = ask_void(self, p, self.ctx.role, why)
        if request is None:
            return
        operator = self.ctx.operator_id

        def work(op):
            outcome = self.counter.void_counter_payment(p, request.reason_code, request.comment, operator,
                                                        supervisor_pin=request.supervisor_pin or None,
                                                        supervisor_id=request.supervisor_id or None)
            return outcome, self.counter.payment(p.key)  # the journal is read here, not on the GUI thread

        self._set_busy(True, f"Voiding receipt {p.receipt_number}…")
        Operation(self, work, label=f"Voiding receipt {p.receipt_number}…") \
            .success(lambda done: self._on_voided(done[0], p, now=done[1])).failure(self._on_void_failed).run()

    def _on_voided(self, outcome, payment: CounterPayment | None = None, *, now: CounterPayment | None = None) -> None:
        self._set_busy(False)
        self.refresh_today()
        self.ctx.status(outcome.message)
        self.progress_label.setText(outcome.message)
        if payment is None:
            return
        doc = self.last_document
        if (self.pages.currentIndex() == 1 and doc is not None and doc.receipt_number == payment.receipt_number
                and doc.transaction_id == payment.transaction_id):
            # the receipt on screen is the one just voided: it must not still read PAID / APPROVED
            if now is not None:
                self.last_document = self.counter.receipt_document(now)
                self.preview.set_document(self.last_document)
                self.result_banner.setText(
                    f"<div style='font-size:16pt; color:#991b1b'><b>VOIDED  {format_money(now.amount)}</b></div>"
                    f"<div>Receipt {now.receipt_number} — {now.state_label}</div><div>{outcome.message}</div>")
        self.refresh_account_panel(payment.account_number)

    def _on_void_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.refresh_today()
        show_error(self, exc)

    def check_again(self) -> None:
        if self._busy:
            return
        operator = self.ctx.operator_id
        Operation(self, lambda op: self.counter.reconcile(operator=operator), label="Checking card payments…") \
            .success(self._on_checked).failure(self._on_failed_quietly).run()

    def _on_checked(self, result) -> None:
        self.refresh_today()
        n, left = len(result.resolved), len(result.still_unconfirmed)
        self.ctx.status(f"Checked: {n} resolved" + (f", {left} still unconfirmed" if left else ""))

    def _on_failed_quietly(self, exc: BaseException) -> None:
        self.results_note.setText("")
        show_error(self, exc)

    # ------------------------------------------------------------------ state
    def _update_state(self, keep_card_box: bool = False) -> None:
        has_account = self.account is not None
        check = self.amount_check()
        on_entry = self.pages.currentIndex() == 0
        self.amount_edit.setEnabled(has_account and not self._busy and on_entry)
        self.pay_due_button.setEnabled(has_account and not self._busy)
        if check is None:
            self.amount_message.setText("")
        else:
            color = "#b91c1c" if not check.ok else ("#b45309" if check.needs_confirmation else "#374151")
            self.amount_message.setStyleSheet(f"color: {color};")
            self.amount_message.setText(check.message)
        amount_ok = bool(has_account and check is not None and check.ok and not self._busy)
        tender = self.tender
        if tender == "CARD":
            ready = amount_ok and self._card is not None
        else:
            ready = amount_ok and self._other_ready(check)
        self.authorize_button.setEnabled(ready and on_entry)
        self._show_change(check)
        self.cancel_button.setEnabled(not self._busy and (has_account or self._card is not None))
        if not keep_card_box and on_entry and not self._busy and tender == "CARD":
            if not has_account:
                self.card_box.show_state("idle", "Card reader", "Find the account first (F2).")
            elif self._card is not None:
                c = self._card
                name = f" · {c.name}" if c.name else ""
                exp = f" · exp {c.expiry[2:]}/{c.expiry[:2]}" if c.expiry else ""
                self.card_box.show_state("card", f"{c.brand or 'Card'}  {c.masked_pan or '(keyed)'}",
                                         f"Card read OK{name}{exp}. Press F5 to authorize, Esc to discard.")
            else:
                hint = "the reader works whichever field has focus."
                hint = f"{format_money(check.amount)} — {hint}" if check is not None and check.ok else hint.capitalize()
                self.card_box.show_state("waiting", "Swipe the card now", hint)
        self.steps.setText(self._steps_text(has_account, check, on_entry))

    def _other_ready(self, check) -> bool:
        """Cash: the cash handed over (blank = exact) covers the amount; check: a check number."""
        if check is None or not check.ok:
            return False
        if self.tender == "CASH":
            text = self.tendered_edit.text().strip().replace("$", "").replace(",", "")
            if not text:
                return True
            try:
                return Decimal(text) >= check.amount
            except ArithmeticError:
                return False
        return bool(self.check_edit.text().strip())

    def _show_change(self, check) -> None:
        if self.tender != "CASH" or check is None or not check.ok:
            self.change_label.setText("")
            return
        text = self.tendered_edit.text().strip().replace("$", "").replace(",", "")
        try:
            given = Decimal(text) if text else check.amount
        except ArithmeticError:
            given = Decimal("0")
        if given < check.amount:
            self.change_label.setStyleSheet("color: #b91c1c;")
            self.change_label.setText(f"{format_money(check.amount - given)} short")
        else:
            self.change_label.setStyleSheet("color: #15803d;")
            self.change_label.setText(format_money(given - check.amount))

    def _steps_text(self, has_account: bool, check, on_entry: bool) -> str:
        done = "<span style='color:#15803d'>✔ {}</span>"
        now = "<span style='color:#1d4ed8'><b>▶ {}</b></span>"
        todo = "<span style='color:#9ca3af'>{}</span>"
        amount_ok = check is not None and check.ok
        # while authorizing, the card read is already handed over (no longer held): step 4 is current
        card_ok = (self._card is not None or self._busy) if self.tender == "CARD" else self._other_ready(check)
        paid = not on_entry
        third = {"CARD": "3 Card", "CASH": "3 Cash", "CHECK": "3 Check"}[self.tender]
        stages = [("1 Account", has_account), ("2 Amount", amount_ok), (third, card_ok or paid),
                  ("4 Authorize" if self.tender == "CARD" else "4 Take", paid), ("5 Receipt", False)]
        out, current_marked = [], False
        for label, ok in stages:
            if ok:
                out.append(done.format(label))
            elif not current_marked:
                out.append(now.format(label))
                current_marked = True
            else:
                out.append(todo.format(label))
        return "&nbsp;&nbsp;".join(out)

    def _restore_ui_state(self) -> None:
        """Splitters and the search field choice (UI state only: never customer or card data)."""
        try:
            state = self.ctx.ui_state("counter")
            for name, splitter in (("middle", self.middle_splitter), ("outer", self.outer_splitter)):
                saved = state.bytes(f"{name}_splitter")
                if saved is not None:
                    splitter.restoreState(saved)
            by = state.value("search_by")
            if by in SEARCH_BY:
                self.search_by.setCurrentIndex(list(SEARCH_BY).index(by))
        except Exception:  # noqa: BLE001 - UI state is a convenience
            log.debug("counter UI state not restored", exc_info=True)

    def save_ui_state(self) -> None:
        try:
            state = self.ctx.ui_state("counter")
            state.set_value("middle_splitter", self.middle_splitter.saveState())
            state.set_value("outer_splitter", self.outer_splitter.saveState())
            state.set_value("search_by", str(self.search_by.currentData()))
            state.sync()
        except Exception:  # noqa: BLE001
            log.debug("counter UI state not saved", exc_info=True)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.save_ui_state()
        super().hideEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.refresh_today()
        if not getattr(self, "_checked_on_show", False):
            self._checked_on_show = True
            # payments left unconfirmed or queued (the console stopped, the network failed): check them now
            if any(p.state in ("unconfirmed", "queued", "void_pending") for p in self.today_model.rows):
                QTimer.singleShot(0, self.check_again)
        if self.account is None:
            QTimer.singleShot(0, self.focus_search)

