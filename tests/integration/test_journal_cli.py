"""``biller-console journal status|backup|restore|acknowledge`` end to end (in-process ``main``)."""

from __future__ import annotations

import sqlite3

import pytest

from console.adapters.journal import NewEntry
from console.app import build_services
from console.cli import main
from console.paths import Paths
from console.services.audit import CHECK_ACKNOWLEDGED, JOURNAL_RESTORED


@pytest.fixture
def journal():
    svc = build_services("sandbox")
    svc.journal.add_entry(NewEntry("k1", "payment", {"amount": "1.00"}), operator="clerk1")
    svc.audit.record("clerk1", "posting.run", "file-1")
    svc.journal_guard.require_ok()
    svc.close()
    return Paths.default()


def test_status_prints_the_anchor_and_exits_zero(journal, capsys):
    assert main(["journal", "status"]) == 0
    out = capsys.readouterr().out
    assert "journal: intact" in out and "Audit anchor: 2 entries, head " in out


def test_backup_refuses_the_journal_name_and_writes_a_copy(journal, tmp_path, capsys):
    assert main(["journal", "backup", "--out", str(tmp_path / "journal-2.sqlite3")]) == 1
    assert "may not be named" in capsys.readouterr().err
    assert main(["journal", "backup", "--out", str(tmp_path / "b.sqlite3")]) == 0
    assert (tmp_path / "b.sqlite3").stat().st_size > 0


def test_restore_a_damaged_journal_from_its_backup(journal, tmp_path, capsys, monkeypatch):
    backup = tmp_path / "b.sqlite3"
    assert main(["journal", "backup", "--out", str(backup)]) == 0
    journal.journal_file.write_bytes(b"\0" * 8192)  # damaged
    assert main(["counter", "today"]) == 1
    capsys.readouterr()
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "2222")  # a clerk may not restore
    assert main(["journal", "restore", "--from", str(backup), "--operator", "clerk1"]) == 77
    assert "not a supervisor" in capsys.readouterr().err
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "9999")
    assert main(["journal", "restore", "--from", str(backup), "--operator", "super1"]) == 0
    out = capsys.readouterr().out
    assert "journal restored from" in out and "replaced-" in out
    assert main(["journal", "status"]) == 0
    svc = build_services("sandbox")
    try:
        assert svc.journal.get("k1") is not None
        assert svc.audit.rows(action=JOURNAL_RESTORED)[0].operator == "super1"
    finally:
        svc.close()


def test_acknowledge_needs_the_supervisors_pin_and_lets_posting_go_on(journal, capsys, monkeypatch):
    sqlite3.connect(journal.journal_file, isolation_level=None).execute("DROP TRIGGER audit_no_update")
    assert main(["journal", "status"]) == 1
    assert "audit_no_update was dropped" in capsys.readouterr().out
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "0000")
    assert main(["journal", "acknowledge", "--operator", "super1"]) == 1  # a wrong PIN is 1, never 77
    assert "wrong PIN" in capsys.readouterr().err
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "9999")
    assert main(["journal", "acknowledge", "--operator", "super1", "--note", "drill"]) == 0
    assert "acknowledged: audit log: the trigger audit_no_update was dropped" in capsys.readouterr().out
    assert main(["journal", "status"]) == 0
    svc = build_services("sandbox")
    try:
        row = svc.audit.rows(action=CHECK_ACKNOWLEDGED)[0]
        assert row.operator == "super1" and row.details["note"] == "drill"
    finally:
        svc.close()
