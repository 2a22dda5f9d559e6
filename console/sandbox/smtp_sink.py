"""The sandbox's SMTP sink: a real SMTP server on 127.0.0.1 that keeps what it receives.

Built on aiosmtpd (the maintained successor of the standard library's ``smtpd``):

- STARTTLS is offered and *required* before MAIL and AUTH, with a self-signed certificate
  (CN/SAN ``localhost`` and ``127.0.0.1``) generated with ``cryptography`` at the first start
  and kept in ``<sandbox>/smtp/`` — the sandbox profile trusts exactly that certificate;
- AUTH PLAIN/LOGIN with the demo credentials (``demo`` / :data:`DEMO_PASSWORD`);
- every accepted message is written, atomically, as ``<sandbox>/smtp/mailbox/<time>-<id>.eml``;
  :func:`list_messages` reads them back (for ``biller-console sandbox`` and the tests).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import os
import ssl
import threading
import uuid
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

log = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-smtp"  # training sandbox only; shown by `biller-console sandbox`


# ---- certificate ------------------------------------------------------------------------

def cert_files(sandbox_dir: Path) -> tuple[Path, Path]:
    base = Path(sandbox_dir) / "smtp"
    return base / "cert.pem", base / "key.pem"


def ensure_certificate(sandbox_dir: Path) -> tuple[Path, Path]:
    """The sink's certificate and key (created once; the key file is mode 0600)."""
    cert_path, key_path = cert_files(sandbox_dir)
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Biller Console sandbox")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    tmp_key = key_path.with_suffix(".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_bytes)
    os.replace(tmp_key, key_path)
    tmp_cert = cert_path.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp_cert, cert_path)
    return cert_path, key_path


# ---- mailbox ----------------------------------------------------------------------------

def mailbox_dir(sandbox_dir: Path) -> Path:
    return Path(sandbox_dir) / "smtp" / "mailbox"


@dataclass(frozen=True)
class ReceivedMail:
    path: Path
    sender: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    attachments: tuple[str, ...]
    received_at: str

    def attachment(self, name: str) -> bytes:
        msg = BytesParser(policy=policy.default).parsebytes(self.path.read_bytes())
        for part in msg.iter_attachments():
            if part.get_filename() == name:
                return part.get_payload(decode=True)
        raise KeyError(name)


def list_messages(sandbox_dir: Path) -> list[ReceivedMail]:
    """Messages the sink kept, oldest first."""
    folder = mailbox_dir(sandbox_dir)
    out = []
    for path in sorted(folder.glob("*.eml")) if folder.is_dir() else []:
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes(), headersonly=False)
        out.append(ReceivedMail(
            path=path, sender=str(msg.get("X-Sandbox-Mail-From", msg.get("From", ""))),
            recipients=tuple(r.strip() for r in str(msg.get("X-Sandbox-Rcpt-To", "")).split(",") if r.strip()),
            subject=str(msg.get("Subject", "")), message_id=str(msg.get("Message-ID", "")),
            attachments=tuple(p.get_filename() or "" for p in msg.iter_attachments()),
            received_at=str(msg.get("X-Sandbox-Received", "")),
        ))
    return out


class _Handler:
    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if session.ssl is None:  # require_starttls already refuses this; belt and braces
            return "530 Must issue a STARTTLS command first"
        now = dt.datetime.now(dt.UTC)
        trace = (f"X-Sandbox-Received: {now.isoformat(timespec='seconds')}\r\n"
                 f"X-Sandbox-Mail-From: {envelope.mail_from}\r\n"
                 f"X-Sandbox-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
                 "X-Sandbox-TLS: yes\r\n").encode("ascii", "replace")
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        name = f"{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(trace + content)
        os.replace(tmp, self.folder / name)
        log.info("sandbox SMTP: kept %s for %s", name, ", ".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class _QuietLoginData(logging.Filter):
    """aiosmtpd 1.4 logs a deprecation warning of its own on every successful AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


def _quiet_aiosmtpd() -> None:
    lib_log = logging.getLogger("mail.log")
    if not any(isinstance(f, _QuietLoginData) for f in lib_log.filters):
        lib_log.addFilter(_QuietLoginData())


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == DEMO_USER.encode()
          and auth_data.password == DEMO_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


class SmtpSink:
    """The sink's server on its own thread and event loop. ``start()`` / ``stop()``."""

    def __init__(self, sandbox_dir: Path, *, host: str = "127.0.0.1", port: int = 0):
        self.sandbox_dir = Path(sandbox_dir)
        self.host = host
        self._want_port = port
        self.port = 0
        self.cert_file, self.key_file = ensure_certificate(self.sandbox_dir)
        self.mailbox = mailbox_dir(self.sandbox_dir)
        self.mailbox.mkdir(parents=True, exist_ok=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def _tls(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx

    def start(self) -> SmtpSink:
        _quiet_aiosmtpd()
        loop = asyncio.new_event_loop()
        handler = _Handler(self.mailbox)
        tls = self._tls()

        def factory() -> SMTP:
            return SMTP(handler, hostname="localhost", tls_context=tls, require_starttls=True,
                        auth_require_tls=True, authenticator=_authenticator, auth_required=True,
                        data_size_limit=25 * 1024 * 1024)

        self._server = loop.run_until_complete(loop.create_server(factory, self.host, self._want_port))
        self.port = self._server.sockets[0].getsockname()[1]
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="sandbox-smtp", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def _close() -> None:
            server.close()
            await server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(_close(), loop).result(timeout=5)
        except Exception:  # noqa: BLE001 - stopping must not raise
            log.exception("sandbox SMTP: closing the server failed")
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()
        self._loop = self._server = None

    def messages(self) -> list[ReceivedMail]:
        return list_messages(self.sandbox_dir)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(ctx: Any) -> Any:
    """Runner part: the SMTP sink."""
    from console.sandbox.runner import RunningPart

    port = ctx.port_for(0) if hasattr(ctx, "port_for") else 0
    try:
        sink = SmtpSink(ctx.data_dir, port=port).start()
    except OSError:  # the preferred port is taken: any free one
        sink = SmtpSink(ctx.data_dir, port=0).start()
    info = {
        "smtp_host": sink.host,
        "smtp_port": sink.port,
        "smtp_user": DEMO_USER,
        "smtp_password": DEMO_PASSWORD,
        "smtp_ca_file": str(sink.cert_file),
        "smtp_mailbox": str(sink.mailbox),
    }
    return RunningPart(name="smtp", urls={"smtp_url": sink.url}, info=info, stop=sink.stop, handle=sink)
