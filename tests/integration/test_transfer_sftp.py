"""SFTP transfer against the sandbox's real in-process SFTP server (paramiko, 127.0.0.1)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import paramiko
import pytest

from console.adapters import transfer as tx
from console.errors import AuthError, Cancelled, NetworkError
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer, StratusPickup


@pytest.fixture(scope="session")
def host_key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate(bits=256)


@pytest.fixture
def server(tmp_path, host_key):
    root = tmp_path / "sftp-root"
    (root / "invoices").mkdir(parents=True)
    with SftpServer(root, host_key) as srv:
        yield srv


def settings(srv: SftpServer, known_hosts: Path, **kw) -> tx.TransferSettings:
    base = dict(protocol="sftp", host=srv.host, port=srv.port, user=DEMO_USER, password=DEMO_PASSWORD,
                known_hosts=known_hosts, timeout=5.0)
    base.update(kw)
    return tx.TransferSettings(**base)


@pytest.fixture
def trusted(server, tmp_path):
    kh = tmp_path / "known_hosts"
    tx.trust_host_key(kh, server.host, server.port, server.public_key)
    return settings(server, kh)


def payload(tmp_path: Path, name: str = "invoices.txt", size: int = 200_000) -> Path:
    p = tmp_path / name
    p.write_bytes(os.urandom(size))
    return p


def names(root: Path, folder: str = "invoices") -> list[str]:
    return sorted(os.listdir(root / folder))


def test_unknown_host_key_is_refused_with_its_fingerprint_then_trusted(server, tmp_path):
    kh = tmp_path / "known_hosts"
    s = settings(server, kh)
    with pytest.raises(tx.HostKeyUnknown) as info:
        tx.open_transfer(s).connect()
    err = info.value
    assert err.fingerprint == server.fingerprint
    assert err.fingerprint.startswith("SHA256:")
    assert err.fingerprint in str(err)
    assert not kh.exists()  # nothing pinned without the explicit trust

    tx.trust_host_key(kh, err.host, err.port, err.key)
    assert f"[{server.host}]:{server.port} " in kh.read_text()  # non-22 port written [host]:port
    with tx.open_transfer(s) as t:
        assert t.list("/invoices") == []


def test_port_22_is_written_without_brackets():
    assert tx.known_hosts_name("sftp.example.net", 22) == "sftp.example.net"
    assert tx.known_hosts_name("sftp.example.net", 2222) == "[sftp.example.net]:2222"


def test_changed_host_key_is_refused_loudly(server, tmp_path):
    kh = tmp_path / "known_hosts"
    other = paramiko.ECDSAKey.generate(bits=256)
    tx.trust_host_key(kh, server.host, server.port, other)
    with pytest.raises(tx.HostKeyChanged) as info:
        tx.open_transfer(settings(server, kh)).connect()
    assert info.value.offered == server.fingerprint
    assert info.value.expected == other.fingerprint
    assert "HAS CHANGED" in str(info.value)
    # trusting the new key over a pinned one is refused too
    with pytest.raises(tx.HostKeyChanged):
        tx.trust_host_key(kh, server.host, server.port, server.public_key)
    assert tx.pinned_key(kh, server.host, server.port) == other


def test_wrong_password_is_an_auth_error(server, trusted):
    s = tx.TransferSettings(**{**trusted.__dict__, "password": "wrong"})
    with pytest.raises(AuthError):
        tx.open_transfer(s).connect()


def test_key_authentication_with_a_passphrase(server, trusted, tmp_path):
    user_key = paramiko.ECDSAKey.generate(bits=256)
    key_file = tmp_path / "id_ecdsa"
    user_key.write_private_key_file(str(key_file), password="correct horse")
    server.authorized_keys.append(paramiko.PKey.from_type_string(user_key.get_name(), user_key.asbytes()))
    s = tx.TransferSettings(**{**trusted.__dict__, "auth": "key", "password": None, "key_file": key_file,
                               "key_passphrase": "correct horse"})
    with tx.open_transfer(s) as t:
        assert t.list("/invoices") == []
    no_pass = tx.TransferSettings(**{**s.__dict__, "key_passphrase": None})
    with pytest.raises(AuthError, match="passphrase"):
        tx.open_transfer(no_pass).connect()


def test_connection_refused_is_a_network_error(tmp_path):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    s = tx.TransferSettings("sftp", "127.0.0.1", port, "demo", password="x", known_hosts=tmp_path / "kh", timeout=2)
    with pytest.raises(NetworkError):
        tx.open_transfer(s).connect()


def test_upload_verifies_and_renames_never_leaving_a_temp(server, trusted, tmp_path):
    src = payload(tmp_path)
    seen: list[tuple[int, int | None]] = []
    with tx.open_transfer(trusted) as t:
        result = t.upload(src, "/invoices", progress=lambda d, total, m="": seen.append((d, total)))
        assert result.remote_path == "/invoices/invoices.txt"
        assert result.size == src.stat().st_size
        assert result.checksum == tx.local_checksum(src)  # check-file confirmed the content
        assert not result.insecure
        assert t.exists("/invoices/invoices.txt")
        assert t.delivery_status("/invoices/invoices.txt") == "awaiting pickup"
    assert (server.root / "invoices" / "invoices.txt").read_bytes() == src.read_bytes()
    assert names(server.root) == ["invoices.txt"]
    assert seen[-1] == (src.stat().st_size, src.stat().st_size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_upload_refuses_to_replace_a_waiting_file(server, trusted, tmp_path):
    src = payload(tmp_path)
    (server.root / "invoices" / "invoices.txt").write_bytes(b"someone else's file")
    with tx.open_transfer(trusted) as t, pytest.raises(tx.RemoteFileExists):
        t.upload(src, "/invoices")
    assert (server.root / "invoices" / "invoices.txt").read_bytes() == b"someone else's file"
    assert names(server.root) == ["invoices.txt"]


def test_connection_dropped_mid_upload_leaves_no_final_file_and_the_resend_delivers_one(server, trusted, tmp_path):
    src = payload(tmp_path, size=300_000)
    server.faults.drop_after_bytes = 120_000
    with pytest.raises(NetworkError), tx.open_transfer(trusted) as t:
        t.upload(src, "/invoices")
    assert server.faults.dropped == 1
    left = names(server.root)
    assert "invoices.txt" not in left  # never a partial final file
    assert all(tx.is_temp_name(n) for n in left)
    assert any((server.root / "invoices" / n).stat().st_size < src.stat().st_size for n in left)

    with tx.open_transfer(trusted) as t:
        assert t.delivery_status("/invoices/invoices.txt") == "missing"
        assert t.remove_stale_temps("/invoices", "invoices.txt") == len(left)
        t.upload(src, "/invoices")
    assert names(server.root) == ["invoices.txt"]
    assert (server.root / "invoices" / "invoices.txt").read_bytes() == src.read_bytes()


def test_cancel_removes_the_temp_file(server, trusted, tmp_path):
    src = payload(tmp_path, size=400_000)
    cancel = threading.Event()

    def progress(done, total, message=""):
        if done >= 128 * 1024:
            cancel.set()

    with tx.open_transfer(trusted) as t:
        with pytest.raises(Cancelled):
            t.upload(src, "/invoices", progress=progress, cancel=cancel)
        assert t.list("/invoices") == []
    assert names(server.root) == []


def test_snt_rename_is_the_delivery_receipt(server, trusted, tmp_path):
    src = payload(tmp_path, size=5_000)
    pickup = StratusPickup(server.root, delay=0.2)
    with tx.open_transfer(trusted) as t:
        t.upload(src, "/invoices")
        assert t.delivery_status("/invoices/invoices.txt") == tx.DeliveryStatus.AWAITING_PICKUP
        (server.root / "invoices" / ".x.part-1").write_bytes(b"temp")  # temporaries are never picked up
        pickup.scan_once(now=0.0)
        assert pickup.scan_once(now=1.0) == [server.root / "invoices" / "invoices.txt.snt"]
        d = t.delivery("/invoices/invoices.txt")
        assert d.status == tx.DeliveryStatus.DELIVERED
        assert d.file.path == "/invoices/invoices.txt.snt" and d.file.size == 5_000
        assert t.delivery_status("/invoices/other.txt") == tx.DeliveryStatus.MISSING
    assert (server.root / "invoices" / ".x.part-1").exists()


def test_stem_snt_receipt_is_recognised(server, trusted):
    (server.root / "invoices" / "cycle11.snt").write_bytes(b"x" * 10)
    with tx.open_transfer(trusted) as t:
        assert t.delivery_status("/invoices/cycle11.txt") == tx.DeliveryStatus.DELIVERED


def test_pickup_thread_renames_after_the_delay(server, trusted, tmp_path):
    src = payload(tmp_path, size=1_000)
    pickup = StratusPickup(server.root, delay=0.3, interval=0.05).start()
    try:
        with tx.open_transfer(trusted) as t:
            t.upload(src, "/invoices")
            deadline = time.monotonic() + 5
            while t.delivery_status("/invoices/invoices.txt") != "delivered" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert t.delivery_status("/invoices/invoices.txt") == "delivered"
    finally:
        pickup.stop()


def test_paths_cannot_leave_the_root(server, trusted, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    with tx.open_transfer(trusted) as t:
        assert t.stat("/../secret.txt") is None
        assert t.stat("/../../" + str(outside)) is None
