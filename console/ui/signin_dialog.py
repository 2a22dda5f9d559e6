"""Operator sign-in: operator ID and PIN, checked by the operator service (audited, locked
out for a while after repeated wrong PINs). The dialog never says whether the ID or the PIN
was wrong. In the sandbox (training mode) it lists the demo operators and their PINs.

``IdleLock`` locks the console after a period without keyboard or mouse input (15 minutes,
as PCI DSS asks of a console that takes card payments), as Ctrl+L does at once; ``LockDialog``
then asks for the same operator's PIN or a supervisor's (who takes over), or lets them sign
out for another operator.

Checking a PIN (a deliberately slow hash, the lockout, an audit row in SQLite) runs through
``Operation``: the dialogs stay responsive, their buttons wait while the PIN is checked, and
``try_sign_in`` / ``try_unlock`` return the running check (tests wait for it).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from console.config import Operator
from console.errors import NotPermitted, UserFacingError
from console.services.operators import SETUP_OPERATOR  # the one the services accept
from console.ui.operations import Operation

log = logging.getLogger(__name__)

# Training only: the sandbox profile's demo operators (a test checks them against its PIN hashes).
DEMO_PINS = {"cashier1": "1111", "clerk1": "2222", "super1": "9999", "support1": "3333"}
IDLE_LOCK_MS = 15 * 60 * 1000
_ACTIVITY = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                       QEvent.Type.Wheel, QEvent.Type.TouchBegin})
_ERROR_STYLE = "color:#b91c1c;"
_BUSY_STYLE = "color:#4b5563;"


def show_error(parent, exc: BaseException) -> None:
    from console.ui import errors  # looked up at call time (tests replace errors.show_error)

    errors.show_error(parent, exc)


def _set_message(label: QLabel, text: str, *, error: bool) -> None:
    """The dialog's one message line: red for a refusal, grey while the PIN is being checked."""
    label.setStyleSheet(_ERROR_STYLE if error else _BUSY_STYLE)
    label.setText(text)
    label.setVisible(bool(text))


def _sign_in_setup(services) -> Operator:
    """A profile without operators: the set-up operator, audited (worker thread)."""
    log.warning("signed in as set-up operator: profile %s has no operators", services.profile.name)
    try:
        services.audit.record(SETUP_OPERATOR.operator_id, "operator.sign_in", SETUP_OPERATOR.operator_id,
                              role=SETUP_OPERATOR.role, note="profile has no operators")
    except Exception:  # noqa: BLE001 - the audit log is checked by Diagnostics
        log.exception("could not audit the set-up sign-in")
    return SETUP_OPERATOR


