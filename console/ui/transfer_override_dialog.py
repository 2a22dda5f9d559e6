"""A supervisor's override to send a file that was already delivered once.

Shows when, by whom and where the file went; the supervisor enters their own operator ID
and PIN (checked by ``approve(supervisor_id, pin)`` — ``Services.operators.approve``, which
audits both approval and refusal). Only a successful approval closes the dialog with the
approving supervisor in :attr:`supervisor`. The check (a slow PIN hash, audit rows in SQLite)
runs through ``Operation``; the dialog stays responsive and Approve waits meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import Qt
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
from console.formatting import format_date, format_time
from console.services.transfer import AlreadySent
from console.ui.operations import Operation

ApproveFn = Callable[[str, str], Operator]
_ERROR_STYLE = "color:#b91c1c;"
_BUSY_STYLE = "color:#4b5563;"


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    from console.ui import errors  # looked up at call time (tests replace errors.show_error)

    errors.show_error(parent, exc)


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
    return f"on {format_date(moment)} at {format_time(moment, seconds=True)}"


class SupervisorOverrideDialog(QDialog):
    def __init__(self, error: AlreadySent, approve: ApproveFn, parent: QWidget | None = None, *,
                 file_name: str = ""):
        super().__init__(parent)
        self.setObjectName("transfer-override-dialog")
        self.setWindowTitle("File already sent")
        self.setModal(True)
        self.setMinimumWidth(440)
        self._approve = approve
        self._op: Operation | None = None
        self._closed = False
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
        self.message.setStyleSheet(_ERROR_STYLE)
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

    @property
    def checking(self) -> bool:
        return self._op is not None and not self._op.done

    def _say(self, text: str, *, error: bool = True) -> None:
        self.message.setStyleSheet(_ERROR_STYLE if error else _BUSY_STYLE)
        self.message.setText(text)

    def _on_approve_clicked(self) -> Operation | None:
        """Check the supervisor's ID and PIN on a worker; returns the running check (or None
        when nothing was started: a field is empty, or a check is already running)."""
        if self.checking:
            return None
        supervisor_id = self.supervisor_id.text().strip()
        if supervisor_id and not self.pin.text() and self.focusWidget() is self.supervisor_id:
            self.pin.setFocus()  # Enter after the ID: on to the PIN
            return None
        if not supervisor_id or not self.pin.text():
            self._say("Enter the supervisor's ID and PIN.")
            return None
        approve, pin = self._approve, self.pin.text()
        self._set_checking(True)
        self._op = Operation(self, lambda _op: approve(supervisor_id, pin), label="Checking the supervisor PIN…") \
            .success(self._on_approved).failure(self._on_refused)
        return self._op.run()

    def _set_checking(self, checking: bool) -> None:
        # read-only, not disabled: the keyboard stays in the PIN, so a second Enter finds
        # Approve disabled and does nothing (a disabled field would hand the focus on)
        self.approve_button.setEnabled(not checking)
        self.supervisor_id.setReadOnly(checking)
        self.pin.setReadOnly(checking)
        if checking:
            self.setCursor(Qt.CursorShape.BusyCursor)
            self._say("Checking…", error=False)
        else:
            self.unsetCursor()

    def _on_approved(self, approved: Operator | None) -> None:
        self._set_checking(False)
        self.pin.clear()
        if self._closed:
            return  # cancelled while the PIN was being checked: nothing is approved
        if approved is None or approved.role != "supervisor":
            self._say("Only a supervisor may approve this.")
            self.pin.setFocus()
            return
        self._say("", error=False)
        self.supervisor = approved
        self.accept()

    def _on_refused(self, exc: BaseException) -> None:
        self._set_checking(False)
        self.pin.clear()  # never kept in the field
        if isinstance(exc, UserFacingError):
            self._say(exc.message)
            self.pin.setFocus()
            return
        self._say("")
        show_error(self, exc)

    def reject(self) -> None:  # Qt override
        self._closed = True
        super().reject()


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
