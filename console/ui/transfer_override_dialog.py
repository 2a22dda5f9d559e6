"""A supervisor's override to send a file that was already delivered once.

Shows when, by whom and where the file went; the supervisor enters their own operator ID
and PIN (checked by ``approve(supervisor_id, pin)`` — ``Services.operators.approve``, which
audits both approval and refusal). Only a successful approval closes the dialog with the
approving supervisor in :attr:`supervisor`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.config import Operator
from console.errors import UserFacingError
from console.services.transfer import AlreadySent

ApproveFn = Callable[[str, str], Operator]


def local_time(stamp: str | None) -> str:
    """A journal time (ISO 8601, UTC) as the clerk's wall clock: ``11/20/2026 01:00:05``."""
    if not stamp:
        return "at an unknown time"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return "on " + moment.astimezone().strftime("%m/%d/%Y at %H:%M:%S")


class SupervisorOverrideDialog(QDialog):
    def __init__(self, error: AlreadySent, approve: ApproveFn, parent: QWidget | None = None, *,
                 file_name: str = ""):
        super().__init__(parent)
        self.setObjectName("transfer-override-dialog")
        self.setWindowTitle("File already sent")
        self.setModal(True)
        self.setMinimumWidth(440)
        self._approve = approve
        self.supervisor: Operator | None = None
        p = error.previous.payload
        when = local_time(error.previous.updated_at)

        intro = QLabel(
            f"<b>{file_name or p.get('local_name', 'This file')} was already sent.</b><br>"
            "Sending the same file again makes Invoice Cloud load the same invoices twice. "
            "Only a supervisor may send it again.")
        intro.setWordWrap(True)
        self.previous_label = QLabel(
            f"Sent {when} by {error.previous.operator or 'unknown'}<br>"
            f"to {p.get('destination', '')}{p.get('remote_path', '')}")
        self.previous_label.setObjectName("override-previous")
        self.previous_label.setWordWrap(True)

        self.supervisor_id = QLineEdit()
        self.supervisor_id.setObjectName("override-supervisor-id")
        self.pin = QLineEdit()
        self.pin.setObjectName("override-pin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.addRow("Supervisor ID:", self.supervisor_id)
        form.addRow("PIN:", self.pin)

        self.message = QLabel("")
        self.message.setObjectName("override-message")
        self.message.setStyleSheet("color:#b91c1c;")
        self.message.setWordWrap(True)

        self.approve_button = QPushButton("Approve and send again")
        self.approve_button.setObjectName("override-approve")
        cancel = QPushButton("Cancel")
        cancel.setObjectName("override-cancel")
        # Enter in the ID moves to the PIN, Enter in the PIN approves (as in every other
        # supervisor prompt); Esc or Cancel closes without sending
        cancel.setAutoDefault(False)
        self.approve_button.setDefault(True)
        buttons = QDialogButtonBox()
        buttons.addButton(self.approve_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(cancel, QDialogButtonBox.ButtonRole.RejectRole)
        self.approve_button.clicked.connect(self._on_approve_clicked)
        cancel.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.previous_label)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def _on_approve_clicked(self) -> None:
        supervisor_id = self.supervisor_id.text().strip()
        if supervisor_id and not self.pin.text() and self.focusWidget() is self.supervisor_id:
            self.pin.setFocus()  # Enter after the ID: on to the PIN
            return
        if not supervisor_id or not self.pin.text():
            self.message.setText("Enter the supervisor's ID and PIN.")
            return
        try:
            approved = self._approve(supervisor_id, self.pin.text())
        except UserFacingError as exc:
            self.message.setText(exc.message)
            self.pin.clear()
            return
        finally:
            self.pin.clear()
        if approved is None or approved.role != "supervisor":
            self.message.setText("Only a supervisor may approve this.")
            return
        self.supervisor = approved
        self.accept()


def ask_supervisor_override(parent: QWidget | None, error: AlreadySent, approve: ApproveFn,
                            file_name: str = "") -> Operator | None:
    """Modal: the approving supervisor, or None when cancelled."""
    dialog = SupervisorOverrideDialog(error, approve, parent, file_name=file_name)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return dialog.supervisor
        return None
    finally:
        dialog.deleteLater()
