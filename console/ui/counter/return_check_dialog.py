"""A supervisor reverses a counter payment after its batch closed: a returned (bounced) check (its
receipt number, the bank's return code and reason) or a card charge refunded after settlement.
The reversal runs through ``ctx.services.reversals`` in an ``Operation``."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from console.domain.money import format_money
from console.services.reversals import RETURN_CODES
from console.ui.errors import show_error
from console.ui.operations import Operation


class ReturnCheckDialog(QDialog):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.result_ = None
        self.setWindowTitle("Returned check or card refund")
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("Returned check", "check")
        self.kind_combo.addItem("Card refund (after settlement)", "refund")
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.code_combo.setEnabled(self.kind == "check"))
        self.receipt_edit = QLineEdit()
        self.receipt_edit.setAccessibleName("Receipt number")
        self.code_combo = QComboBox()
        for code, label in RETURN_CODES.items():
            self.code_combo.addItem(f"{code} — {label}", code)
        self.reason_edit = QLineEdit()
        self.reason_edit.setAccessibleName("Reason")
        self.message = QLabel("The receipt is reversed in Caselle and the profile's NSF fee is billed.")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("What", self.kind_combo)
        form.addRow("Receipt number", self.receipt_edit)
        form.addRow("Return code", self.code_combo)
        form.addRow("Reason", self.reason_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.reverse_button = self.buttons.addButton("Reverse in Caselle", QDialogButtonBox.ButtonRole.ActionRole)
        self.reverse_button.clicked.connect(lambda: self.reverse())
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)

    @property
    def kind(self) -> str:
        return str(self.kind_combo.currentData())

    def reverse(self) -> Operation:
        svc, operator = self.ctx.services.reversals, self.ctx.operator_id
        receipt, code, reason = self.receipt_edit.text().strip(), self.code_combo.currentData(), self.reason_edit.text()
        self.reverse_button.setEnabled(False)

        kind = self.kind

        def done(out) -> None:
            self.result_ = out
            if kind == "refund":
                self.message.setText(f"<b>Card charge {html.escape(out.transaction_id)} ({format_money(out.amount)}) "
                                     f"{'refunded and reversed in Caselle' if out.done else 'refund pending'}</b>")
                return
            self.message.setText(f"<b>Check {html.escape(out.check_number)} ({format_money(out.amount)}) "
                                 f"{'reversed in Caselle' if out.done else html.escape(out.state)}</b>"
                                 + (f" · NSF fee {html.escape(out.nsf_fee)}" if out.nsf_fee else ""))

        def failed(exc: BaseException) -> None:
            self.reverse_button.setEnabled(True)
            show_error(self, exc)

        def work(op):
            if kind == "refund":
                return svc.refund_card(receipt, reason, operator)
            return svc.return_check(receipt, code, reason, operator)

        op = Operation(self, work, label=f"Reversing receipt {receipt}…")
        op.success(done).failure(failed).run()
        return op
