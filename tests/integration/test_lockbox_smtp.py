"""E-mail to the sandbox SMTP sink over a real socket: STARTTLS required, certificate verified."""

from __future__ import annotations

import smtplib
import socket
import threading

import pytest

from console.adapters.mail import Mailer, MailOutcomeUnknown, SmtpSettings, build_message
from console.errors import AuthError, NetworkError, RemoteError
from console.sandbox.smtp_sink import DEMO_PASSWORD, DEMO_USER, SmtpSink, ensure_certificate, list_messages

LOCKBOX = b"1" * 80 + b"\r\n" + b"9" * 80 + b"\r\n"


@pytest.fixture()
def sink(tmp_path):
    with SmtpSink(tmp_path / "sandbox") as s:
        yield s


def _settings(sink, **kw) -> SmtpSettings:
    base = dict(host="127.0.0.1", port=sink.port, user=DEMO_USER, sender="clerk@demo.test",
                password=DEMO_PASSWORD, ca_file=sink.cert_file, timeout=5)
    return SmtpSettings(**{**base, **kw})


def _message(mid: str = "<lockbox-1@biller-console>"):
    return build_message(sender="clerk@demo.test", to=["ar@demo.test"], subject="Lockbox file",
                         body="Attached.", message_id=mid, attachments=[("lockbox.txt", LOCKBOX)])


def test_delivered_over_starttls_with_the_attachment_byte_for_byte(sink):
    receipt = Mailer(_settings(sink)).send(_message())
    assert receipt.recipients == ("ar@demo.test",) and receipt.message_id == "<lockbox-1@biller-console>"
    [kept] = sink.messages()
    assert kept.recipients == ("ar@demo.test",) and kept.sender == "clerk@demo.test"
    assert kept.message_id == "<lockbox-1@biller-console>" and kept.attachments == ("lockbox.txt",)
    assert kept.attachment("lockbox.txt") == LOCKBOX
    assert b"X-Sandbox-TLS: yes" in kept.path.read_bytes()
    assert list_messages(sink.sandbox_dir) == [kept]


def test_host_name_localhost_also_verifies(sink):
    Mailer(_settings(sink, host="localhost")).send(_message())
    assert len(sink.messages()) == 1


def test_the_sink_refuses_mail_before_starttls(sink):
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        code, _ = smtp.mail("clerk@demo.test")
        assert code == 530
    assert sink.messages() == []


def test_an_untrusted_certificate_is_refused(sink, tmp_path):
    other_cert, _ = ensure_certificate(tmp_path / "other")
    with pytest.raises(RemoteError, match="could not be verified"):
        Mailer(_settings(sink, ca_file=other_cert)).send(_message())
    assert sink.messages() == []


def test_a_wrong_password_is_an_auth_error(sink):
    with pytest.raises(AuthError):
        Mailer(_settings(sink, password="wrong")).send(_message())
    with pytest.raises(AuthError, match="No SMTP password"):
        Mailer(_settings(sink, password=None)).send(_message())
    assert sink.messages() == []


def test_nothing_listening_is_a_network_error_not_an_unknown_outcome(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError) as exc:
        Mailer(SmtpSettings("127.0.0.1", port, timeout=2)).send(_message())
    assert not isinstance(exc.value, MailOutcomeUnknown)


def _say(f, data: bytes) -> None:
    f.write(data)
    f.flush()


def _fake_server(script):
    """A one-connection plain SMTP server that follows ``script(conn)``; returns its port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def run():
        conn, _ = srv.accept()
        with conn:
            script(conn)
        srv.close()

    threading.Thread(target=run, daemon=True).start()
    return srv.getsockname()[1]


def test_a_server_without_starttls_gets_nothing():
    seen = []

    def script(conn):
        f = conn.makefile("rwb")
        _say(f, b"220 plain ESMTP\r\n")
        while line := f.readline():
            seen.append(line)
            if line.upper().startswith(b"EHLO"):
                f.write(b"250-plain\r\n250 AUTH PLAIN\r\n")
            elif line.upper().startswith(b"QUIT"):
                _say(f, b"221 bye\r\n")
                return
            else:
                f.write(b"500 no\r\n")
            f.flush()

    port = _fake_server(script)
    with pytest.raises(RemoteError, match="STARTTLS"):
        Mailer(SmtpSettings("127.0.0.1", port, timeout=5)).send(_message())
    assert not any(x.upper().startswith((b"MAIL", b"AUTH", b"DATA")) for x in seen)


def test_a_message_refused_by_the_server_is_a_remote_error(sink, monkeypatch):
    with pytest.raises(RemoteError):
        Mailer(_settings(sink)).send(build_message(sender="clerk@demo.test", to=[], subject="x", body="x",
                                                   message_id="<m@x>"))


def test_a_connection_lost_during_data_is_an_unknown_outcome(tmp_path):
    import ssl

    cert, key = ensure_certificate(tmp_path / "fake")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    def script(conn):
        f = conn.makefile("rwb")
        _say(f, b"220 fake ESMTP\r\n")
        f.readline()  # EHLO
        _say(f, b"250-fake\r\n250 STARTTLS\r\n")
        f.readline()  # STARTTLS
        _say(f, b"220 go ahead\r\n")
        tls = ctx.wrap_socket(conn, server_side=True)
        g = tls.makefile("rwb")
        for reply in (b"250 fake\r\n", b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"):  # EHLO MAIL RCPT DATA
            g.readline()
            _say(g, reply)
        g.readline()  # some of the data, then the line drops
        tls.close()

    port = _fake_server(script)
    with pytest.raises(MailOutcomeUnknown):
        Mailer(SmtpSettings("127.0.0.1", port, sender="clerk@demo.test", ca_file=cert, timeout=5)).send(_message())


def test_the_sink_is_a_sandbox_runner_part(tmp_path):
    from console.sandbox.runner import PARTS, Sandbox

    assert "console.sandbox.smtp_sink" in PARTS
    with Sandbox(data_dir=tmp_path / "sb", parts=["console.sandbox.smtp_sink"]) as sb:
        info = sb.endpoints()["info"]
        settings = SmtpSettings(info["smtp_host"], int(info["smtp_port"]), info["smtp_user"], "clerk@demo.test",
                                info["smtp_password"], ca_file=info["smtp_ca_file"], timeout=5)
        Mailer(settings).send(_message())
        assert [m.subject for m in list_messages(tmp_path / "sb")] == ["Lockbox file"]
        assert sb.part("smtp").urls["smtp_url"].startswith("smtp://127.0.0.1:")


def test_sandbox_cli_lists_the_mailbox_and_exports_cloudstore_payments(tmp_path, capsys):
    import json

    from console.cli import main
    from console.paths import Paths
    from console.services.lockbox import load_payments_file

    sandbox_dir = Paths.default().sandbox_dir
    assert main(["sandbox", "--mail"]) == 0
    assert "no e-mail yet" in capsys.readouterr().out
    with SmtpSink(sandbox_dir) as sink:
        Mailer(_settings(sink)).send(_message())
    assert main(["sandbox", "--mail", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["to"] == ["ar@demo.test"] and row["attachments"] == ["lockbox.txt"]
    out = tmp_path / "cs.csv"
    assert main(["sandbox", "--export-cloudstore", str(out), "--count", "12"]) == 0
    source = load_payments_file(out)
    assert len(source.payments) == 12 and not source.errors
