"""FTP and FTPS (explicit TLS, certificate verified) against a local pyftpdlib server."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from console.adapters import transfer as tx
from console.config import sandbox_profile
from console.errors import AuthError, Cancelled, NetworkError, RemoteError

USER, PASSWORD = "biller", "s3cret-ftp"


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost (cert file, and cert+key file for the server)."""
    d = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    ca = d / "ca.pem"
    ca.write_bytes(cert_pem)
    both = d / "server.pem"
    both.write_bytes(cert_pem + key_pem)
    return ca, both


def _serve(root: Path, handler_base, **attrs):
    (root / "invoices").mkdir(parents=True, exist_ok=True)
    auth = DummyAuthorizer()
    auth.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    handler = type("Handler", (handler_base,), {"authorizer": auth, "banner": "test ftp", **attrs})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def ftp_server(tmp_path):
    root = tmp_path / "ftp-root"
    server, thread = _serve(root, FTPHandler)
    yield root, server.address[1]
    server.close_all()
    thread.join(timeout=5)


@pytest.fixture
def ftps_server(tmp_path, cert_files):
    root = tmp_path / "ftps-root"
    _ca, both = cert_files
    server, thread = _serve(root, TLS_FTPHandler, certfile=str(both), tls_control_required=True,
                            tls_data_required=True, ssl_context=None)
    yield root, server.address[1]
    server.close_all()
    thread.join(timeout=5)


def settings(protocol: str, port: int, **kw) -> tx.TransferSettings:
    return tx.TransferSettings(**{"protocol": protocol, "host": "127.0.0.1", "port": port, "user": USER,
                                  "password": PASSWORD, "timeout": 5.0, **kw})


