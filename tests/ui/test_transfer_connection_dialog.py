"""The transfer connection dialog: test, trust an unknown host, forget a pinned key (role-gated)."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import paramiko
import pytest

from console.adapters import transfer as tx
from console.adapters.journal import SqliteJournal
from console.config import sandbox_profile
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
from console.services.audit import AuditLog
from console.services.transfer import CONNECTED, HOST_KEY_UNKNOWN, TransferService
from console.ui.transfer_connection_dialog import TransferConnectionDialog, _split_name
from tests.ui.threads import drain

PROFILE = sandbox_profile()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "root"
    for f in ("invoices", "bills", "lockbox", "balances"):
        (root / f).mkdir(parents=True)
    with SftpServer(root, paramiko.ECDSAKey.generate(bits=256)) as srv:
        yield srv


@contextmanager
def sftp_service(tmp_path, host: str, port: int, user: str, password: str):
    """A transfer service to an SFTP host, with its known_hosts, journal and audit log in
    ``tmp_path``; after the block the operations still running are drained and the files closed."""
    settings = tx.TransferSettings("sftp", host, port, user, password=password,
                                   known_hosts=tmp_path / "known_hosts", timeout=5)
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    audit = AuditLog(tmp_path / "j.sqlite3")
    folders = {k: f"/{k}" for k in ("invoices", "bills", "lockbox", "balances")}
    try:
        yield TransferService(lambda: tx.open_transfer(settings), settings, journal, audit, folders=folders, profile=sandbox_profile())
    finally:
        drain()
        journal.close()
        audit.close()


@pytest.fixture
def services(tmp_path, server):
    with sftp_service(tmp_path, server.host, server.port, DEMO_USER, DEMO_PASSWORD) as svc:
        yield SimpleNamespace(transfer=svc, audit=svc.audit)


def test_unknown_host_then_trust_then_connected(qtbot, services, server):
    asked = []
    d = TransferConnectionDialog(services, PROFILE.operator("clerk1"),
                                 ask_trust=lambda w, e: asked.append(e.fingerprint) or True)
    qtbot.addWidget(d)
    d.test_connection()
    qtbot.waitUntil(lambda: d.report is not None, timeout=10000)
    assert d.report.state == HOST_KEY_UNKNOWN
    assert server.fingerprint in d.state_label.text()
    assert d.trust_button.isVisibleTo(d)
    d.trust_button.click()
    qtbot.waitUntil(lambda: d.report.state == CONNECTED, timeout=10000)
    assert asked == [server.fingerprint]
    assert d.folders.rowCount() == 4
    assert not d.trust_button.isVisibleTo(d)
    qtbot.waitUntil(lambda: d.hosts.rowCount() == 1, timeout=5000)  # the pinned keys are read on a worker
    assert d.hosts.item(0, 2).text() == server.fingerprint


def test_only_supervisor_or_support_may_forget(qtbot, services, server):
    tx.trust_host_key(services.transfer.settings.known_hosts, server.host, server.port, server.public_key)
    clerk = TransferConnectionDialog(services, PROFILE.operator("clerk1"))
    qtbot.addWidget(clerk)
    qtbot.waitUntil(lambda: clerk.hosts.rowCount() == 1, timeout=5000)  # read when the dialog opens
    clerk.hosts.selectRow(0)
    assert not clerk.forget_button.isEnabled()

    support = TransferConnectionDialog(services, PROFILE.operator("support1"), confirm_forget=lambda name: True)
    qtbot.addWidget(support)
    op = support.refresh_hosts()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    support.hosts.selectRow(0)
    assert support.forget_button.isEnabled()
    support.forget_button.click()
    forget = support._forget_op
    assert forget is not None and not support.forget_button.isEnabled()  # waits while removing
    qtbot.waitUntil(lambda: forget.done, timeout=5000)
    assert support.hosts.rowCount() == 0 and "Removed the pinned key" in support.hosts_state.text()
    assert services.transfer.pinned_hosts() == []
    assert services.audit.rows(action="transfer.forget_host_key")[0].operator == "support1"


def test_split_known_hosts_names():
    assert _split_name("[127.0.0.1]:2222") == ("127.0.0.1", 2222)
    assert _split_name("sftp.example.net") == ("sftp.example.net", 22)
