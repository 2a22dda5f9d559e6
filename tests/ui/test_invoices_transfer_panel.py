"""The transfer panel under the Invoice Import table (``details_only``): the tab's banner says where
the file went and follows its delivery, so the panel never says it a second time — it keeps the
progress, Cancel, the sender's messages, how the upload was checked and the plain-FTP warning."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QWidget

from console.ui.transfer_panel import TransferPanel
from console.ui.transfer_sender import TransferSender


def _result(**kw):
    values = dict(remote_name="ICExport.txt", remote_path="/invoices/ICExport.txt", protocol="sftp", size=132_933,
                  checksum="ab" * 32, reconciled=False, override=False, insecure=False)
    values.update(kw)
    return SimpleNamespace(**values)


@pytest.fixture
def sender(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    return TransferSender(parent, SimpleNamespace(), None)


def _panel(qtbot, sender, **kw) -> TransferPanel:
    panel = TransferPanel(sender, **kw)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def test_details_only_says_how_the_upload_was_checked_and_never_the_delivery(qtbot, sender):
    panel = _panel(qtbot, sender, details_only=True)
    sender.started.emit("ICExport.txt")
    assert panel.progress.isVisibleTo(panel) and panel.cancel_button.isVisibleTo(panel)
    sender.sent.emit(_result())
    sender.finished.emit(True)
    for status in ("awaiting pickup", "delivered", "unknown", "missing"):
        sender.delivery_changed.emit(status)
        assert not panel.status.isVisibleTo(panel) and panel.status.text() == ""
    assert panel.info.text() == "Upload: 132,933 bytes over SFTP, checksum verified."
    assert not panel.progress.isVisibleTo(panel)
    # what only the panel says is still said: messages and the plain-FTP warning
    sender.message.emit("ICExport.txt had already reached the server; it was not sent twice.")
    assert "not sent twice" in panel.info.text()
    sender.sent.emit(_result(protocol="ftp", checksum="", insecure=True))
    assert panel.info.text() == "Upload: 132,933 bytes over FTP, size verified."
    assert panel.warning.isVisibleTo(panel)


def test_by_default_the_panel_still_says_where_the_file_went_and_its_delivery(qtbot, sender):
    panel = _panel(qtbot, sender)  # a host without a banner of its own
    sender.sent.emit(_result(override=True))
    sender.result = _result()
    sender.delivery_changed.emit("delivered")
    assert "ICExport.txt sent to /invoices/ICExport.txt over SFTP" in panel.info.text()
    assert "(supervisor override)" in panel.info.text()
    assert panel.status.isVisibleTo(panel) and panel.status.text() == "Delivery of ICExport.txt: Delivered"
