"""Sending from the UI against the sandbox SFTP server: trust prompt, override, progress,
cancel, delivery polling ("awaiting pickup" → "delivered") and the plain-FTP warning."""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

import paramiko
import pytest
from PySide6.QtWidgets import QWidget

from console.adapters import transfer as tx
from console.adapters.journal import SqliteJournal
from console.config import sandbox_profile
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer, StratusPickup
from console.services.audit import AuditLog
from console.services.operators import OperatorService
from console.services.transfer import SendResult, TransferService
from console.ui import errors as ui_errors
from console.ui.operations import tracker
from console.ui.transfer_panel import TransferPanel
from console.ui.transfer_sender import TransferSender

CLERK = sandbox_profile().operator("clerk1")


@pytest.fixture(scope="module")
def host_key():
    return paramiko.ECDSAKey.generate(bits=256)


@pytest.fixture
def server(tmp_path, host_key):
    root = tmp_path / "root"
    (root / "invoices").mkdir(parents=True)
    with SftpServer(root, host_key) as srv:
        yield srv


@pytest.fixture
def services(tmp_path, server):
    settings = tx.TransferSettings("sftp", server.host, server.port, DEMO_USER, password=DEMO_PASSWORD,
                                   known_hosts=tmp_path / "known_hosts", timeout=5)
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    audit = AuditLog(tmp_path / "journal.sqlite3")
    svc = TransferService(lambda: tx.SftpTransfer(settings), settings, journal, audit,
                          folders={"invoices": "/invoices"}, profile=sandbox_profile())
    yield SimpleNamespace(transfer=svc, operators=OperatorService(sandbox_profile(), audit), audit=audit)
    tracker().cancel_all()
    tracker().wait(5000)
    journal.close()
    audit.close()


@pytest.fixture
def parent(qtbot):
    w = QWidget()
    qtbot.addWidget(w)
    yield w
    for box in ui_errors.find_error_boxes():
        box.close()


@pytest.fixture
def invoice(tmp_path):
    p = tmp_path / "ICExport.txt"
    p.write_bytes(os.urandom(250_000))
    return p


def files(server):
    return sorted(os.listdir(server.root / "invoices"))


def test_first_send_asks_to_trust_then_sends_and_polls_until_delivered(qtbot, parent, services, server, invoice):
    asked = []

    def ask_trust(widget, error):
        asked.append(error.fingerprint)
        return True

    sender = TransferSender(parent, services, CLERK, ask_trust=ask_trust, poll_ms=50)
    panel = TransferPanel(sender)
    qtbot.addWidget(panel)
    statuses: list[str] = []
    sender.delivery_changed.connect(statuses.append)
    with qtbot.waitSignal(sender.finished, timeout=15000) as done:
        sender.send(invoice)
    assert done.args == [True]
    assert asked == [server.fingerprint]
    assert files(server) == ["ICExport.txt"]
    assert statuses == ["awaiting pickup"] and sender.polling
    assert "ICExport.txt sent to /invoices/ICExport.txt" in panel.info.text()
    assert not panel.warning.isVisibleTo(panel)
    assert panel.status.text() == "Delivery of ICExport.txt: Awaiting pickup"
    assert services.audit.rows(action="transfer.trust_host_key")[0].operator == "clerk1"

    StratusPickup(server.root, delay=0).scan_once()
    qtbot.waitUntil(lambda: statuses[-1] == "delivered", timeout=10000)
    assert panel.status.text() == "Delivery of ICExport.txt: Delivered"
    qtbot.waitUntil(lambda: not sender.polling, timeout=2000)


def test_untrusted_host_sends_nothing(qtbot, parent, services, server, invoice):
    sender = TransferSender(parent, services, CLERK, ask_trust=lambda w, e: False)
    messages: list[str] = []
    sender.message.connect(messages.append)
    with qtbot.waitSignal(sender.finished, timeout=15000) as done:
        sender.send(invoice)
    assert done.args == [False]
    assert files(server) == []
    assert "not trusted" in messages[-1]


def test_already_sent_file_needs_a_supervisor(qtbot, parent, services, server, invoice):
    tx.trust_host_key(services.transfer.settings.known_hosts, server.host, server.port, server.public_key)
    services.transfer.send_file(invoice, kind="invoices", operator="clerk1")
    StratusPickup(server.root, delay=0).scan_once()

    declined = TransferSender(parent, services, CLERK, ask_override=lambda *a, **k: None)
    with qtbot.waitSignal(declined.finished, timeout=15000) as done:
        declined.send(invoice)
    assert done.args == [False] and files(server) == ["ICExport.txt.snt"]

    def ask_override(widget, error, approve, file_name=""):
        assert file_name == "ICExport.txt"
        assert error.previous.operator == "clerk1"
        return approve("super1", "9999")

    sender = TransferSender(parent, services, CLERK, ask_override=ask_override)
    results: list[SendResult] = []
    sender.sent.connect(results.append)
    with qtbot.waitSignal(sender.finished, timeout=15000) as done:
        sender.send(invoice)
    assert done.args == [True]
    assert results[0].override
    assert files(server) == ["ICExport.txt", "ICExport.txt.snt"]
    actions = [r.action for r in services.audit.rows()]
    assert "operator.approve" in actions and "file.override" in actions


