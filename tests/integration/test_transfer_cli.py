"""``biller-console invoices send`` end to end: check, send to the sandbox SFTP, exit codes."""

from __future__ import annotations

import io
import json
import os

import pytest

from console.cli import main
from console.paths import Paths
from console.sandbox.invoice_export import write_invoice_export
from console.sandbox.runner import stop_embedded
from tests.integration.town_sftp import town_sftp

pytestmark = pytest.mark.usefixtures("cli_as_clerk")  # commands that act name who acts


@pytest.fixture(autouse=True)
def _fast_pickup(monkeypatch):
    monkeypatch.setenv("BILLER_CONSOLE_SANDBOX_PICKUP_DELAY", "0.2")
    yield
    stop_embedded()


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "ICExport.txt"
    write_invoice_export(path, count=40)
    return path


def sftp_files(folder: str = "invoices") -> list[str]:
    root = Paths.default().sandbox_dir / "sftp" / "root" / folder
    return sorted(os.listdir(root)) if root.exists() else []


def run_json(capsys, *argv) -> tuple[int, dict]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_send_checks_sends_and_waits_for_delivery(capsys, export):
    code, data = run_json(capsys, "--profile", "sandbox", "invoices", "send", str(export), "--json", "--wait", "10")
    assert code == 0
    assert data["sent"] and data["valid"] and data["records"] == 40
    assert data["remote_name"] == "ICExport.txt" and data["remote_path"] == "/invoices/ICExport.txt"
    assert data["status"] == "delivered"
    assert isinstance(data["total_amount_due"], str)
    assert sftp_files() == ["ICExport.txt.snt"]

    code = main(["invoices", "send", str(export)])  # the same file again: refused
    captured = capsys.readouterr()
    assert code == 3 and "already sent" in captured.err
    assert sftp_files() == ["ICExport.txt.snt"]


def test_human_output_names_the_remote_file_and_status(capsys, export):
    assert main(["invoices", "send", str(export)]) == 0
    out = capsys.readouterr().out
    assert "remote: /invoices/ICExport.txt" in out
    assert "status: awaiting pickup" in out or "status: delivered" in out


def test_supervisor_override_sends_again(capsys, export, monkeypatch):
    assert main(["invoices", "send", str(export)]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("0000\n"))
    assert main(["invoices", "send", str(export), "--override", "super1"]) == 3
    assert "wrong PIN" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("9999\n"))
    code, data = run_json(capsys, "invoices", "send", str(export), "--override", "super1", "--json")
    assert code == 0 and data["override"]


def test_invalid_file_is_never_sent(capsys, tmp_path):
    from decimal import Decimal

    from console.files.writer import write_delimited
    from console.sandbox.invoice_export import invoice_rows

    rows = invoice_rows(12)
    rows[3]["TotalAmountDue"] += Decimal("1.00")  # breaks balance forward on line 5
    bad = tmp_path / "bad.txt"
    bad.write_text(write_delimited(rows, "ic-invoice-v1"), encoding="utf-8", newline="")
    code = main(["invoices", "send", str(bad), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert not data["sent"] and not data["valid"]
    assert [(e["line"], e["rule"]) for e in data["errors"]] == [(5, "balance_forward")]
    assert sftp_files() == []


def test_unreadable_file_exits_66(capsys, tmp_path):
    assert main(["invoices", "send", str(tmp_path / "missing.txt")]) == 66  # the README's exit-code table
    assert "does not exist" in capsys.readouterr().err


def test_unknown_host_key_needs_the_matching_fingerprint(capsys, export, monkeypatch, tmp_path):
    """A production profile: the host is refused with its fingerprint until it is passed back."""
    with town_sftp(monkeypatch, tmp_path) as server:
        code, data = run_json(capsys, "--profile", "town", "invoices", "send", str(export), "--json")
        assert code == 3 and data["host_key_fingerprint"] == server.fingerprint
        assert os.listdir(server.root / "invoices") == []

        code = main(["--profile", "town", "invoices", "send", str(export), "--trust-host-key", "SHA256:wrong"])
        assert code == 3 and "does NOT match" in capsys.readouterr().err

        code, data = run_json(capsys, "--profile", "town", "invoices", "send", str(export), "--json",
                              "--trust-host-key", server.fingerprint)
        assert code == 0 and data["status"] == "awaiting pickup"
        assert os.listdir(server.root / "invoices") == ["ICExport.txt"]
