"""Dialogs of the Posting tab: manual void (reason, comment, supervisor PIN) and supervisor approval."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from console.services.posting import VOID_REASONS


@dataclass(frozen=True)
class VoidRequest:
    receipt_number: str
    reason_code: str
    comment: str
    supervisor_id: str
    supervisor_pin: str


class ManualVoidDialog(QDialog):
    """Receipt number, a reason from the list, a comment, and — when needed — a supervisor's ID and PIN."""

    def __init__(self, parent=None, *, receipt_number: str = "", operator_role: str = "", lookup=None):
        super().__init__(parent)
        self.setWindowTitle("Void a receipt")
        self._lookup = lookup  # receipt number -> Receipt | None (runs off the GUI thread)
        self.found = None
        self.receipt = QLineEdit(receipt_number)
        self.receipt.setPlaceholderText("e.g. 5.00008")
        self.find_button = QPushButton("Find")
        self.find_button.setEnabled(lookup is not None)
        self.find_button.clicked.connect(self.find)
        self.receipt.returnPressed.connect(self.find)
        self.details = QLabel("Find the receipt to see what will be voided.")
        self.details.setWordWrap(True)
        self.reason = QComboBox()
        self.reason.addItem("Choose a reason…", "")
        for code, label in VOID_REASONS.items():
            self.reason.addItem(label, code)
        self.comment = QPlainTextEdit()
        self.comment.setPlaceholderText("Why is this receipt voided? (kept with the receipt and in the audit log)")
        self.comment.setFixedHeight(70)
        self.supervisor = QLineEdit()
        self.supervisor.setPlaceholderText("supervisor's operator ID (optional)")
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("supervisor PIN")
        note = ("Supervisors void without a PIN." if operator_role == "supervisor" else
                "A supervisor's PIN is needed unless this is your own receipt from today and the office allows "
                "cashiers to void those.")
        self.note = QLabel(note)
        self.note.setWordWrap(True)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #991b1b")
        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.receipt, 1)
        row.addWidget(self.find_button)
        form.addRow("Receipt number", row)
        form.addRow("", self.details)
        form.addRow("Reason", self.reason)
        form.addRow("Comment", self.comment)
        form.addRow("Supervisor", self.supervisor)
        form.addRow("Supervisor PIN", self.pin)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Void receipt")
        self.buttons.accepted.connect(self._on_ok)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def find(self):
        """Look the receipt up (off the GUI thread) and show what it is."""
        number = self.receipt.text().strip()
        if self._lookup is None or not number:
            return None
        from console.ui.operations import Operation

        self.details.setText(f"Looking up {number}…")
        self.find_button.setEnabled(False)

        def done(receipt):
            self.find_button.setEnabled(True)
            self.show_receipt(number, receipt)

        def failed(exc):
            self.find_button.setEnabled(True)
            self.details.setText(f"Could not look it up: {exc}")

        op = Operation(self, lambda _op: self._lookup(number), label=f"Finding {number}…")
        op.success(done).failure(failed).run()
        return op

    def show_receipt(self, number: str, receipt) -> None:
        from console.domain.money import format_money

        self.found = receipt
        if receipt is None:
            self.details.setText(f"Caselle has no receipt {number}.")
            return
        extra = receipt.extra or {}
        status = str(extra.get("status") or ("VOIDED" if receipt.voided else "POSTED")).lower()
        taken_by = extra.get("createdBy") or "?"
        self.details.setText(
            f"{receipt.receipt_number}: account {receipt.account_number}, {format_money(receipt.amount)} "
            f"{receipt.tender}, {receipt.receipt_date:%m/%d/%Y}, batch {receipt.batch_id}, taken by {taken_by} "
            f"— {status}")

    def problems(self) -> list[str]:
        out = []
        if not self.receipt.text().strip():
            out.append("Enter the receipt number.")
        if not self.reason.currentData():
            out.append("Choose a reason.")
        if len(self.comment.toPlainText().strip()) < 3:
            out.append("Write a comment.")
        return out

    def _on_ok(self) -> None:
        problems = self.problems()
        if problems:
            self.error.setText(" ".join(problems))
            return
        self.accept()

    def request(self) -> VoidRequest:
        return VoidRequest(self.receipt.text().strip(), str(self.reason.currentData() or ""),
                           self.comment.toPlainText().strip(), self.supervisor.text().strip(), self.pin.text())


class SupervisorDialog(QDialog):
    """A supervisor approves an action with their operator ID and PIN."""

    def __init__(self, parent=None, *, action: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Supervisor approval")
        self.operator_id = QLineEdit()
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.addRow(QLabel(action or "A supervisor must approve this."))
        form.addRow("Supervisor ID", self.operator_id)
        form.addRow("PIN", self.pin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def credentials(self) -> tuple[str, str]:
        return self.operator_id.text().strip(), self.pin.text()
