"""The host-key trust dialog and the supervisor override dialog."""

from __future__ import annotations

import paramiko
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel

from console.adapters.journal import DONE, Entry
from console.adapters.transfer import HostKeyUnknown
from console.config import sandbox_profile
from console.services.operators import OperatorService
from console.services.transfer import AlreadySent
from console.ui.host_key_dialog import HostKeyDialog
from console.ui.transfer_override_dialog import SupervisorOverrideDialog


@pytest.fixture(scope="module")
def key():
    return paramiko.ECDSAKey.generate(bits=256)


@pytest.fixture
def unknown(key) -> HostKeyUnknown:
    return HostKeyUnknown("sftp.invoicecloud.example", 2222, key)


def test_host_key_dialog_shows_the_sha256_fingerprint(qtbot, unknown, key):
    d = HostKeyDialog(unknown)
    qtbot.addWidget(d)
    assert d.fingerprint_label.text() == key.fingerprint
    assert d.fingerprint_label.text().startswith("SHA256:")
    assert d.host_label.text() == "[sftp.invoicecloud.example]:2222"
    assert d.type_label.text() == "ecdsa-sha2-nistp256"
    d.findChild(type(d.trust_button), "host-key-copy").click()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == key.fingerprint


def test_trust_needs_the_explicit_click(qtbot, unknown):
    d = HostKeyDialog(unknown)
    qtbot.addWidget(d)
    d.show()
    assert not d.trust_button.isEnabled()  # not before the operator says they compared it
    assert d.cancel_button.isDefault() and not d.trust_button.isDefault()
    qtbot.keyClick(d, Qt.Key.Key_Return)  # Enter is Cancel, never Trust
    assert d.result() == QDialog.DialogCode.Rejected and not d.trusted

    d2 = HostKeyDialog(unknown)
    qtbot.addWidget(d2)
    d2.show()
    d2.compared.setChecked(True)
    assert d2.trust_button.isEnabled()
    qtbot.mouseClick(d2.trust_button, Qt.MouseButton.LeftButton)
    assert d2.result() == QDialog.DialogCode.Accepted and d2.trusted


def test_cancel_does_not_trust(qtbot, unknown):
    d = HostKeyDialog(unknown)
    qtbot.addWidget(d)
    d.show()
    d.compared.setChecked(True)
    qtbot.mouseClick(d.cancel_button, Qt.MouseButton.LeftButton)
    assert d.result() == QDialog.DialogCode.Rejected and not d.trusted


def _already_sent() -> AlreadySent:
    entry = Entry(id=1, key="transfer:abc:sftp://demo@h:22/invoices/ICExport.txt", kind="transfer.invoices",
                  payload={"local_name": "ICExport.txt", "remote_path": "/invoices/ICExport.txt",
                           "destination": "sftp://demo@h:22"},
                  state=DONE, outcome="sent", remote_ref="/invoices/ICExport.txt", detail="", attempts=1,
                  created_at="2026-11-20T08:00:00+00:00", updated_at="2026-11-20T08:00:05.123+00:00",
                  operator="clerk1", file_fingerprint="sent:abc", line=None)
    return AlreadySent("ICExport.txt", entry)


@pytest.fixture
def operators():
    return OperatorService(sandbox_profile())


def _approve(operators):
    return lambda sid, pin: operators.approve(sid, pin, for_action="transfer.override", by="clerk1")


def test_override_dialog_names_the_previous_send(qtbot, operators):
    d = SupervisorOverrideDialog(_already_sent(), _approve(operators), file_name="ICExport.txt")
    qtbot.addWidget(d)
    text = d.findChild(QLabel, "override-previous").text()
    from console.ui.transfer_override_dialog import local_time

    assert local_time("2026-11-20T08:00:05+00:00") in text  # the clerk's local time
    assert "clerk1" in text and "/invoices/ICExport.txt" in text


def approve_clicked(qtbot, d) -> None:
    """Click Approve and wait for the PIN check (it runs on a worker) to end."""
    d.approve_button.click()
    op = d._op
    assert op is not None
    qtbot.waitUntil(lambda: op.done, timeout=5000)


def test_override_refuses_a_wrong_pin_and_a_non_supervisor(qtbot, operators):
    d = SupervisorOverrideDialog(_already_sent(), _approve(operators))
    qtbot.addWidget(d)
    d.show()
    d.supervisor_id.setText("super1")
    d.pin.setText("0000")
    approve_clicked(qtbot, d)
    assert d.isVisible() and d.supervisor is None
    assert "wrong PIN" in d.message.text()
    assert d.pin.text() == ""  # never kept in the field

    d.supervisor_id.setText("cashier1")
    d.pin.setText("1111")
    approve_clicked(qtbot, d)
    assert d.isVisible() and d.supervisor is None
    assert "not a supervisor" in d.message.text()


def test_override_accepts_a_supervisor(qtbot, operators):
    d = SupervisorOverrideDialog(_already_sent(), _approve(operators))
    qtbot.addWidget(d)
    d.show()
    d.approve_button.click()
    assert "Enter the supervisor" in d.message.text() and d._op is None  # nothing to check
    d.supervisor_id.setText("super1")
    d.pin.setText("9999")
    approve_clicked(qtbot, d)
    assert d.result() == QDialog.DialogCode.Accepted
    assert d.supervisor is not None and d.supervisor.operator_id == "super1"
