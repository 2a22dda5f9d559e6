"""Split tender / several accounts: one counter transaction paid by any mix of cash, checks and a
card, for one or more accounts (a landlord's check for five units).

The accounts and their amounts, then the parts: cash (and the cash handed over: change comes
only from cash), checks (number and amount) and a card part — the card read the Counter tab
holds (swiped before opening this dialog), authorized first. Work runs through
:class:`console.services.split_tender.SplitTenderService` in an ``Operation``; the one printed
receipt lists every account's receipt.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from console.domain.money import format_money
from console.services.cash_pdf import Section, SimpleDoc
from console.services.drawer import parse_money
from console.services.split_tender import SplitTenderService, TenderPart
from console.ui.counter.printing import print_doc
from console.ui.errors import show_error
from console.ui.operations import Operation


def _pairs_table(headers: list[str], rows: int, name: str) -> QTableWidget:
    t = QTableWidget(rows, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setAccessibleName(name)
    t.horizontalHeader().setStretchLastSection(True)
    t.verticalHeader().hide()
    return t


def _cells(table: QTableWidget) -> list[tuple[str, str]]:
    out = []
    for r in range(table.rowCount()):
        a, b = table.item(r, 0), table.item(r, 1)
        left, right = (a.text().strip() if a else ""), (b.text().strip() if b else "")
        if left or right:
            out.append((left, right))
    return out


class SplitTenderDialog(QDialog):
    def __init__(self, ctx, parent=None, *, account: str = "", card_source=None):
        super().__init__(parent)
        self.ctx = ctx
        self.card_source = card_source  # () -> the swiped card the Counter tab holds (or None); takes it
        self.result_ = None
        self.setWindowTitle("Split tender / several accounts")
        self.resize(720, 560)
        self.accounts = _pairs_table(["Account", "Amount"], 5, "Accounts and amounts")
        if account:
            self.accounts.setItem(0, 0, QTableWidgetItem(account))
        self.checks = _pairs_table(["Check number", "Amount"], 3, "Checks")
        self.cash_edit = QLineEdit()
        self.cash_edit.setAccessibleName("Cash part")
        self.tendered_edit = QLineEdit()
        self.tendered_edit.setAccessibleName("Cash handed over")
        self.card_edit = QLineEdit()
        self.card_edit.setAccessibleName("Card part")
        self.card_edit.setPlaceholderText("swipe the card in the Counter tab first")
        form = QFormLayout()
        form.addRow("Cash part", self.cash_edit)
        form.addRow("Cash handed over", self.tendered_edit)
        form.addRow("Card part", self.card_edit)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.take_button = QPushButton("Take payment")
        self.take_button.setDefault(True)
        self.take_button.clicked.connect(lambda: self.take())
        self.print_button = QPushButton("Print receipt…")
        self.print_button.setEnabled(False)
        self.print_button.clicked.connect(self.print_receipt)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.take_button, self.print_button, close):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("<b>Accounts</b> (each gets its own receipt)"))
        lay.addWidget(self.accounts, 2)
        lay.addWidget(QLabel("<b>Checks</b>"))
        lay.addWidget(self.checks, 1)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addLayout(buttons)

    def take(self) -> Operation | None:
        try:
            accounts = [(a, parse_money(x, f"amount of {a}")) for a, x in _cells(self.accounts)]
            parts = [TenderPart("CHECK", parse_money(x, f"check {n}"), check_number=n) for n, x in _cells(self.checks)]
            if self.cash_edit.text().strip():
                tendered = self.tendered_edit.text().strip()
                parts.append(TenderPart("CASH", parse_money(self.cash_edit.text(), "cash"),
                                        tendered=parse_money(tendered, "tendered") if tendered else None))
            card = None
            if self.card_edit.text().strip():
                card = self.card_source() if self.card_source is not None else None
                parts.append(TenderPart("CARD", parse_money(self.card_edit.text(), "card"), card=card))
        except Exception as exc:  # noqa: BLE001 - a typed value that is not an amount: say so
            show_error(self, exc)
            return None
        counter, operator = self.ctx.services.counter, self.ctx.operator_id
        self.take_button.setEnabled(False)
        self.message.setText("Taking the payment…")

        def work(op):
            views = [(counter.account(a), x) for a, x in accounts]
            return SplitTenderService(counter).take(views, parts, operator, confirmed=True)

        def failed(exc: BaseException) -> None:
            self.take_button.setEnabled(True)
            self.message.setText("")
            show_error(self, exc)

        op = Operation(self, work, label="Split payment…")
        op.success(self._on_taken).failure(failed).run()
        return op

    def _on_taken(self, result) -> None:
        self.result_ = result
        color = {"posted": "#15803d", "declined": "#b91c1c"}.get(result.status, "#b45309")
        change = f"<div style='font-size:14pt'><b>Change due {format_money(result.change)}</b></div>" \
            if result.change else ""
        self.message.setText(f"<div style='color:{color}; font-size:13pt'><b>{result.status.upper()} "
                             f"{format_money(result.total)}</b></div>{change}{html.escape(result.message)}")
        self.take_button.setEnabled(result.status == "declined")
        self.print_button.setEnabled(result.status != "declined")

    def document(self) -> SimpleDoc:
        lines = SplitTenderService(self.ctx.services.counter).receipt_lines(self.result_)
        return SimpleDoc("Receipt", [f"Cashier: {self.ctx.operator_id}"],
                         [Section("Payment", ["", ""], [[k, v] for k, v in lines], align_right_from=2)],
                         training=self.ctx.training)

    def print_receipt(self) -> bool:
        return self.result_ is not None and print_doc(self, self.document())

