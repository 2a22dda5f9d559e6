"""``posting report`` and ``audit export`` from the command line, over a real posting run against the sandbox:
the report's figures are the journal's (JSON, CSV, PDF), and the audit export is the log with its chain."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from console.adapters.journal import SqliteJournal
from console.cli import main
from console.paths import Paths
from console.sandbox import exports
from console.sandbox.runner import Sandbox, SandboxOptions, remove_state, write_state
from console.services.reconciliation import _local_day

PARTS = ["console.sandbox.caselle_server", "console.sandbox.invoicecloud_server"]


@pytest.fixture
def sandbox(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "clerk1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "2222")  # post acts as the demo clerk
    paths = Paths.default().ensure()
    sb = Sandbox(SandboxOptions(), data_dir=paths.sandbox_dir, parts=PARTS).start()
    write_state(paths.sandbox_dir, sb.as_endpoints(embedded=False))
    yield paths, sb
    remove_state(paths.sandbox_dir)
    sb.stop()


def _import_day(paths) -> dt.date:
    with SqliteJournal(paths.journal_file) as j:
        return _local_day(j.files()[0].imported_at)  # the journal's own date for the file, no clock here


def test_posting_report_json_csv_and_pdf_show_the_posting_run(sandbox, tmp_path, capsys):
    paths, _ = sandbox
    pay = tmp_path / "p.csv"
    exports.write_export("payments", pay, 40, 5, receipts_only=True)
    assert main(["post", str(pay), "--kind", "payments", "--json"]) == 0
    posted = json.loads(capsys.readouterr().out)["outcomes"]
    day = _import_day(paths)
    out_csv, out_pdf = tmp_path / "r.csv", tmp_path / "r.pdf"
    code = main(["posting", "report", "--date", day.isoformat(), "--csv", str(out_csv), "--pdf", str(out_pdf),
                 "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["files"] == [pay.name]
    assert data["total"]["posted"]["count"] == posted["posted"] == data["total"]["in_file"]["count"]
    assert data["caselle_batches"] and data["caselle_note"] is None
    rows = list(csv.reader(out_csv.read_text(encoding="utf-8").splitlines()))
    total_row = next(r for r in rows if r[:2] == ["Total", "All"])
    assert int(total_row[4]) == data["total"]["posted"]["count"] and total_row[5] == data["total"]["posted"]["amount"]
    assert out_pdf.read_bytes().startswith(b"%PDF")
    other_day = day - dt.timedelta(days=3)
    assert main(["posting", "report", "--date", other_day.strftime("%m/%d/%Y"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["in_file"]["count"] == 0
    with pytest.raises(SystemExit):
        main(["posting", "report", "--date", "31/31/2026"])
    assert "is not a date" in capsys.readouterr().err


def test_audit_export_needs_view_audit_and_writes_the_chain(sandbox, tmp_path, capsys, monkeypatch):
    out = tmp_path / "audit.csv"
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "cashier1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "1111")
    assert main(["audit", "export", "--out", str(out), "--json"]) == 77
    assert "may not view the audit log" in json.loads(capsys.readouterr().out)["error"] and not out.exists()
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "support1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "3333")
    assert main(["audit", "export", "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert rows[0][:4] == ["Seq", "At (UTC)", "Operator", "Action"] and data["chain_ok"]
    assert len(rows) - 1 == data["rows"] >= 2  # the sign-ins were audited
    assert ("support1", "operator.sign_in") in {(r[2], r[3]) for r in rows[1:]}
