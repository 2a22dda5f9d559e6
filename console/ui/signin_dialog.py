"""Operator sign-in: operator ID and PIN, checked by the operator service (audited, locked
out for a while after repeated wrong PINs). The dialog never says whether the ID or the PIN
was wrong. In the sandbox (training mode) it lists the demo operators and their PINs.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
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

from console.config import Operator
from console.errors import UserFacingError

log = logging.getLogger(__name__)

# Training only: the sandbox profile's demo operators (a test checks them against its PIN hashes).
DEMO_PINS = {"cashier1": "1111", "clerk1": "2222", "super1": "9999", "support1": "3333"}
SETUP_OPERATOR = Operator("setup", "Set-up (no operators yet)", "supervisor")


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
