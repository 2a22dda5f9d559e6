"""The audit log: append-only, hash-chained, tamper detected at the first bad row, CSV export."""

from __future__ import annotations

import csv
import io
import sqlite3
from decimal import Decimal

import pytest

from console.adapters.journal import CardDataError
from console.services.audit import AuditLog


@pytest.fixture
def log(tmp_path):
    a = AuditLog(tmp_path / "j.sqlite3")
    for i in range(10):
        a.record("clerk1", "posting.run", f"file-{i}", posted=i, total=Decimal("12.50"))
    yield a
    a.close()


def _raw(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    return conn


def test_intact_chain_verifies(log):
    r = log.verify()
    assert r.ok and r.rows == 10
    rows = log.rows()
    assert rows[0].prev_hash == "0" * 64 and rows[1].prev_hash == rows[0].hash
    assert rows[3].details == {"posted": 3, "total": "12.50"}
    assert [r.seq for r in log.rows(limit=3)] == [8, 9, 10]


def test_sql_update_and_delete_are_refused(log):
    conn = sqlite3.connect(log.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET operator = 'x' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 2")


def test_changed_content_named(log):
    _raw(log.path).execute("UPDATE audit SET details = '{\"posted\":99}' WHERE seq = 4")
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 4 and "hash" in r.reason


def test_rehashed_row_breaks_next_link(log):
    from console.services.audit import row_hash

    conn = _raw(log.path)
    seq, at, op, action, subject, details, prev, _ = conn.execute("SELECT * FROM audit WHERE seq = 6").fetchone()
    new_hash = row_hash(prev, seq, at, "mallory", action, subject, details)
    conn.execute("UPDATE audit SET operator = 'mallory', hash = ? WHERE seq = 6", (new_hash,))
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 7 and "link" in r.reason


def test_deleted_middle_row_named(log):
    _raw(log.path).execute("DELETE FROM audit WHERE seq = 3")
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 3


def test_truncated_tail_detected(log):
    _raw(log.path).execute("DELETE FROM audit WHERE seq >= 9")
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 9


def test_chain_continues_across_reopen_and_writers(tmp_path):
    a = AuditLog(tmp_path / "j.sqlite3")
    b = AuditLog(tmp_path / "j.sqlite3")
    for i in range(5):
        a.record("x", "a", str(i))
        b.record("y", "b", str(i))
    a.close()
    c = AuditLog(tmp_path / "j.sqlite3")
    assert c.verify().ok and c.verify().rows == 10
    assert [r.seq for r in c.rows(operator="y")] == [2, 4, 6, 8, 10]


def test_export_csv(log, tmp_path):
    out = tmp_path / "audit.csv"
    text = log.export_csv(out)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0][:4] == ["Seq", "At (UTC)", "Operator", "Action"]
    assert len(rows) == 11 and rows[5][4] == "file-4"
    assert text == out.read_bytes().decode("utf-8")


def test_no_card_data_in_audit(log):
    with pytest.raises(CardDataError):
        log.record("clerk1", "x", note="4111111111111111")
