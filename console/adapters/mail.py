"""Sending e-mail (the lockbox file to whoever imports it into Caselle) over SMTP.

- STARTTLS is required: a server that does not offer it gets nothing (no plaintext fallback).
- The server certificate is verified (hostname too) against the system store, or against
  ``ca_file`` when given (the sandbox sink's self-signed certificate).
- The password comes from the secrets port (keyring), never from settings or logs.
- Every message carries a Message-ID chosen by the caller (derived from the journal key), so a
  recipient can see the same send twice for what it is.

Failures are sorted by what they mean for exactly-once delivery:
:class:`~console.errors.NetworkError` / :class:`~console.errors.RemoteError` /
:class:`~console.errors.AuthError` raised *before* the message data was sent mean nothing was
delivered; :class:`MailOutcomeUnknown` means the connection failed while or after the data was
sent — the message may have been delivered and must not be re-sent blindly.
"""

from __future__ import annotations

import logging
import mimetypes
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from console.errors import AuthError, NetworkError, RemoteError

log = logging.getLogger(__name__)
SYSTEM = "smtp"


class MailOutcomeUnknown(NetworkError):
    """The connection failed while the message was being handed over: it may have been delivered."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    user: str = ""
    sender: str = ""
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None  # trust this CA / self-signed certificate instead of the system store
    timeout: float = 20.0

    @property
    def display(self) -> str:
        return f"smtp://{self.user + '@' if self.user else ''}{self.host}:{self.port} (STARTTLS)"


@dataclass(frozen=True)
class MailReceipt:
    message_id: str
    recipients: tuple[str, ...]
    server: str


def build_message(*, sender: str, to: list[str], subject: str, body: str, message_id: str,
                  attachments: list[tuple[str, bytes]] = ()) -> EmailMessage:
    """A plain-text message with attachments (MIME type guessed from the name, else octet-stream)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id
    msg.set_content(body)
    for name, data in attachments:
        ctype, _ = mimetypes.guess_type(name)
        maintype, subtype = (ctype or "application/octet-stream").split("/", 1)
        if maintype == "text":  # keep the file's bytes (CRLF, ASCII) exactly: send as binary
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx  # CERT_REQUIRED and check_hostname are the defaults


class Mailer:
    """One SMTP submission per ``send`` call (connect, STARTTLS, login, send, quit)."""

    def __init__(self, settings: SmtpSettings):
        if not settings.host:
            raise RemoteError("No SMTP host is configured", system=SYSTEM, hint="set it in Settings → E-mail")
        self.settings = settings

    def send(self, msg: EmailMessage) -> MailReceipt:
        s = self.settings
        recipients = [a.strip() for a in str(msg.get("To", "")).split(",") if a.strip()]
        if not recipients:
            raise RemoteError("The message has no recipient", system=SYSTEM)
        data_started = False
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise RemoteError(f"{s.host}:{s.port} does not offer STARTTLS; nothing was sent",
                                      system=SYSTEM, hint="the console never sends mail unencrypted")
                smtp.starttls(context=tls_context(s.ca_file))
                smtp.ehlo()
                if s.user:
                    if not s.password:
                        raise AuthError("No SMTP password is stored for this profile", system=SYSTEM,
                                        hint="enter it in Settings → Credentials (E-mail — SMTP password; "
                                             "kept in the keyring)")
                    smtp.login(s.user, s.password)
                data_started = True
                refused = smtp.send_message(msg, from_addr=s.sender or None, to_addrs=recipients)
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    pass  # the message was accepted; a failed QUIT changes nothing
        except ssl.SSLCertVerificationError as exc:
            raise RemoteError(f"The certificate of {s.host} could not be verified: {exc.verify_message}",
                              system=SYSTEM, hint="check the host name, or the CA file in the settings") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthError(f"{s.host} refused the SMTP user name or password ({exc.smtp_code})",
                            system=SYSTEM) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise RemoteError(f"{s.host} refused every recipient: {', '.join(exc.recipients)}", system=SYSTEM) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise RemoteError(f"{s.host} refused the sender {exc.sender} ({exc.smtp_code})", system=SYSTEM) from exc
        except smtplib.SMTPDataError as exc:
            raise RemoteError(f"{s.host} refused the message ({exc.smtp_code}: {_text(exc.smtp_error)})",
                              system=SYSTEM) from exc
        except smtplib.SMTPResponseException as exc:
            raise RemoteError(f"SMTP error from {s.host}: {exc.smtp_code} {_text(exc.smtp_error)}",
                              system=SYSTEM) from exc
        except OSError as exc:  # SMTPException is an OSError too: only transport failures get here now
            if isinstance(exc, smtplib.SMTPException) and not isinstance(exc, smtplib.SMTPServerDisconnected):
                raise RemoteError(f"SMTP error from {s.host}: {exc}", system=SYSTEM) from exc
            if data_started:
                raise MailOutcomeUnknown(f"The connection to {s.host} failed while sending; the message may "
                                         f"have been delivered ({type(exc).__name__})", system=SYSTEM,
                                         hint="ask the recipient before sending again") from exc
            raise NetworkError(f"Cannot reach the SMTP server {s.host}:{s.port} ({type(exc).__name__}: {exc})",
                               system=SYSTEM) from exc
        if refused:
            log.warning("some recipients were refused: %s", sorted(refused))
        accepted = tuple(r for r in recipients if r not in refused)
        return MailReceipt(message_id=str(msg["Message-ID"]), recipients=accepted, server=f"{s.host}:{s.port}")


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
