"""The lock screen: a cover over the whole main window while the console is locked.

Locking (Ctrl+L, or the idle timeout) swaps the window's content for this cover — the tabs,
the status bar's activity and every window the console has open are hidden, so no customer
data shows — and disables the window's actions (their shortcuts too). The cover names who
locked it and why; the embedded ``LockDialog`` unlocks for the same operator's PIN or a
supervisor's, who then takes over.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.ui.signin_dialog import LockDialog

TRAINING_STYLE = "background:#b45309; color:white; font-weight:600; padding:4px;"


class LockScreen(QWidget):
    """What the locked window shows: a plain background, the lock dialog in the middle."""

    def __init__(self, training: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lock-screen")
        self.setAutoFillBackground(True)
        outer = QVBoxLayout(self)
        if training:
            badge = QLabel("TRAINING")
            badge.setObjectName("lock-training")
            badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
            badge.setStyleSheet(TRAINING_STYLE)
            outer.addWidget(badge)
        outer.addStretch(1)
        title = QLabel("Biller Console is locked")
        title.setObjectName("lock-title")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(title)
        self.card = QFrame()
        self.card.setObjectName("lock-card")
        self.card.setFrameShape(QFrame.Shape.StyledPanel)
        self.card.setMaximumWidth(520)
        self._card_layout = QVBoxLayout(self.card)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.card, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.dialog: LockDialog | None = None

    def set_dialog(self, dialog: LockDialog) -> None:
        old, self.dialog = self.dialog, None
        if old is not None and shiboken6.isValid(old):
            old.deleteLater()
        dialog.setParent(self.card)
        dialog.setWindowFlags(Qt.WindowType.Widget)  # a part of the cover, not a window of its own
        self._card_layout.addWidget(dialog)
        self.dialog = dialog
        dialog.show()
        dialog.pin_edit.setFocus(Qt.FocusReason.OtherFocusReason)


def hide_owned_windows(window: QWidget) -> list[QWidget]:
    """Hide every visible window (dialog, help, preview) that belongs to ``window``; returns them."""
    hidden = []
    for w in QApplication.topLevelWidgets():
        if w is window or not w.isVisible():
            continue
        owner = w.parentWidget()
        while owner is not None and owner is not window:
            owner = owner.parentWidget()
        if owner is window:
            w.hide()
            hidden.append(w)
    return hidden


def show_again(windows: list[QWidget]) -> None:
    for w in windows:
        if shiboken6.isValid(w):
            w.show()


def disable_actions(window: QWidget) -> list[QAction]:
    """Disable the window's enabled actions (menus and their shortcuts); returns them."""
    disabled = [a for a in window.findChildren(QAction) if a.isEnabled()]
    for a in disabled:
        a.setEnabled(False)
    return disabled


def enable_actions(actions: list[QAction]) -> None:
    for a in actions:
        if shiboken6.isValid(a):
            a.setEnabled(True)