class SignInDialog(QDialog):
    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.profile = profile = services.profile
        self.operator: Operator | None = None
        self.setObjectName("signin-dialog")
        self.setWindowTitle(("TRAINING — " if profile.training else "") + "Sign in — Biller Console")
        self.setMinimumWidth(420)

        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        if profile.training:
            banner = QLabel("TRAINING — sandbox profile with demo data")
            banner.setObjectName("training-banner")
            banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
            banner.setStyleSheet("background:#b45309; color:white; font-weight:600; padding:4px;")
            lay.addWidget(banner)
        intro = QLabel(f"Profile <b>{profile.name}</b>. Enter your operator ID and PIN.")
        intro.setWordWrap(True)
        lay.addWidget(intro)

        form = QFormLayout()
        self.id_edit = QLineEdit()
        self.id_edit.setObjectName("operator-id")
        self.id_edit.setPlaceholderText("e.g. cashier1")
        self.pin_edit = QLineEdit()
        self.pin_edit.setObjectName("operator-pin")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setMaxLength(32)
        form.addRow("&Operator ID:", self.id_edit)
        form.addRow("&PIN:", self.pin_edit)
        lay.addLayout(form)

        self.error_label = QLabel()
        self.error_label.setObjectName("signin-error")
        self.error_label.setStyleSheet("color:#b91c1c;")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        lay.addWidget(self.error_label)

        if profile.training:
            lay.addWidget(self._demo_table())
        elif not profile.operators:
            note = QLabel("No operators are set up for this profile yet. Continue without a PIN to add "
                          "them in File › Settings… › Operators.")
            note.setWordWrap(True)
            note.setObjectName("no-operators")
            lay.addWidget(note)
            self.id_edit.setText(SETUP_OPERATOR.operator_id)
            self.id_edit.setEnabled(False)
            self.pin_edit.setEnabled(False)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.sign_in_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.sign_in_button.setText("Sign in")
        self.buttons.accepted.connect(self.try_sign_in)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self._op: Operation | None = None
        self._closed = False
        self.id_edit.setFocus()

    def _demo_table(self) -> QTableWidget:
        rows = [o for o in self.profile.operators if o.operator_id in DEMO_PINS]
        table = QTableWidget(len(rows), 4)
        table.setObjectName("demo-operators")
        table.setHorizontalHeaderLabels(["Operator ID", "Name", "Role", "PIN"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for r, o in enumerate(rows):
            for c, value in enumerate((o.operator_id, o.name, o.role, DEMO_PINS[o.operator_id])):
                table.setItem(r, c, QTableWidgetItem(value))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.setMaximumHeight(table.verticalHeader().length() + table.horizontalHeader().height() + 4)
        table.cellDoubleClicked.connect(lambda row, _col: self._fill_demo(rows[row]))
        table.setToolTip("Demo operators (training only). Double-click one to fill in its ID and PIN.")
        return table

    def _fill_demo(self, op: Operator) -> None:
        self.id_edit.setText(op.operator_id)
        self.pin_edit.setText(DEMO_PINS[op.operator_id])
        self.pin_edit.setFocus()

    def _show_error(self, text: str) -> None:
        _set_message(self.error_label, text, error=True)

    @property
    def checking(self) -> bool:
        return self._op is not None and not self._op.done

    def try_sign_in(self) -> Operation | None:
        """Check the ID and PIN on a worker (slow hash, lockout, audit row); the dialog accepts
        itself when they are right and says why not when they are wrong. Returns the running
        check, or None when one is already running (Enter pressed twice)."""
        if self.checking:
            return None
        services = self.services
        if not self.profile.operators and not self.profile.training:
            def work(_op):
                return _sign_in_setup(services)
        else:
            operator_id, pin = self.id_edit.text().strip(), self.pin_edit.text()

            def work(_op):
                return services.operators.sign_in(operator_id, pin).operator
        self._set_checking(True)
        self._op = Operation(self, work, label="Checking the PIN…") \
            .success(self._on_signed_in).failure(self._on_refused)
        return self._op.run()

    def _set_checking(self, checking: bool) -> None:
        # read-only, not disabled: the keyboard stays in the field, so a second Enter finds
        # Sign in disabled and does nothing (a disabled field would hand the focus to Cancel)
        self.sign_in_button.setEnabled(not checking)
        for w in (self.id_edit, self.pin_edit):
            w.setReadOnly(checking)
        if checking:
            self.setCursor(Qt.CursorShape.BusyCursor)
            _set_message(self.error_label, "Checking…", error=False)
        else:
            self.unsetCursor()

    def _on_signed_in(self, operator: Operator) -> None:
        self._set_checking(False)
        self.pin_edit.clear()
        if self._closed:
            return  # cancelled while the PIN was being checked: nobody signs in
        log.info("operator %s signed in (%s)", operator.operator_id, operator.role)
        _set_message(self.error_label, "", error=False)
        self.operator = operator
        self.accept()

    def _on_refused(self, exc: BaseException) -> None:
        self._set_checking(False)
        self.pin_edit.clear()
        if isinstance(exc, UserFacingError):  # wrong ID/PIN, or locked out for a while
            self.pin_edit.setFocus()
            self._show_error(exc.message + ".")
            return
        _set_message(self.error_label, "", error=False)
        show_error(self, exc)

    def reject(self) -> None:  # Qt override
        self._closed = True
        super().reject()


class IdleLock(QObject):
    """Emits ``idle`` after ``timeout_ms`` without keyboard, mouse or touch input anywhere in the app."""

    idle = Signal()

    def __init__(self, parent: QObject, timeout_ms: int = IDLE_LOCK_MS):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(timeout_ms)
        self.timer.timeout.connect(self.idle)
        self.paused = False
        QApplication.instance().installEventFilter(self)
        self.timer.start()

    def eventFilter(self, obj, e: QEvent) -> bool:  # noqa: N802 - Qt override
        if e.type() in _ACTIVITY and not self.paused:
            self.timer.start()  # restart the countdown
        return False

    def pause(self) -> None:
        self.paused = True
        self.timer.stop()

    def resume(self) -> None:
        self.paused = False
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


LOCK_REASONS = {"manual": "locked with Ctrl+L", "idle": f"locked after {IDLE_LOCK_MS // 60000} minutes without use"}


class LockDialog(QDialog):
    """The console is locked: the signed-in operator's PIN unlocks it, or a supervisor's ID and
    PIN (the supervisor then takes over); Sign out lets another operator in. The main window
    embeds it in the cover that hides every tab (``console/ui/lock_screen.py``)."""

    sign_out = Signal()

    def __init__(self, services, operator: Operator, parent=None, *, reason: str = "idle", locked_at: str = ""):
        super().__init__(parent)
        self.services = services
        self.operator = operator
        self.reason = reason
        self.unlocked_by: Operator | None = None  # who unlocked: the operator, or a supervisor taking over
        self.setObjectName("lock-dialog")
        self.setWindowTitle(("TRAINING — " if services.profile.training else "") + "Console locked")
        self.setMinimumWidth(380)
        lay = QVBoxLayout(self)
        when = f" at {locked_at}" if locked_at else ""
        self.reason_label = QLabel(
            f"<b>Locked by {operator.name} ({operator.operator_id})</b> — {LOCK_REASONS.get(reason, reason)}{when}.<br>"
            "Enter your PIN to unlock, or a supervisor's ID and PIN to take over.")
        self.reason_label.setObjectName("lock-reason")
        self.reason_label.setWordWrap(True)
        lay.addWidget(self.reason_label)
        form = QFormLayout()
        self.id_edit = QLineEdit(operator.operator_id)
        self.id_edit.setObjectName("unlock-operator")
        self.pin_edit = QLineEdit()
        self.pin_edit.setObjectName("unlock-pin")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&Operator ID:", self.id_edit)
        form.addRow("&PIN:", self.pin_edit)
        lay.addLayout(form)
        self.error_label = QLabel()
        self.error_label.setObjectName("unlock-error")
        self.error_label.setStyleSheet("color:#b91c1c;")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        lay.addWidget(self.error_label)
        buttons = QDialogButtonBox()
        self.unlock_button = unlock = buttons.addButton("Unlock", QDialogButtonBox.ButtonRole.AcceptRole)
        unlock.setDefault(True)
        out = QPushButton("Sign out")
        out.setAutoDefault(False)
        buttons.addButton(out, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.accepted.connect(self.try_unlock)
        self.pin_edit.returnPressed.connect(self.try_unlock)
        out.clicked.connect(self._on_sign_out_clicked)
        lay.addWidget(buttons)
        self._op: Operation | None = None
        self._signed_out = False
        self.pin_edit.setFocus()

    def reject(self) -> None:  # Esc / close: stays locked
        self.pin_edit.setFocus()

    @property
    def checking(self) -> bool:
        return self._op is not None and not self._op.done

    def try_unlock(self) -> Operation | None:
        """Check the PIN on a worker; the dialog accepts itself when it is right. The locked
        operator's own PIN, or a supervisor's (``OperatorService.approve``: audited, same lockout).
        Returns the running check (None for the set-up operator, unlocked at once, or when a
        check is already running)."""
        if self.operator.operator_id == SETUP_OPERATOR.operator_id:
            self.unlocked_by = self.operator
            self.accept()
            return None
        if self.checking:
            return None
        operators, locked = self.services.operators, self.operator
        operator_id, pin = self.id_edit.text().strip() or locked.operator_id, self.pin_edit.text()
        if operator_id == locked.operator_id:
            def work(_op):
                return operators.sign_in(operator_id, pin).operator
        else:
            def work(_op):
                return operators.approve(operator_id, pin, for_action="unlock", by=locked.operator_id)
        self._set_checking(True)
        self._op = Operation(self, work, label="Checking the PIN…") \
            .success(self._on_unlocked).failure(self._on_refused)
        return self._op.run()

    def _set_checking(self, checking: bool) -> None:
        self.unlock_button.setEnabled(not checking)
        self.pin_edit.setReadOnly(checking)  # keeps the keyboard: a second Enter does nothing
        self.id_edit.setReadOnly(checking)
        if checking:
            self.setCursor(Qt.CursorShape.BusyCursor)
            _set_message(self.error_label, "Checking…", error=False)
        else:
            self.unsetCursor()

    def _on_unlocked(self, operator: Operator) -> None:
        self._set_checking(False)
        self.pin_edit.clear()
        if self._signed_out:
            return
        _set_message(self.error_label, "", error=False)
        self.unlocked_by = operator
        self.accept()

    def _on_refused(self, exc: BaseException) -> None:
        self._set_checking(False)
        self.pin_edit.clear()
        self.pin_edit.setFocus()
        if isinstance(exc, NotPermitted):
            _set_message(self.error_label, f"Only {self.operator.name} or a supervisor can unlock.", error=True)
            return
        if isinstance(exc, UserFacingError):
            text = "Wrong PIN" if exc.message.startswith("Unknown operator") else exc.message
            _set_message(self.error_label, text + ".", error=True)
            return
        _set_message(self.error_label, "", error=False)
        show_error(self, exc)

    def _on_sign_out_clicked(self) -> None:
        self._signed_out = True
        self.done(QDialog.DialogCode.Rejected)
        self.sign_out.emit()