def test_cancel_stops_the_upload_and_leaves_nothing(qtbot, parent, services, server, tmp_path):
    tx.trust_host_key(services.transfer.settings.known_hosts, server.host, server.port, server.public_key)
    big = tmp_path / "big.txt"
    big.write_bytes(os.urandom(3_000_000))
    sender = TransferSender(parent, services, CLERK)
    panel = TransferPanel(sender)
    qtbot.addWidget(panel)
    gate = threading.Event()
    original = services.transfer.send_file

    def slow_send(*args, progress=None, **kw):
        def report(done, total, message=""):
            progress(done, total, message)
            if done > 0:
                gate.wait(5)
        return original(*args, progress=report, **kw)

    services.transfer.send_file = slow_send
    messages: list[str] = []
    sender.message.connect(messages.append)
    with qtbot.waitSignal(sender.finished, timeout=15000) as done:
        sender.send(big)
        qtbot.waitUntil(lambda: panel.cancel_button.isVisibleTo(panel), timeout=5000)
        qtbot.wait(100)
        panel.cancel_button.click()
        gate.set()
    assert done.args == [False]
    assert "cancelled" in messages[-1]
    assert files(server) == []
    assert not panel.cancel_button.isVisibleTo(panel)


def test_plain_ftp_result_shows_the_warning(qtbot, parent, services):
    sender = TransferSender(parent, services, CLERK)
    panel = TransferPanel(sender)
    qtbot.addWidget(panel)
    result = SendResult("k", "/invoices/a.txt", 10, "f", tx.DeliveryStatus.AWAITING_PICKUP, "ftp", insecure=True,
                        warnings=(tx.PLAIN_FTP_WARNING,))
    sender.sent.emit(result)
    assert panel.warning.isVisibleTo(panel)
    assert "unencrypted" in panel.warning.text()
    secure = SendResult("k", "/invoices/a.txt", 10, "f", tx.DeliveryStatus.AWAITING_PICKUP, "sftp")
    sender.sent.emit(secure)
    assert not panel.warning.isVisibleTo(panel)


def test_delivery_polling_backs_off(qtbot, parent, services, server, invoice):
    tx.trust_host_key(services.transfer.settings.known_hosts, server.host, server.port, server.public_key)
    sender = TransferSender(parent, services, CLERK, poll_ms=40, max_poll_ms=150)
    intervals: list[int] = []
    real_poll = sender._poll

    def spy(**kw):
        intervals.append(sender._timer.interval())
        real_poll(**kw)

    sender._timer.timeout.disconnect()
    sender._timer.timeout.connect(lambda: spy())
    with qtbot.waitSignal(sender.finished, timeout=15000):
        sender.send(invoice)
    qtbot.waitUntil(lambda: len(intervals) >= 6, timeout=10000)
    assert intervals[0] == 40
    assert intervals == sorted(intervals) and intervals[-1] == 150  # grows, then stays at the ceiling
    StratusPickup(server.root, delay=0).scan_once()
    qtbot.waitUntil(lambda: sender.delivery == "delivered", timeout=5000)
    assert not sender.polling


def test_changed_host_key_is_refused_loudly_and_nothing_is_sent(qtbot, parent, services, server, invoice):
    from PySide6.QtWidgets import QApplication, QMessageBox

    from console.ui.host_key_dialog import HOST_KEY_CHANGED_BOX

    tx.trust_host_key(services.transfer.settings.known_hosts, server.host, server.port,
                      paramiko.ECDSAKey.generate(bits=256))
    asked = []
    sender = TransferSender(parent, services, CLERK, ask_trust=lambda w, e: asked.append(e) or True)
    with qtbot.waitSignal(sender.finished, timeout=15000) as done:
        sender.send(invoice)
    assert done.args == [False] and asked == []  # never offered for trust
    assert files(server) == []
    boxes = [w for w in QApplication.topLevelWidgets()
             if isinstance(w, QMessageBox) and w.objectName() == HOST_KEY_CHANGED_BOX]
    assert boxes and server.fingerprint in boxes[0].informativeText()
    assert boxes[0].icon() == QMessageBox.Icon.Critical
    for b in boxes:
        b.close()
