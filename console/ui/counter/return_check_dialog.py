"""A supervisor enters a returned (bounced) counter check: its receipt number, the bank's return
code and reason. The reversal runs through ``ctx.services.reversals`` in an ``Operation``."""

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
        self.setWindowTitle("Returned check")
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
        form.addRow("Receipt number", self.receipt_edit)
        form.addRow("Return code", self.code_combo)
        form.addRow("Bank's reason", self.reason_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.reverse_button = self.buttons.addButton("Reverse in Caselle", QDialogButtonBox.ButtonRole.ActionRole)
        self.reverse_button.clicked.connect(lambda: self.reverse())
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)

    def reverse(self) -> Operation:
        svc, operator = self.ctx.services.reversals, self.ctx.operator_id
        receipt, code, reason = self.receipt_edit.text().strip(), self.code_combo.currentData(), self.reason_edit.text()
        self.reverse_button.setEnabled(False)

        def done(out) -> None:
            self.result_ = out
            self.message.setText(f"<b>Check {html.escape(out.check_number)} ({format_money(out.amount)}) "
                                 f"{'reversed in Caselle' if out.done else html.escape(out.state)}</b>"
                                 + (f" · NSF fee {html.escape(out.nsf_fee)}" if out.nsf_fee else ""))

        def failed(exc: BaseException) -> None:
            self.reverse_button.setEnabled(True)
            show_error(self, exc)

        op = Operation(self, lambda op: svc.return_check(receipt, code, reason, operator),
                       label=f"Reversing receipt {receipt}…")
        op.success(done).failure(failed).run()
        return op
