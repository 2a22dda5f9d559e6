"""FocusKeeper: when a dialog of ours closes, our previous window gets the keyboard back.

Found by the Xvfb end-to-end test: after unlocking the console (Ctrl+L, PIN), no window had the
keyboard — without a window manager nobody gives it back — so F2/F5 did nothing until a click.
Qt's offscreen platform behaves the same way, so it is tested here directly.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut, QWindow
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QMainWindow

from console.ui.focus_keeper import FocusKeeper
from tests.ui.windows import shown


@pytest.fixture
def keeper(qapp):
    k = FocusKeeper.install(qapp)
    yield k
    k.remove()
    k.setParent(None)
    k.deleteLater()


@pytest.fixture
def main(qtbot):
    w = QMainWindow()
    w.setCentralWidget(QLineEdit())
    return shown(qtbot, w)


def _open_and_close(qtbot, dialog: QDialog) -> None:
    dialog.open()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.accept()


def test_closing_a_dialog_gives_the_keyboard_back_to_its_window(qtbot, keeper, main):
    fired = []
    QShortcut(QKeySequence("F5"), main).activated.connect(lambda: fired.append("F5"))
    _open_and_close(qtbot, QDialog(main))
    qtbot.waitUntil(main.isActiveWindow, timeout=2000)
    QTest.keyClick(main.windowHandle(), Qt.Key.Key_F5)
    assert fired == ["F5"]


def test_a_parentless_dialog_closing_gives_it_back_too(qtbot, keeper, main):
    _open_and_close(qtbot, QDialog())
    qtbot.waitUntil(main.isActiveWindow, timeout=2000)


def test_nested_dialogs_give_it_back_one_level_at_a_time(qtbot, keeper, main):
    outer = QDialog(main)
    outer.open()
    qtbot.waitUntil(outer.isActiveWindow)
    _open_and_close(qtbot, QDialog(outer))
    qtbot.waitUntil(outer.isActiveWindow, timeout=2000)
    outer.accept()
    qtbot.waitUntil(main.isActiveWindow, timeout=2000)


def test_without_the_keeper_nothing_has_the_keyboard_after_a_dialog(qtbot, main):
    """The platform really leaves it at nobody (else the tests above prove nothing)."""
    installed = QApplication.instance().findChild(FocusKeeper, FocusKeeper.OBJECT_NAME)
    if installed is not None:
        installed.remove()
        installed.setParent(None)
    _open_and_close(qtbot, QDialog(main))
    qtbot.wait(200)
    assert QGuiApplication.focusWindow() is None


def test_switching_to_another_application_is_never_undone(qtbot, keeper, main, monkeypatch):
    """Our window still shown but without the keyboard: the operator went elsewhere."""
    asked = []
    monkeypatch.setattr(QWindow, "requestActivate", lambda self: asked.append(self))
    keeper._on_focus_window_changed(None)  # as when another application takes the keyboard
    qtbot.wait(50)
    assert asked == []
