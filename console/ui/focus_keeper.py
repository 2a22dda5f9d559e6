"""Gives the keyboard back to the console's previous window when a dialog of ours closes.

A window manager does this (so do Windows and macOS). An X session without one — a kiosk, the
Xvfb end-to-end test — and Qt's offscreen platform leave no window with the keyboard once a
dialog (unlock, confirmation, error) closes: typing may still reach the field under the mouse,
but no shortcut works (F2, F5, Esc) until the cashier clicks into the window.

Only a window of ours that went away while it had the keyboard hands it back, to the most
recent of our windows that is still shown. When the operator switches to another application
(our window is still shown) nothing is done, so the console never steals the keyboard back.

    FocusKeeper.install(app)   # once, at start-up
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtGui import QGuiApplication, QWindow

HISTORY = 16


class FocusKeeper(QObject):
    OBJECT_NAME = "biller_console_focus_keeper"

    def __init__(self, app: QGuiApplication, parent: QObject | None = None):
        super().__init__(parent)
        self._history: list[QWindow] = []  # windows that had the keyboard, most recent last
        self._watched: list[QWindow] = []
        self._app = app
        app.focusWindowChanged.connect(self._on_focus_window_changed)

    @classmethod
    def install(cls, app: QGuiApplication | None = None) -> FocusKeeper:
        app = app or QCoreApplication.instance()
        existing = app.findChild(FocusKeeper, cls.OBJECT_NAME)
        if existing is not None:
            return existing
        keeper = cls(app, parent=app)
        keeper.setObjectName(cls.OBJECT_NAME)
        return keeper

    def remove(self) -> None:
        try:
            self._app.focusWindowChanged.disconnect(self._on_focus_window_changed)
        except (RuntimeError, TypeError):
            pass
        self._history.clear()

    def _on_focus_window_changed(self, window: QWindow | None) -> None:
        """Remember who has the keyboard. Losing it to nobody is not acted on here: that is
        also what switching to another application looks like."""
        self._history = [w for w in self._history if shiboken6.isValid(w) and w is not window]
        self._watched = [w for w in self._watched if shiboken6.isValid(w)]
        if window is None:
            return
        self._history.append(window)
        del self._history[:-HISTORY]
        if not any(w is window for w in self._watched):
            self._watched.append(window)
            window.visibleChanged.connect(lambda visible, w=window: self._on_visible_changed(w, visible))

    def _on_visible_changed(self, window: QWindow, visible: bool) -> None:
        if not visible and self._history and self._history[-1] is window:
            # the window with the keyboard went away: hand it on once the hiding is done
            QTimer.singleShot(0, self, lambda: self._give_back(window))

    def _give_back(self, lost: QWindow) -> None:
        focus = QGuiApplication.focusWindow()
        if focus is not None and focus is not lost:
            return  # a window manager (or the operator) already chose one
        self._history = [w for w in self._history if w is not lost and shiboken6.isValid(w)]
        for window in reversed(self._history):  # the most recent of ours still shown
            if window.isVisible():
                window.requestActivate()
                return
