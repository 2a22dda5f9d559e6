"""Operator trust in the main window: the lock screen hides everything and names who locked it
and why; a supervisor can take over; the next operator lands on their role's home tab; F1
opens the help of the current tab; windows fit a 1024×768 screen."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QMessageBox,
)

from console.app import build_services
from console.secrets import MemoryBackend
from console.ui.context import UiContext, ui_settings
from console.ui.main_window import MainWindow
from tests.ui.windows import shown

CUSTOMER = "BJÖRK ÅSA"
CLOCK = datetime(2026, 12, 7, 14, 5).astimezone()


@pytest.fixture
def services():
    s = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    yield s
    s.close()


def make_window(qtbot, services, operator_id="cashier1") -> MainWindow:
    ctx = UiContext(services, services.profile.operator(operator_id),
                    settings=ui_settings(services.paths.config_dir), clock=lambda: CLOCK)
    w = MainWindow(ctx, check_connection=False, idle_lock_ms=60_000)
    qtbot.addWidget(w)
    return w


def visible_texts() -> list[str]:
    """Every text a person could read on screen: labels, fields, buttons, tables, window titles."""
    out = []
    for w in QApplication.allWidgets():
        if not w.isVisible():
            continue
        if w.isWindow():
            out.append(w.windowTitle())
        if isinstance(w, (QLabel, QLineEdit, QAbstractButton)):
            out.append(w.text())
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            m = w.model()
            out += [str(m.index(r, c).data() or "") for r in range(m.rowCount()) for c in range(m.columnCount())]
    return out


def unlock(qtbot, dlg, operator_id: str, pin: str) -> None:
    dlg.id_edit.setText(operator_id)
    dlg.pin_edit.setText(pin)
    op = dlg.try_unlock()
    qtbot.waitUntil(lambda: op.done, timeout=5000)


def test_locked_window_shows_no_customer_data_and_names_who_locked_it_and_why(qtbot, services):
    w = make_window(qtbot, services)
    shown(qtbot, w)
    tab = w.tabs.currentWidget()
    name_label = QLabel(f"Account 100102-01 — {CUSTOMER}", tab)
    name_label.show()
    box = QMessageBox(QMessageBox.Icon.Information, "Receipt", f"Paid by {CUSTOMER}", parent=w)
    box.open()
    qtbot.waitUntil(box.isVisible)
    assert any(CUSTOMER in t for t in visible_texts())  # the check below can fail

    w.lock_action.trigger()  # Ctrl+L
    assert w.lock_dialog is not None
    texts = visible_texts()
    assert not [t for t in texts if CUSTOMER in t]
    assert not w.tabs.isVisible() and not box.isVisible() and not w.statusBar().isVisible()
    reason = w.lock_dialog.reason_label.text()
    assert "Locked by Casey Cashier (cashier1)" in reason
    assert "Ctrl+L" in reason and "2:05 PM" in reason
    assert not w.help_action.isEnabled() and not w.settings_action.isEnabled()  # no way around it
    assert "Console locked" in w.windowTitle() and "Casey" not in w.windowTitle()

    unlock(qtbot, w.lock_dialog, "cashier1", "1111")
    assert w.lock_dialog is None and w.tabs.isVisible() and box.isVisible() and w.help_action.isEnabled()
    assert w.ctx.operator_id == "cashier1"


def test_idle_lock_says_idle(qtbot, services):
    w = make_window(qtbot, services)
    w.idle_lock.idle.emit()
    assert "without use" in w.lock_dialog.reason_label.text() and w.lock_dialog.reason == "idle"


def test_a_supervisor_unlocks_and_takes_over_another_operator_may_not(qtbot, services):
    w = make_window(qtbot, services)
    w.lock("manual")
    dlg = w.lock_dialog
    unlock(qtbot, dlg, "clerk1", "2222")  # a clerk is not the locked operator nor a supervisor
    assert w.lock_dialog is dlg and "supervisor" in dlg.error_label.text()
    unlock(qtbot, dlg, "super1", "9999")
    assert w.lock_dialog is None
    assert w.ctx.operator_id == "super1" and services.operator_id == "super1"
    assert w.operator_label.text().endswith("(supervisor)")


def test_the_next_operator_lands_on_their_roles_home_tab(qtbot, services):
    clerk = make_window(qtbot, services, "clerk1")
    assert clerk.tabs.tabText(clerk.tabs.currentIndex()) == "Posting"
    clerk.tabs.setCurrentIndex(clerk.tab_index("Lockbox"))
    clerk.save_state()
    again = make_window(qtbot, services, "clerk1")  # the same operator: back where they were
    assert again.tabs.tabText(again.tabs.currentIndex()) == "Lockbox"
    cashier = make_window(qtbot, services, "cashier1")  # another: their home, not the clerk's tab
    assert cashier.tabs.tabText(cashier.tabs.currentIndex()) == "Counter Payments"
    support = make_window(qtbot, services, "support1")
    assert support.tabs.tabText(support.tabs.currentIndex()) == "Diagnostics"


@pytest.mark.parametrize(("tab", "heading"), [
    ("Counter Payments", "Counter Payments"), ("Posting", "Posting"), ("Invoice Import", "Invoice"),
    ("Lockbox", "Lockbox"), ("Bill Images", "Bill"), ("Diagnostics", "Diagnostics"),
])
def test_f1_opens_the_help_of_the_current_tab_not_diagnostics(qtbot, services, tab, heading):
    from PySide6.QtGui import QKeySequence

    w = make_window(qtbot, services, "super1")
    w._restoring = True  # switch tabs without building them (the help does not need them)
    w.tabs.setCurrentIndex(w.tab_index(tab))
    w._restoring = False
    assert w.help_action.shortcut() == QKeySequence("F1")
    w.help_action.trigger()
    help_window = w.help_window
    qtbot.waitUntil(help_window.isVisible)
    text = help_window.browser.toPlainText()
    assert heading in text.splitlines()[0] and "not installed" not in text
    assert w.tabs.tabText(w.tabs.currentIndex()) == tab  # F1 did not jump to Diagnostics


def test_diagnostics_keeps_its_own_shortcut(qtbot, services):
    from PySide6.QtGui import QAction, QKeySequence

    w = make_window(qtbot, services, "support1")
    diag = [a for a in w.findChildren(QAction) if a.text() == "&Diagnostics"]
    assert diag and diag[0].shortcut() == QKeySequence("Ctrl+Shift+D")
    keys = [a.shortcut().toString() for a in w.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert len(keys) == len(set(keys))  # no key is shared (Qt would fire neither)


def test_first_start_fits_a_1024x768_screen(qtbot, services, monkeypatch):
    import console.ui.screen_fit as fit

    monkeypatch.setattr(fit, "available_rect", lambda widget=None: QRect(0, 0, 1024, 738))
    w = make_window(qtbot, services)
    assert w.width() <= 1024 and w.height() <= 738
    w.show()
    qtbot.waitExposed(w)
    assert w.width() <= 1024 and w.height() <= 738