def payload(tmp_path: Path, size: int = 150_000, name: str = "invoices.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(os.urandom(size))
    return p


def test_ftps_upload_verifies_the_certificate_and_is_not_flagged(ftps_server, cert_files, tmp_path):
    root, port = ftps_server
    src = payload(tmp_path)
    with tx.open_transfer(settings("ftps", port, ca_file=cert_files[0])) as t:
        result = t.upload(src, "/invoices")
        assert t.delivery_status(result.remote_path) == "awaiting pickup"
        assert [f.name for f in t.list("/invoices")] == ["invoices.txt"]
    assert not result.insecure and result.warnings == ()
    assert result.protocol == "ftps"
    assert (root / "invoices" / "invoices.txt").read_bytes() == src.read_bytes()
    assert os.listdir(root / "invoices") == ["invoices.txt"]


def test_ftps_refuses_an_untrusted_certificate(ftps_server, tmp_path):
    _root, port = ftps_server
    with pytest.raises(RemoteError) as info:
        tx.open_transfer(settings("ftps", port)).connect()  # system trust store: self-signed is unknown
    assert not isinstance(info.value, NetworkError)
    assert "certificate" in str(info.value)


def test_ftps_against_a_server_without_tls_is_refused(ftp_server):
    _root, port = ftp_server
    with pytest.raises(RemoteError, match="does not offer TLS"):
        tx.open_transfer(settings("ftps", port)).connect()


def test_plain_ftp_works_only_with_a_visible_warning(ftp_server, tmp_path):
    root, port = ftp_server
    src = payload(tmp_path)
    with tx.open_transfer(settings("ftp", port)) as t:
        result = t.upload(src, "/invoices")
    assert result.insecure
    assert result.warnings == (tx.PLAIN_FTP_WARNING,)
    assert (root / "invoices" / "invoices.txt").read_bytes() == src.read_bytes()


def test_wrong_ftp_password_is_an_auth_error(ftps_server, cert_files):
    _root, port = ftps_server
    with pytest.raises(AuthError):
        tx.open_transfer(settings("ftps", port, ca_file=cert_files[0], password="nope")).connect()


def test_ftp_cancel_removes_the_temp_file_and_leaves_no_final(ftps_server, cert_files, tmp_path):
    root, port = ftps_server
    src = payload(tmp_path, size=600_000)
    cancel = threading.Event()

    def progress(done, total, message=""):
        if done >= 128 * 1024:
            cancel.set()

    with tx.open_transfer(settings("ftps", port, ca_file=cert_files[0])) as t:
        with pytest.raises(Cancelled):
            t.upload(src, "/invoices", progress=progress, cancel=cancel)
        assert t.list("/invoices") == []
    assert os.listdir(root / "invoices") == []


def test_ftp_refuses_to_replace_a_waiting_file_and_reads_snt_receipts(ftp_server, tmp_path):
    root, port = ftp_server
    (root / "invoices" / "invoices.txt").write_bytes(b"waiting")
    (root / "invoices" / "cycle10.txt.snt").write_bytes(b"done")
    src = payload(tmp_path)
    with tx.open_transfer(settings("ftp", port)) as t:
        with pytest.raises(tx.RemoteFileExists):
            t.upload(src, "/invoices")
        assert t.delivery_status("/invoices/cycle10.txt") == "delivered"
        assert t.delivery_status("/invoices/cycle12.txt") == "missing"
    assert (root / "invoices" / "invoices.txt").read_bytes() == b"waiting"


def test_ftp_connection_refused_is_a_network_error():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(NetworkError):
        tx.open_transfer(settings("ftps", port, timeout=2)).connect()


def test_ftps_connection_dropped_mid_upload_then_the_journaled_resend_delivers_one_file(tmp_path, cert_files):
    """The server cuts control and data connections after ~100 KB: no final file; resend → one file."""
    from pyftpdlib.handlers import TLS_DTPHandler

    from console.adapters.journal import NEEDS_REVIEW, SqliteJournal
    from console.services.transfer import TransferService

    armed = {"limit": 100_000}

    class DroppingDTP(TLS_DTPHandler):
        def handle_read_event(self):  # pyftpdlib binds handle_read to this name; keep the TLS handling
            super().handle_read_event()
            limit = armed["limit"]
            if limit is not None and self.tot_bytes_received >= limit:
                armed["limit"] = None
                self.file_obj.flush()
                cmd = self.cmd_channel
                self.close()
                cmd.socket.close()  # no goodbye: like a network failure
                cmd.close()

    root = tmp_path / "ftps-root"
    _ca, both = cert_files
    server, thread = _serve(root, TLS_FTPHandler, certfile=str(both), tls_control_required=True,
                            tls_data_required=True, ssl_context=None, dtp_handler=DroppingDTP)
    try:
        port = server.address[1]
        s = settings("ftps", port, ca_file=cert_files[0])
        journal = SqliteJournal(tmp_path / "j.sqlite3")
        svc = TransferService(lambda: tx.open_transfer(s), s, journal, folders={"invoices": "/invoices"}, profile=sandbox_profile())
        src = payload(tmp_path, size=600_000)
        with pytest.raises(NetworkError):
            svc.send_file(src, kind="invoices", operator="clerk1")
        assert "invoices.txt" not in os.listdir(root / "invoices")
        assert [e.state for e in journal.entries()] == [NEEDS_REVIEW]
        result = svc.send_file(src, kind="invoices", operator="clerk1")
        assert not result.reconciled and result.protocol == "ftps"
        assert os.listdir(root / "invoices") == ["invoices.txt"]
        assert (root / "invoices" / "invoices.txt").read_bytes() == src.read_bytes()
        journal.close()
    finally:
        server.close_all()
        thread.join(timeout=5)


def test_ftps_data_connections_resume_the_control_tls_session(ftps_server, cert_files):
    """Servers like vsftpd (require_ssl_reuse) refuse data connections that start a new TLS session."""
    _root, port = ftps_server
    with tx.open_transfer(settings("ftps", port, ca_file=cert_files[0])) as t:
        ftp = t._f
        conn, _size = ftp.ntransfercmd("NLST /")
        try:
            conn.recv(1)  # completes the handshake
            assert conn.session_reused
        finally:
            conn.close()
            ftp.voidresp()
