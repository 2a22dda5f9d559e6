"""``biller-console invoices send``: the operator comes from ``$BILLER_CONSOLE_OPERATOR`` (like
``post``), and a supervisor's override names the supervisor — in the journal entry, the audit
log and the output — and is asked for only when the file really was sent before."""

from __future__ import annotations

import io
import json

import pytest

from console.adapters.journal import SqliteJournal
from console.cli import main
from console.paths import Paths
from console.sandbox.invoice_export import write_invoice_export
from console.sandbox.runner import stop_embedded
from console.services.audit import AuditLog
from tests.integration.town_sftp import town_sftp

pytestmark = pytest.mark.usefixtures("cli_as_clerk")  # commands that act name who acts


@pytest.fixture(autouse=True)
def _sandbox(monkeypatch):
    monkeypatch.setenv("BILLER_CONSOLE_SANDBOX_PICKUP_DELAY", "0.2")
    monkeypatch.delenv("BILLER_CONSOLE_SUPERVISOR_PIN", raising=False)
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "clerk1")
    yield
    stop_embedded()


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "ICExport.txt"
    write_invoice_export(path, count=12)
    return path


def send(capsys, *argv) -> tuple[int, dict, str]:
    code = main(["--profile", "sandbox", "invoices", "send", *argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def transfer_entries() -> list:
    with SqliteJournal(Paths.default().journal_file) as journal:
        return journal.entries(kinds=["transfer.invoices"])


def audit_rows(action: str) -> list:
    log = AuditLog(Paths.default().journal_file)
    try:
        return log.rows(action=action)
    finally:
        log.close()


def test_the_operator_comes_from_the_environment(capsys, export):
    code, data, _ = send(capsys, str(export))
    assert code == 0 and data["operator"] == "clerk1"
    [entry] = transfer_entries()
    assert entry.operator == "clerk1"
    assert [r.operator for r in audit_rows("transfer.send")] == ["clerk1"]


def test_operator_option_wins_over_the_environment(capsys, export, monkeypatch):
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "9999")
    code, data, _ = send(capsys, str(export), "--operator", "super1")
    assert code == 0 and data["operator"] == "super1"
    assert [e.operator for e in transfer_entries()] == ["super1"]


def test_a_cashier_may_not_send_the_invoice_file(capsys, export, monkeypatch):
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "1111")
    code = main(["--profile", "sandbox", "invoices", "send", str(export), "--operator", "cashier1", "--json"])
    captured = capsys.readouterr()
    assert code == 77 and captured.out == ""
    assert captured.err.strip() == "not permitted: cashier may not send the invoice file"
    assert transfer_entries() == []


def test_without_an_operator_nothing_is_sent(capsys, export, monkeypatch):
    monkeypatch.delenv("BILLER_CONSOLE_OPERATOR")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code = main(["--profile", "sandbox", "invoices", "send", str(export)])
    assert code == 1 and "No operator" in capsys.readouterr().err
    assert transfer_entries() == []


def test_override_names_the_supervisor_in_journal_and_audit(capsys, export, monkeypatch):
    assert send(capsys, str(export))[0] == 0
    code, data, err = send(capsys, str(export))
    assert code == 3 and "already sent" in err and "by clerk1" in err
    assert "--override --supervisor" in err

    monkeypatch.setenv("BILLER_CONSOLE_SUPERVISOR_PIN", "9999")
    code, data, err = send(capsys, str(export), "--override", "--supervisor", "super1")
    assert code == 0, err
    assert data["override"] is True and data["override_by"] == "super1" and data["operator"] == "clerk1"
    assert data["previous_send"]["operator"] == "clerk1"

    first, again = transfer_entries()
    assert again.operator == "clerk1" and again.payload["override_by"] == "super1"
    assert "override_by" not in first.payload
    [override] = audit_rows("file.override")
    assert override.operator == "super1" and override.details["requested_by"] == "clerk1"
    [approval] = audit_rows("operator.approve")
    assert approval.operator == "super1" and approval.subject == "transfer.override"
    assert approval.details["by"] == "clerk1"


