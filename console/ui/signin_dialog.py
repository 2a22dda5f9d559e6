"""Operator sign-in: operator ID and PIN, checked by the operator service (audited, locked
out for a while after repeated wrong PINs). The dialog never says whether the ID or the PIN
was wrong. In the sandbox (training mode) it lists the demo operators and their PINs.

``IdleLock`` locks the console after a period without keyboard or mouse input (15 minutes,
as PCI DSS asks of a console that takes card payments); ``LockDialog`` then asks for the
same operator's PIN, or lets them sign out for another operator.
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
from console.errors import UserFacingError

log = logging.getLogger(__name__)

# Training only: the sandbox profile's demo operators (a test checks them against its PIN hashes).
DEMO_PINS = {"cashier1": "1111", "clerk1": "2222", "super1": "9999", "support1": "3333"}
SETUP_OPERATOR = Operator("setup", "Set-up (no operators yet)", "supervisor")
IDLE_LOCK_MS = 15 * 60 * 1000
_ACTIVITY = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                       QEvent.Type.Wheel, QEvent.Type.TouchBegin})


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
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        self.buttons.accepted.connect(self.try_sign_in)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
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
        self.error_label.setText(text)
        self.error_label.setVisible(True)

    def try_sign_in(self) -> bool:
        if not self.profile.operators and not self.profile.training:
            log.warning("signed in as set-up operator: profile %s has no operators", self.profile.name)
            self._audit_setup()
            self.operator = SETUP_OPERATOR
            self.accept()
            return True
        try:
            signed_in = self.services.operators.sign_in(self.id_edit.text().strip(), self.pin_edit.text())
        except UserFacingError as exc:  # wrong ID/PIN, or locked out for a while
            self.pin_edit.clear()
            self.pin_edit.setFocus()
            self._show_error(exc.message + ".")
            return False
        log.info("operator %s signed in (%s)", signed_in.operator_id, signed_in.role)
        self.operator = signed_in.operator
        self.accept()
        return True

    def _audit_setup(self) -> None:
        try:
            self.services.audit.record(SETUP_OPERATOR.operator_id, "operator.sign_in", SETUP_OPERATOR.operator_id,
                                       role=SETUP_OPERATOR.role, note="profile has no operators")
        except Exception:  # noqa: BLE001 - the audit log is checked by Diagnostics
            log.exception("could not audit the set-up sign-in")


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


class LockDialog(QDialog):
    """The console is locked: the signed-in operator's PIN unlocks it; Sign out lets another in."""

    sign_out = Signal()

    def __init__(self, services, operator: Operator, parent=None):
        super().__init__(parent)
        self.services = services
        self.operator = operator
        self.setObjectName("lock-dialog")
        self.setWindowTitle(("TRAINING — " if services.profile.training else "") + "Console locked")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(380)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"The console was locked after {IDLE_LOCK_MS // 60000} minutes without use.\n"
                             f"Signed in: {operator.name} ({operator.operator_id})."))
        form = QFormLayout()
        self.pin_edit = QLineEdit()
        self.pin_edit.setObjectName("unlock-pin")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&PIN:", self.pin_edit)
        lay.addLayout(form)
        self.error_label = QLabel()
        self.error_label.setObjectName("unlock-error")
        self.error_label.setStyleSheet("color:#b91c1c;")
        self.error_label.setVisible(False)
        lay.addWidget(self.error_label)
        buttons = QDialogButtonBox()
        unlock = buttons.addButton("Unlock", QDialogButtonBox.ButtonRole.AcceptRole)
        unlock.setDefault(True)
        out = QPushButton("Sign out")
        out.setAutoDefault(False)
        buttons.addButton(out, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.accepted.connect(self.try_unlock)
        out.clicked.connect(self._on_sign_out_clicked)
        lay.addWidget(buttons)
        self.pin_edit.setFocus()

    def reject(self) -> None:  # Esc / close: stays locked
        self.pin_edit.setFocus()

    def try_unlock(self) -> bool:
        if self.operator.operator_id == SETUP_OPERATOR.operator_id:
            self.accept()
            return True
        try:
            self.services.operators.sign_in(self.operator.operator_id, self.pin_edit.text())
        except UserFacingError as exc:
            self.pin_edit.clear()
            text = "Wrong PIN" if exc.message.startswith("Unknown operator") else exc.message
            self.error_label.setText(text + ".")
            self.error_label.setVisible(True)
            return False
        self.accept()
        return True

    def _on_sign_out_clicked(self) -> None:
        self.done(QDialog.DialogCode.Rejected)
        self.sign_out.emit()
