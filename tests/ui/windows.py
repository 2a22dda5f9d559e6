"""Helper for UI tests that need a real window on screen (offscreen platform): shown, exposed
and, unless told otherwise, the active window that gets the keyboard."""

from __future__ import annotations


def shown(qtbot, window, *, active: bool = True):
    """``window``, owned by ``qtbot``, shown and exposed; with ``active``, activated and waited
    for until it is the active window."""
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    if active:
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
    return window
