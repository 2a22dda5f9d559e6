"""The sandbox SFTP part: runner integration, persistent host key, automatic pinning, pickup, report."""

from __future__ import annotations

import time

import pytest

from console.adapters import transfer as tx
from console.adapters.journal import SqliteJournal
from console.config import sandbox_profile
from console.paths import Paths
from console.sandbox import sftp_server
from console.sandbox.runner import Sandbox
from console.secrets import MemoryBackend, SecretStore
from console.services.transfer import build_transfer_service, settings_for_profile


@pytest.fixture
def paths() -> Paths:
    return Paths.default().ensure()


@pytest.fixture
def sandbox(paths, monkeypatch):
    monkeypatch.setenv("BILLER_CONSOLE_SANDBOX_PICKUP_DELAY", "0.3")
    with Sandbox(data_dir=paths.sandbox_dir, parts=["console.sandbox.sftp_server"]) as sb:
        yield sb


def test_part_lists_url_fingerprint_and_demo_password(sandbox, paths):
    part = sandbox.part("sftp")
    server, picker = part.handle
    assert part.urls["transfer_url"] == f"sftp://demo@127.0.0.1:{server.port}"
    assert part.info["transfer_password"] == sftp_server.DEMO_PASSWORD
    assert part.info["transfer_host_key_fingerprint"] == server.fingerprint
    assert sftp_server.local_host_key(paths.sandbox_dir).fingerprint == server.fingerprint
    assert picker.delay == pytest.approx(0.3)
    for folder in sftp_server.FOLDERS:
        assert (server.root / folder).is_dir()


def test_host_key_persists_across_restarts(paths, monkeypatch):
    with Sandbox(data_dir=paths.sandbox_dir, parts=["console.sandbox.sftp_server"]) as first:
        fp1 = first.part("sftp").info["transfer_host_key_fingerprint"]
    with Sandbox(data_dir=paths.sandbox_dir, parts=["console.sandbox.sftp_server"]) as second:
        fp2 = second.part("sftp").info["transfer_host_key_fingerprint"]
    assert fp1 == fp2
    key_file = sftp_server.host_key_file(paths.sandbox_dir)
    assert key_file.stat().st_mode & 0o077 == 0  # private key readable by the owner only


def test_sandbox_profile_pins_the_sandbox_key_without_a_prompt_and_sends(sandbox, paths, tmp_path):
    endpoints = {**sandbox.endpoints()["info"], **sandbox.endpoints()["urls"]}
    secrets = SecretStore("sandbox", backend=MemoryBackend())
    settings = settings_for_profile(sandbox_profile(), secrets, paths, endpoints)
    pinned = tx.pinned_key(paths.known_hosts_file, settings.host, settings.port)
    assert pinned is not None and pinned.fingerprint == endpoints["transfer_host_key_fingerprint"]

    journal = SqliteJournal(paths.journal_file)
    svc = build_transfer_service(sandbox_profile(), secrets, paths, journal, endpoints=endpoints)
    src = tmp_path / "ICExport.txt"
    src.write_text("AccountNumber,InvoiceNumber\n", encoding="utf-8")
    result = svc.send_file(src, kind="invoices", operator="clerk1")
    assert result.remote_path == "/invoices/ICExport.txt" and result.status == "awaiting pickup"
    deadline = time.monotonic() + 5
    while svc.delivery_status(result) != "delivered" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert svc.delivery_status(result) == "delivered"
    report = sftp_server.report(paths.sandbox_dir)
    assert report["invoices"]["delivered"] == ["ICExport.txt.snt"]
    assert report["invoices"]["awaiting_pickup"] == [] and report["invoices"]["temporary"] == []
    journal.close()


def test_a_production_host_is_never_pinned_automatically(paths, sandbox):
    from console.config import Profile

    server, _ = sandbox.part("sftp").handle
    profile = Profile("prod", values={"transfer_host": "127.0.0.1", "transfer_port": server.port,
                                      "transfer_user": "demo"})
    secrets = SecretStore("prod", backend=MemoryBackend())
    secrets.set("transfer_password", sftp_server.DEMO_PASSWORD)
    settings = settings_for_profile(profile, secrets, paths)
    assert tx.pinned_key(paths.known_hosts_file, "127.0.0.1", server.port) is None
    with pytest.raises(tx.HostKeyUnknown):
        tx.open_transfer(settings).connect()


def test_pickup_delay_option(monkeypatch):
    class Opts:
        pickup_delay_s = 1.5

    assert sftp_server.pickup_delay_from(Opts()) == 1.5
    monkeypatch.setenv("BILLER_CONSOLE_SANDBOX_PICKUP_DELAY", "0.25")
    assert sftp_server.pickup_delay_from(object()) == 0.25
    monkeypatch.setenv("BILLER_CONSOLE_SANDBOX_PICKUP_DELAY", "soon")
    assert sftp_server.pickup_delay_from(object()) == sftp_server.DEFAULT_PICKUP_DELAY_S


def test_sandbox_pins_are_not_left_behind_for_earlier_ports(sandbox, paths):
    server, _ = sandbox.part("sftp").handle
    tx.trust_host_key(paths.known_hosts_file, "127.0.0.1", 1, server.public_key)  # an earlier run's port
    tx.trust_host_key(paths.known_hosts_file, "sftp.example.net", 22, server.public_key)  # not the sandbox
    endpoints = {**sandbox.endpoints()["info"], **sandbox.endpoints()["urls"]}
    settings_for_profile(sandbox_profile(), SecretStore("sandbox", backend=MemoryBackend()), paths, endpoints)
    names = [h for h, _, _ in tx.pinned_hosts(paths.known_hosts_file)]
    assert names == sorted([f"[127.0.0.1]:{server.port}", "sftp.example.net"])


def test_production_settings_take_secrets_from_the_keyring_and_the_port_from_the_protocol(paths):
    from console.config import Profile

    secrets = SecretStore("town", backend=MemoryBackend())
    secrets.set("transfer_password", "pw")
    ftps = settings_for_profile(Profile("town", values={"transfer_protocol": "ftps", "transfer_host": "ftp.example"}),
                                secrets, paths)
    assert (ftps.protocol, ftps.port, ftps.password) == ("ftps", 21, "pw")
    assert "pw" not in repr(ftps)
    sftp = settings_for_profile(Profile("town", values={"transfer_host": "sftp.example"}), secrets, paths)
    assert (sftp.protocol, sftp.port, sftp.known_hosts) == ("sftp", 22, paths.known_hosts_file)
    custom = settings_for_profile(Profile("town", values={"transfer_protocol": "ftps", "transfer_port": 990,
                                                          "transfer_host": "ftp.example"}), secrets, paths)
    assert custom.port == 990
    secrets.set("transfer_key_passphrase", "phrase")
    key = settings_for_profile(Profile("town", values={"transfer_auth": "key", "transfer_key_file": "~/id_ed25519",
                                                       "transfer_host": "sftp.example"}), secrets, paths)
    assert key.auth == "key" and key.key_passphrase == "phrase" and key.key_file.name == "id_ed25519"
    assert "phrase" not in repr(key)
