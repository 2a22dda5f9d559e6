"""Sign-in: operator ID + PIN through the operator service; demo operators listed only in training."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QTableWidget

from console.app import build_services
from console.config import Operator, Profile, ProfileStore, hash_pin, sandbox_profile
from console.paths import Paths
from console.secrets import MemoryBackend
from console.ui.signin_dialog import DEMO_PINS, SETUP_OPERATOR, SignInDialog


def make(qtbot, name="sandbox"):
    services = build_services(name, secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    dlg = SignInDialog(services)
    qtbot.addWidget(dlg)
    return dlg


def signed_in(qtbot, dlg) -> bool:
    """Run the dialog's check (on a worker) to its end: whether the operator got in."""
    op = dlg.try_sign_in()
    assert op is not None
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    return dlg.result() == SignInDialog.DialogCode.Accepted and dlg.operator is not None


def unlocked(qtbot, dlg) -> bool:
    op = dlg.try_unlock()
    if op is not None:
        qtbot.waitUntil(lambda: op.done, timeout=5000)
    return dlg.result() == dlg.DialogCode.Accepted


def test_demo_pins_shown_are_the_sandbox_operators_real_pins():
    ops = {o.operator_id: o for o in sandbox_profile().operators}
    assert set(DEMO_PINS) == set(ops)
    for op_id, pin in DEMO_PINS.items():
        assert ops[op_id].check_pin(pin), op_id


def test_training_dialog_lists_demo_operators_and_signs_in(qtbot):
    dlg = make(qtbot)
    assert dlg.windowTitle().startswith("TRAINING")
    table = dlg.findChild(QTableWidget, "demo-operators")
    assert table.rowCount() == 4
    assert {table.item(r, 3).text() for r in range(4)} == set(DEMO_PINS.values())
    dlg.id_edit.setText("clerk1")
    dlg.pin_edit.setText("2222")
    assert signed_in(qtbot, dlg)
    assert dlg.operator.operator_id == "clerk1" and dlg.operator.role == "clerk"
    rows = list(dlg.services.audit.rows(action="operator.sign_in"))
    assert rows and rows[-1].operator == "clerk1"


def test_wrong_pin_is_refused_without_saying_which_part_was_wrong(qtbot):
    dlg = make(qtbot)
    dlg.id_edit.setText("clerk1")
    dlg.pin_edit.setText("0000")
    assert not signed_in(qtbot, dlg)
    err = dlg.findChild(QLabel, "signin-error")
    assert "Unknown operator ID or wrong PIN" in err.text() and dlg.pin_edit.text() == ""
    dlg.id_edit.setText("nobody")
    dlg.pin_edit.setText("2222")
    assert not signed_in(qtbot, dlg)
    assert "Unknown operator ID or wrong PIN" in err.text()
    assert dlg.operator is None


def test_repeated_wrong_pins_lock_the_id_out(qtbot):
    dlg = make(qtbot)
    for _ in range(5):
        dlg.id_edit.setText("super1")
        dlg.pin_edit.setText("1234")
        signed_in(qtbot, dlg)
    dlg.id_edit.setText("super1")
    dlg.pin_edit.setText("9999")  # the right PIN, but locked for now
    assert not signed_in(qtbot, dlg)
    assert "try again" in dlg.findChild(QLabel, "signin-error").text()


def test_production_dialog_has_no_demo_list(qtbot):
    ProfileStore(Paths.default().ensure()).save(Profile("cityhall", values={
        "caselle_url": "https://c.example.gov/g", "caselle_client_id": "a", "invoicecloud_biller_id": "C1",
        "invoicecloud_api_url": "https://i.example.com", "invoicecloud_gateway_url": "https://g.example.com",
        "transfer_host": "h", "transfer_user": "u"},
        operators=(Operator("sup", "Sue", "supervisor", hash_pin("4321", iterations=1000)),)))
    dlg = make(qtbot, "cityhall")
    assert "TRAINING" not in dlg.windowTitle()
    assert dlg.findChild(QTableWidget, "demo-operators") is None
    dlg.id_edit.setText("sup")
    dlg.pin_edit.setText("4321")
    assert signed_in(qtbot, dlg) and dlg.operator.name == "Sue"


@pytest.mark.parametrize("operators", [()])
def test_profile_without_operators_allows_a_setup_sign_in(qtbot, operators):
    ProfileStore(Paths.default().ensure()).save(Profile("bare", values={
        "caselle_url": "https://c.example.gov/g", "caselle_client_id": "a", "invoicecloud_biller_id": "C1",
        "invoicecloud_api_url": "https://i.example.com", "invoicecloud_gateway_url": "https://g.example.com",
        "transfer_host": "h", "transfer_user": "u"}, operators=operators))
    dlg = make(qtbot, "bare")
    assert not dlg.pin_edit.isEnabled()
    assert signed_in(qtbot, dlg) and dlg.operator is SETUP_OPERATOR


def _locking_window(qtbot, idle_ms=150):
    from console.ui.context import UiContext
    from console.ui.main_window import MainWindow

    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    ctx = UiContext(services, services.profile.operator("cashier1"))
    w = MainWindow(ctx, check_connection=False, idle_lock_ms=idle_ms)
    qtbot.addWidget(w)
    return w


def test_idle_console_locks_and_only_the_operators_pin_unlocks_it(qtbot):
    w = _locking_window(qtbot)
    qtbot.waitUntil(lambda: w.lock_dialog is not None, timeout=3000)
    dlg = w.lock_dialog
    assert not w.tabs.isEnabled()
    dlg.reject()  # Esc does not unlock
    assert dlg.isVisible() or w.lock_dialog is dlg
    dlg.pin_edit.setText("2222")  # another operator's PIN
    assert not unlocked(qtbot, dlg) and dlg.error_label.text() == "Wrong PIN."
    dlg.pin_edit.setText("1111")
    assert unlocked(qtbot, dlg)
    assert w.lock_dialog is None and w.tabs.isEnabled()
    assert w.idle_lock.timer.isActive()  # counting again


def test_sign_out_from_the_lock(qtbot):
    w = _locking_window(qtbot)
    w.lock()
    with qtbot.waitSignal(w.sign_out_requested, timeout=2000):
        w.lock_dialog._on_sign_out_clicked()


def test_input_restarts_the_idle_countdown(qtbot, monkeypatch):
    from PySide6.QtCore import Qt

    from console.ui import tabs as tabs_mod

    monkeypatch.setattr("console.ui.main_window.TABS", [(t, None, x) for t, _m, x in tabs_mod.TABS])
    w = _locking_window(qtbot, idle_ms=800)
    w.show()
    qtbot.keyClick(w.tabs, Qt.Key.Key_Shift)
    for _ in range(6):  # 6 x 200 ms with a key press each time > 800 ms: never locks
        qtbot.wait(200)
        qtbot.keyClick(w.tabs, Qt.Key.Key_Shift)
    assert w.lock_dialog is None
    qtbot.waitUntil(lambda: w.lock_dialog is not None, timeout=3000)
