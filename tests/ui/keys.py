"""Helpers for UI tests that type like a person or a keyboard-wedge reader: a fake clock the
SwipeCapture reads, and real key press/release events sent to the window."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent


class FakeClock:
    """A clock a test moves by hand (``clock.t += gap``); SwipeCapture calls it for the time."""

    def __init__(self, start: float = 1000.0):
        self.t = start

    def __call__(self) -> float:
        return self.t


def send_keys(window, clock: FakeClock, text: str, gap: float) -> None:
    """Real key press/release events to the QWindow (the route a keyboard-wedge reader takes),
    ``gap`` seconds apart on the fake clock."""
    for ch in text:
        clock.t += gap
        key = int(Qt.Key.Key_Return) if ch == "\r" else ord(ch.upper())
        mods = Qt.KeyboardModifier.ShiftModifier if (ch.isupper() or ch in "%^?*") else Qt.KeyboardModifier.NoModifier
        QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyPress, key, mods, ch))
        QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyRelease, key, mods, ch))
