"""Connection test, pinned-host management, the diagnostics check and ``biller-console transfer``."""

from __future__ import annotations

import json
from types import SimpleNamespace

import paramiko
import pytest

from console.adapters import transfer as tx
from console.adapters.journal import SqliteJournal
from console.cli import main
from console.config import sandbox_profile
from console.sandbox.runner import stop_embedded
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
from console.services import transfer as svc_mod
from console.services.audit import AuditLog
from console.services.transfer import TransferService, diagnostic_check

FOLDERS = {"invoices": "/invoices", "bills": "/bills", "lockbox": "/lockbox", "balances": "/balances"}


@pytest.fixture(scope="module")
def host_key():
    return paramiko.ECDSAKey.generate(bits=256)


@pytest.fixture
def server(tmp_path, host_key):
    root = tmp_path / "root"
    for f in FOLDERS.values():
        (root / f.strip("/")).mkdir(parents=True)
    with SftpServer(root, host_key) as srv:
        yield srv


@pytest.fixture
def make(tmp_path, server):
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    audit = AuditLog(tmp_path / "j.sqlite3")

    def build(**changes):
        settings = tx.TransferSettings(**{"protocol": "sftp", "host": server.host, "port": server.port,
                                          "user": DEMO_USER, "password": DEMO_PASSWORD,
                                          "known_hosts": tmp_path / "known_hosts", "timeout": 3, **changes})
        return TransferService(lambda: tx.open_transfer(settings), settings, journal, audit, folders=dict(FOLDERS), profile=sandbox_profile())

    yield build
    journal.close()
    audit.close()


def test_connection_report_walks_through_trust(make, server):
    svc = make()
    report = svc.test_connection()
    assert report.state == svc_mod.HOST_KEY_UNKNOWN and report.fingerprint == server.fingerprint
    assert not report.ok
    check = diagnostic_check(SimpleNamespace(transfer=svc))
    assert check.state == "warn" and "host key unknown" in check.summary

    tx.trust_host_key(svc.settings.known_hosts, server.host, server.port, server.public_key)
    (server.root / "invoices" / "a.txt").write_text("x")
    (server.root / "invoices" / "b.txt.snt").write_text("x")
    (server.root / "invoices" / ".b.txt.part-1").write_text("x")
    report = svc.test_connection()
    assert report.ok and report.state == svc_mod.CONNECTED
    assert report.fingerprint == server.fingerprint
    inv = next(f for f in report.folders if f.kind == "invoices")
    assert (inv.awaiting_pickup, inv.delivered, inv.temporary) == (1, 1, 1)
    assert diagnostic_check(SimpleNamespace(transfer=svc)).state == "pass"


def test_connection_report_names_missing_folders_and_bad_credentials(make, server):
    svc = make()
    tx.trust_host_key(svc.settings.known_hosts, server.host, server.port, server.public_key)
    svc.folders["lockbox"] = "/no-such-folder"
    report = svc.test_connection()
    assert report.state == svc_mod.CONNECTED and not report.ok
    assert "/no-such-folder" in report.message
    assert diagnostic_check(SimpleNamespace(transfer=svc)).state == "warn"

    bad = make(password="nope")
    assert bad.test_connection().state == svc_mod.AUTH_FAILED
    assert diagnostic_check(SimpleNamespace(transfer=bad)).state == "fail"


def test_changed_key_report_and_forget_then_trust_again(make, server):
    svc = make()
    tx.trust_host_key(svc.settings.known_hosts, server.host, server.port, paramiko.ECDSAKey.generate(bits=256))
    report = svc.test_connection()
    assert report.state == svc_mod.HOST_KEY_CHANGED and report.fingerprint == server.fingerprint
    assert svc.forget_host_key(server.host, server.port, operator="support1")
    assert not svc.forget_host_key(server.host, server.port, operator="support1")
    assert svc.pinned_hosts() == []
    assert svc.test_connection().state == svc_mod.HOST_KEY_UNKNOWN
    assert svc.audit.rows(action="transfer.forget_host_key")[0].operator == "support1"


def test_unreachable_is_reported_not_raised(make):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    assert make(port=port).test_connection().state == svc_mod.UNREACHABLE


def test_transfer_cli_on_the_sandbox(capsys):
    try:
        assert main(["transfer", "test", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] and report["protocol"] == "sftp" and report["fingerprint"].startswith("SHA256:")
        assert {f["kind"] for f in report["folders"]} == set(FOLDERS)

        assert main(["transfer", "hosts", "--json"]) == 0
        hosts = json.loads(capsys.readouterr().out)
        assert [h["fingerprint"] for h in hosts] == [report["fingerprint"]]  # one pin, not one per port

        assert main(["transfer", "ls", "invoices", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {"folder": "/invoices", "files": []}
        assert main(["transfer", "status", "/invoices/nothing.txt"]) == 0
        assert capsys.readouterr().out.strip() == "missing"
    finally:
        stop_embedded()