def test_override_value_names_the_supervisor_pin_from_stdin(capsys, export, monkeypatch):
    assert send(capsys, str(export))[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("9999\n"))
    code, data, _ = send(capsys, str(export), "--override", "super1")
    assert code == 0 and data["override_by"] == "super1"


def test_override_without_a_supervisor_is_refused_before_anything_happens(capsys, export):
    code, data, err = send(capsys, str(export), "--override")
    assert code == 3 and "--supervisor" in err and not data["sent"]
    assert transfer_entries() == []


def test_two_different_supervisors_are_refused(capsys, export):
    code, _data, err = send(capsys, str(export), "--override", "super1", "--supervisor", "super2")
    assert code == 3 and "two different supervisors" in err
    assert transfer_entries() == []


def test_supervisor_without_override_is_refused(capsys, export):
    code, _data, err = send(capsys, str(export), "--supervisor", "super1")
    assert code == 3 and "--override" in err
    assert transfer_entries() == []


def test_a_clerk_cannot_approve_and_nothing_is_sent_again(capsys, export, monkeypatch):
    assert send(capsys, str(export))[0] == 0
    monkeypatch.setenv("BILLER_CONSOLE_SUPERVISOR_PIN", "2222")
    code, data, err = send(capsys, str(export), "--override", "--supervisor", "clerk1")
    assert code == 3 and "not a supervisor" in err and not data["sent"]
    assert len(transfer_entries()) == 1
    assert [r.operator for r in audit_rows("operator.approve_refused")] == ["clerk1"]
    assert audit_rows("file.override") == []


def test_wrong_pin_is_refused_and_audited(capsys, export, monkeypatch):
    assert send(capsys, str(export))[0] == 0
    monkeypatch.setenv("BILLER_CONSOLE_SUPERVISOR_PIN", "0000")
    code, _data, err = send(capsys, str(export), "--override", "--supervisor", "super1")
    assert code == 3 and "wrong PIN" in err
    assert len(transfer_entries()) == 1
    assert [r.operator for r in audit_rows("operator.override_failed")] == ["super1"]


def test_no_pin_is_asked_for_a_file_never_sent(capsys, export, monkeypatch):
    """--override on a first send: sent normally, the supervisor is not asked (stdin is empty)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, data, _ = send(capsys, str(export), "--override", "--supervisor", "super1")
    assert code == 0 and data["override"] is False and data["override_by"] is None
    assert audit_rows("operator.approve") == [] and audit_rows("operator.override_failed") == []


def test_pinning_and_forgetting_a_host_key_are_audited_by_the_operator(capsys, export, monkeypatch, tmp_path):
    """A production profile: --trust-host-key (invoices send) and `transfer forget` name clerk1."""
    with town_sftp(monkeypatch, tmp_path) as server:
        code = main(["--profile", "town", "invoices", "send", str(export), "--json",
                     "--trust-host-key", server.fingerprint])
        data = json.loads(capsys.readouterr().out)
        assert code == 0 and data["operator"] == "clerk1"
        assert [r.operator for r in audit_rows("transfer.trust_host_key")] == ["clerk1"]
        assert transfer_entries()[0].operator == "clerk1"

        monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "super1")
        assert main(["--profile", "town", "transfer", "forget", "127.0.0.1"]) == 0
        assert [r.operator for r in audit_rows("transfer.forget_host_key")] == ["super1"]


def test_human_output_counts_in_words(capsys, tmp_path):
    from decimal import Decimal

    from console.files.writer import write_delimited
    from console.sandbox.invoice_export import invoice_rows

    rows = invoice_rows(12)
    rows[3]["TotalAmountDue"] += Decimal("1.00")  # one error: balance forward
    bad = tmp_path / "bad.txt"
    bad.write_text(write_delimited(rows, "ic-invoice-v1"), encoding="utf-8", newline="")
    assert main(["invoices", "send", str(bad)]) == 1
    assert "INVALID: 1 error; nothing was sent" in capsys.readouterr().err
    assert main(["invoices", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "  1 error, " in out and "(s)" not in out
