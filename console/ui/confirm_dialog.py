"""The one confirmation shown before anything leaves the office (every tab uses it).

It shows ``confirmation_text`` of the sending service's preview (what, how many, how much,
to where, the profile), marks TRAINING or PRODUCTION, and makes **Cancel** the default button
(Enter cancels). In production, above the profile's threshold, the send button stays disabled
until the operator has typed the total (or the count).

``ask_to_send(parent, outbound, profile, on_yes)`` opens it (window-modal, never blocking the
event loop) and calls ``on_yes`` only when the operator chose to send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from console.services.confirm import Outbound, confirmation_text, typed_check, typed_matches

TRAINING_STYLE = "background:#b45309; color:white; font-weight:600; padding:4px;"
PRODUCTION_STYLE = "background:#b91c1c; color:white; font-weight:600; padding:4px;"


class ConfirmSendDialog(QDialog):
    def __init__(self, outbound: Outbound, profile: Any, parent: QWidget | None = None, *, send_text: str = "Send"):
        super().__init__(parent)
        self.outbound = outbound
        self.check = typed_check(outbound, profile)
        self.setObjectName("confirm-send")
        self.setWindowTitle(("TRAINING — " if outbound.training else "") + outbound.action)
        lay = QVBoxLayout(self)
        badge = QLabel("TRAINING — sandbox" if outbound.training else f"PRODUCTION — {outbound.profile}")
        badge.setObjectName("confirm-profile")
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        badge.setStyleSheet(TRAINING_STYLE if outbound.training else PRODUCTION_STYLE)
        lay.addWidget(badge)
        self.text_label = QLabel(confirmation_text(outbound))
        self.text_label.setObjectName("confirm-text")
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setFont(QFont("monospace"))
        self.text_label.setWordWrap(True)
        lay.addWidget(self.text_label)
        self.typed_edit: QLineEdit | None = None
        if self.check is not None:
            prompt = QLabel(self.check.prompt)
            prompt.setWordWrap(True)
            lay.addWidget(prompt)
            self.typed_edit = QLineEdit()
            self.typed_edit.setObjectName("confirm-typed")
            self.typed_edit.setPlaceholderText(self.check.expected if self.check.field == "count" else "0.00")
            self.typed_edit.textChanged.connect(self._on_typed_edit_text_changed)
            lay.addWidget(self.typed_edit)
        buttons = QDialogButtonBox()
        self.send_button: QPushButton = buttons.addButton(send_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button: QPushButton = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.send_button.setAutoDefault(False)
        self.send_button.setDefault(False)
        self.cancel_button.setAutoDefault(True)
        self.cancel_button.setDefault(True)  # Enter cancels: sending is always a deliberate click
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.send_button.setEnabled(self.check is None)
        (self.typed_edit or self.cancel_button).setFocus()

    def _on_typed_edit_text_changed(self, text: str) -> None:
        self.send_button.setEnabled(self.check is not None and typed_matches(self.check, text))

    def accept(self) -> None:  # Qt override: never without the typed total
        if self.check is not None and not typed_matches(self.check, self.typed_edit.text() if self.typed_edit else ""):
            return
        super().accept()


def ask_to_send(parent: QWidget, outbound: Outbound, profile: Any, on_yes: Callable[[], Any], *,
                send_text: str = "Send") -> ConfirmSendDialog:
    """Open the confirmation; ``on_yes`` runs only when the operator chose to send."""
    dlg = ConfirmSendDialog(outbound, profile, parent, send_text=send_text)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.accepted.connect(on_yes)
    dlg.open()
    return dlg
