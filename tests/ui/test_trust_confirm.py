"""The one confirmation dialog every tab uses before anything leaves the office: it states
what, how many, how much, where and the profile; Cancel is the default button (Enter
cancels); in production above the threshold Send waits for the typed total. And the tabs ask
it: the Posting tab's Post button asks before anything is imported."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt

from console.config import Profile, sandbox_profile
from console.services.confirm import confirmation_text, outbound_for
from console.ui.confirm_dialog import ConfirmSendDialog, ask_to_send

PRODUCTION = Profile("cityhall", values={"confirm_typed_amount_over": Decimal("10000.00"),
                                         "confirm_typed_count_over": 500})


def lockbox_file(profile, amount=Decimal("1200000.00")):
    return outbound_for(profile, action="Send the lockbox file through Stratus", what="LB1207.txt", count=48,
                        unit="payments", amount=amount, destination="sftp://stratus.example.com/lockbox")


def test_cancel_is_the_default_and_enter_cancels(qtbot):
    sent = []
    dlg = ask_to_send(None, lockbox_file(sandbox_profile()), sandbox_profile(), lambda: sent.append(True))
    qtbot.addWidget(dlg)
    qtbot.waitUntil(dlg.isVisible)
    assert dlg.cancel_button.isDefault() and not dlg.send_button.isDefault()
    assert dlg.text_label.text() == confirmation_text(lockbox_file(sandbox_profile()))
    assert "TRAINING" in dlg.findChild(type(dlg.text_label), "confirm-profile").text()
    qtbot.keyClick(dlg, Qt.Key.Key_Return)
    assert not sent and dlg.result() == ConfirmSendDialog.DialogCode.Rejected


def test_training_sends_on_a_click(qtbot):
    sent = []
    dlg = ask_to_send(None, lockbox_file(sandbox_profile()), sandbox_profile(), lambda: sent.append(True))
    qtbot.addWidget(dlg)
    assert dlg.typed_edit is None and dlg.send_button.isEnabled()
    dlg.send_button.click()
    assert sent == [True]


def test_production_above_the_threshold_waits_for_the_typed_total(qtbot):
    sent = []
    dlg = ask_to_send(None, lockbox_file(PRODUCTION), PRODUCTION, lambda: sent.append(True))
    qtbot.addWidget(dlg)
    assert "PRODUCTION" in dlg.findChild(type(dlg.text_label), "confirm-profile").text()
    assert dlg.typed_edit is not None and not dlg.send_button.isEnabled()
    qtbot.keyClicks(dlg.typed_edit, "1,200,000.01")
    assert not dlg.send_button.isEnabled()
    dlg.accept()  # not even programmatically
    assert not sent
    dlg.typed_edit.clear()
    qtbot.keyClicks(dlg.typed_edit, "1,200,000.00")
    assert dlg.send_button.isEnabled()
    dlg.send_button.click()
    assert sent == [True]


def test_production_under_the_threshold_needs_no_typing(qtbot):
    dlg = ConfirmSendDialog(lockbox_file(PRODUCTION, Decimal("950.00")), PRODUCTION)
    qtbot.addWidget(dlg)
    assert dlg.typed_edit is None and dlg.send_button.isEnabled() and dlg.cancel_button.isDefault()
