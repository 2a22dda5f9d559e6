"""Operator sign-in: operator ID and PIN, checked against the profile's operators.

In the sandbox (training mode) the dialog lists the demo operators and their PINs. After
five wrong attempts the dialog waits 30 seconds before it accepts another one. The dialog
never says whether the ID or the PIN was wrong.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from console.config import Operator, Profile

log = logging.getLogger(__name__)

# Training only: the sandbox profile's demo operators (a test checks them against its PIN hashes).
DEMO_PINS = {"cashier1": "1111", "clerk1": "2222", "super1": "9999", "support1": "3333"}
MAX_ATTEMPTS = 5
LOCKOUT_S = 30
SETUP_OPERATOR = Operator("setup", "Set-up (no operators yet)", "supervisor")


class SignInDialog(QDialog):
    def __init__(self, profile: Profile, parent=None):
        super().__init__(parent)
        self.profile = profile
        self.operator: Operator | None = None
        self._failures = 0
        self._locked_until = 0.0
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
        self._lock_timer = QTimer(self)
        self._lock_timer.setInterval(1000)
        self._lock_timer.timeout.connect(self._on_lock_timer_timeout)
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
        if time.monotonic() < self._locked_until:
            return False
        if not self.profile.operators and not self.profile.training:
            log.warning("signed in as set-up operator: profile %s has no operators", self.profile.name)
            self.operator = SETUP_OPERATOR
            self.accept()
            return True
        op_id = self.id_edit.text().strip()
        op = self.profile.operator(op_id)
        if op is not None and op.check_pin(self.pin_edit.text()):
            log.info("operator %s signed in (%s)", op.operator_id, op.role)
            self.operator = op
            self.accept()
            return True
        self._failures += 1
        log.warning("failed sign-in for operator id %r (%d)", op_id[:32], self._failures)
        self.pin_edit.clear()
        self.pin_edit.setFocus()
        if self._failures >= MAX_ATTEMPTS:
            self._failures = 0
            self._locked_until = time.monotonic() + LOCKOUT_S
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            self._lock_timer.start()
            self._on_lock_timer_timeout()
        else:
            self._show_error("Unknown operator ID or wrong PIN.")
        return False

    def _on_lock_timer_timeout(self) -> None:
        left = int(self._locked_until - time.monotonic() + 0.999)
        if left <= 0:
            self._lock_timer.stop()
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
            self._show_error("You can try again.")
            return
        self._show_error(f"Too many wrong attempts. Try again in {left} s.")
