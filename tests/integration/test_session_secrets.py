"""A machine without a keyring can still send: the operator gives the secrets for one session
(a file descriptor, or a terminal prompt), kept in memory only and redacted from logs."""

from __future__ import annotations

import os

import paramiko
import pytest

from console import secrets as sec
from console.cli import main
from console.cli.session_secrets import build_source, parse
from console.config import Profile, ProfileStore
from console.errors import ValidationError
from console.paths import Paths
from console.sandbox.invoice_export import write_invoice_export
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
from tests.integration.town_sftp import TOWN_OPERATORS

pytestmark = pytest.mark.usefixtures("cli_as_clerk")  # commands that act name who acts


@pytest.fixture
def no_keyring(monkeypatch):
    """No secure keyring on this machine (the store keeps secrets in memory only)."""
    monkeypatch.setattr(sec, "_recommended_backend", lambda: None)


@pytest.fixture
def town(tmp_path, no_keyring):
    """A production profile whose transfer goes to a real SFTP server on 127.0.0.1."""
    with SftpServer(tmp_path / "root", paramiko.ECDSAKey.generate(bits=256)) as server:
        (server.root / "invoices").mkdir()
        ProfileStore(Paths.default().ensure()).save(Profile("town", values={
            "transfer_host": "127.0.0.1", "transfer_port": server.port, "transfer_user": DEMO_USER,
            "caselle_url": "https://caselle.example", "caselle_client_id": "x", "invoicecloud_biller_id": "T1",
            "invoicecloud_api_url": "https://ic.example", "invoicecloud_gateway_url": "https://gw.example"},
            operators=TOWN_OPERATORS))  # the demo clerk acts (cli_as_clerk)
        export = tmp_path / "ICExport.txt"
        write_invoice_export(export, count=5)
        yield server, export


def _fd_with(text: str) -> int:
    read, write = os.pipe()
    os.write(write, text.encode())
    os.close(write)
    return read


def _send(server, export, *extra: str) -> int:
    return main(["--profile", "town", *extra, "invoices", "send", str(export), "--trust-host-key",
                 server.fingerprint])


def test_without_a_keyring_and_without_a_session_secret_nothing_can_be_sent(town, capsys):
    server, export = town
    assert _send(server, export) == 3
    assert "No password is stored" in capsys.readouterr().err
    assert os.listdir(server.root / "invoices") == []


def test_a_password_given_on_a_file_descriptor_sends_and_is_written_nowhere(town, capsys):
    server, export = town
    fd = _fd_with(f"# for this run\ntransfer_password={DEMO_PASSWORD}\n")
    assert _send(server, export, "--secrets-fd", str(fd)) == 0, capsys.readouterr().err
    assert os.listdir(server.root / "invoices") == ["ICExport.txt"]
    with pytest.raises(OSError):
        os.fstat(fd)  # read once and closed
    home = Paths.default()
    for path in home.config_dir.rglob("*"), home.data_dir.rglob("*"), home.log_dir.rglob("*"):
        for f in path:
            if f.is_file():
                assert DEMO_PASSWORD.encode() not in f.read_bytes(), f


def test_the_fd_may_be_named_by_an_environment_variable(town, capsys, monkeypatch):
    server, export = town
    monkeypatch.setenv("BILLER_CONSOLE_SECRETS_FD", str(_fd_with(f"transfer_password={DEMO_PASSWORD}\n")))
    assert _send(server, export) == 0, capsys.readouterr().err


def test_a_terminal_prompt_asks_once_and_only_for_a_missing_secret(town, capsys, monkeypatch):
    server, export = town
    asked = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or DEMO_PASSWORD)
    assert _send(server, export) == 0, capsys.readouterr().err
    assert len(asked) == 1 and "Transfer (SFTP/FTP) password for profile town" in asked[0]
    assert "not stored" in asked[0]


def test_bad_fd_content_names_the_line_and_never_echoes_a_value(capsys):
    fd = _fd_with("transfer_password=ok-value\nsmtp_pasword=typo-secret-value\n")
    assert main(["--secrets-fd", str(fd), "transfer", "hosts"]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err and "smtp_pasword" in err and "typo-secret-value" not in err
    assert main(["--secrets-fd", "987", "transfer", "hosts"]) == 66
    assert "file descriptor 987" in capsys.readouterr().err


def test_the_session_value_joins_the_redaction_set_and_never_the_keyring():
    backend = sec.MemoryBackend()
    store = sec.SecretStore("town", backend=backend)
    restore = sec.use_session_source(lambda profile, name: "fd-given-secret" if name == sec.SMTP_PASSWORD else None)
    try:
        assert store.get(sec.SMTP_PASSWORD) == "fd-given-secret"
        assert store.get(sec.TRANSFER_PASSWORD) is None
        assert "fd-given-secret" in store.redaction_values()
        assert backend._data == {}  # kept in memory for the session only
        assert store.known_values() == ["fd-given-secret"]  # the bundle's scan asks nobody
    finally:
        restore()


def test_the_sandbox_is_never_asked_and_the_parser_rules():
    source = build_source(None, prompt=True)
    assert source("sandbox", sec.TRANSFER_PASSWORD) is None
    assert parse("transfer_password=a=b\n\n# note\n", "test") == {"transfer_password": "a=b"}
    with pytest.raises(ValidationError) as err:
        parse("just-a-password\nsmtp_password=\n", "test")
    assert [(p.line, p.rule) for p in err.value.problems] == [(1, "secret_name"), (2, "required")]
