"""The keyed audit chain and its anchor outside the journal; the journal's identity; backups and restore.

Every rewrite an attacker with the shipped code and write access to the journal could make —
an edited row re-hashed, rows deleted and re-chained, every row deleted, a trigger dropped —
is found by the check made before posting and payments; so are an empty, truncated, foreign,
older or missing journal. A supervisor's acknowledgment (audited) lets posting go on.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat

import pytest

from console.adapters.journal import NewEntry, SqliteJournal
from console.app import build_services
from console.errors import ValidationError
from console.secrets import SecretStore
from console.services import audit_anchor
from console.services.audit import (
    CHAIN_KEYED,
    CHECK_ACKNOWLEDGED,
    GENESIS,
    JOURNAL_RESTORED,
    AuditLog,
    row_hash,
)
from console.services.journal_backup import backup_if_due, backup_journal, backups
from console.services.journal_guard import JournalRefused


@pytest.fixture
def services():
    svc = build_services("sandbox")
    for i in range(8):
        svc.audit.record("clerk1", "posting.run", f"file-{i}", posted=i)
    svc.journal.add_entry(NewEntry("k1", "payment", {"amount": "1.00"}), operator="clerk1")
    svc.journal_guard.require_ok()
    yield svc
    svc.close()


def _raw(svc) -> sqlite3.Connection:
    conn = sqlite3.connect(svc.paths.journal_file, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    return conn


def _restore_triggers(conn) -> None:
    from console.services.audit import TRIGGERS

    for name, sql in TRIGGERS.items():
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(sql)


def _findings(svc) -> str:
    status = svc.journal_guard.check()
    assert not status.ok
    with pytest.raises(JournalRefused):
        svc.journal_guard.require_ok()
    return " | ".join(status.findings)


def _rechain(conn, from_seq: int) -> None:
    """Recompute every hash from ``from_seq`` with the shipped (unkeyed) function, and the head."""
    prev = conn.execute("SELECT hash FROM audit WHERE seq = ?", (from_seq - 1,)).fetchone()
    prev = prev[0] if prev else GENESIS
    rows = conn.execute("SELECT seq, at, operator, action, subject, details FROM audit WHERE seq >= ? ORDER BY seq",
                        (from_seq,)).fetchall()
    for seq, at, op, action, subject, details in rows:
        h = row_hash(prev, seq, at, op, action, subject, details)
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
        prev = h
    last = conn.execute("SELECT MAX(seq) FROM audit").fetchone()[0] or 0
    conn.execute("UPDATE audit_head SET seq = ?, hash = ?", (last, prev))


def test_first_start_keys_the_chain_and_anchors_it(services):
    status = services.journal_guard.check()
    assert status.ok, status.findings
    first = services.audit.rows()[0]
    assert first.action == CHAIN_KEYED and first.seq == 1
    assert services.journal_guard.anchor_summary() == status.anchor
    assert status.anchor.startswith("Audit anchor: 9 entries, head ")
    anchor_lines = services.journal_guard.anchor_file.path.read_text().splitlines()
    assert len(anchor_lines) == 9 and json.loads(anchor_lines[-1])["count"] == 9
    key = audit_anchor.shared_secret_store(None).get("audit_chain_key")
    assert key and key not in services.paths.journal_file.read_bytes().decode("latin-1")  # never in the journal


def test_edited_row_rehashed_with_the_shipped_function_is_found(services):
    conn = _raw(services)
    conn.execute("UPDATE audit SET operator = 'mallory' WHERE seq = 4")
    _rechain(conn, 4)
    _restore_triggers(conn)
    assert "row 4" in _findings(services) and "does not match its hash" in _findings(services)


def test_rows_deleted_and_rechained_are_found(services):
    conn = _raw(services)
    conn.execute("DELETE FROM audit WHERE seq >= 6")
    _rechain(conn, 2)
    _restore_triggers(conn)
    text = _findings(services)
    assert "anchored audit entry 9 is missing" in text and "row 2" in text


def test_every_row_deleted_is_found(services):
    conn = _raw(services)
    conn.execute("DELETE FROM audit")
    conn.execute("DELETE FROM audit_head")
    _restore_triggers(conn)
    text = _findings(services)
    assert "anchored audit entry 9 is missing (the log has 0 entries)" in text


@pytest.mark.parametrize("trigger", ["audit_no_update", "audit_no_delete"])
def test_a_dropped_trigger_is_found(services, trigger):
    sqlite3.connect(services.paths.journal_file, isolation_level=None).execute(f"DROP TRIGGER {trigger}")
    assert f"the trigger {trigger} was dropped" in _findings(services)


def test_a_trigger_replaced_by_a_harmless_one_is_found(services):
    conn = sqlite3.connect(services.paths.journal_file, isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT 1; END")
    assert "the trigger audit_no_delete was changed" in _findings(services)


def test_an_edited_anchor_line_and_a_deleted_anchor_are_found(services):
    anchor = services.journal_guard.anchor_file.path
    lines = anchor.read_text().splitlines()
    forged = json.loads(lines[-1])
    forged["count"] = 3
    anchor.write_text("\n".join(lines[:-1] + [json.dumps(forged)]) + "\n")
    assert "line 9 of the anchor file" in _findings(services)
    anchor.unlink()
    assert "audit anchor" in _findings(services) and "is missing" in _findings(services)


def test_a_lost_key_is_found(services, audit_key_keyring):
    audit_key_keyring.delete("audit_chain_key")
    again = build_services("sandbox")
    try:
        assert "key is missing" in _findings(again)
    finally:
        again.close()


def test_a_supervisor_acknowledges_and_posting_goes_on(services):
    sqlite3.connect(services.paths.journal_file, isolation_level=None).execute("DROP TRIGGER audit_no_update")
    status = services.journal_guard.acknowledge("super1", note="drill")
    assert status.ok, status.findings
    row = services.audit.rows(action=CHECK_ACKNOWLEDGED)[0]
    assert row.operator == "super1" and "audit_no_update was dropped" in row.details["findings"][0]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # the trigger is back
        sqlite3.connect(services.paths.journal_file, isolation_level=None).execute(
            "UPDATE audit SET operator = 'x' WHERE seq = 2")
    services.audit.record("clerk1", "posting.run", "after")
    reopened = build_services("sandbox")
    try:
        assert reopened.journal_guard.check().ok
    finally:
        reopened.close()


def test_nothing_to_acknowledge_on_an_intact_journal(services):
    with pytest.raises(Exception, match="Nothing to acknowledge"):
        services.journal_guard.acknowledge("super1")


def test_a_journal_from_before_the_key_is_migrated(tmp_path):
    svc0 = build_services("sandbox")
    legacy = AuditLog(svc0.paths.journal_file)  # written by a console without the key
    for i in range(4):
        legacy.record("clerk1", "posting.run", f"old-{i}")
    legacy.close()
    svc = build_services("sandbox")
    try:
        assert svc.journal_guard.check().ok
        keyed = svc.audit.rows(action=CHAIN_KEYED)[0]
        assert keyed.seq == 5 and keyed.details["earlier_rows"] == 4 and keyed.details["earlier_rows_verified"]
        conn = _raw(svc)  # an old, unkeyed row rewritten with the shipped function: the keyed row no longer links
        conn.execute("UPDATE audit SET subject = 'forged' WHERE seq = 2")
        _rechain(conn, 2)
        conn.execute("UPDATE audit SET prev_hash = (SELECT hash FROM audit WHERE seq = 4) WHERE seq = 5")
        _restore_triggers(conn)
        assert "row 5" in _findings(svc)
    finally:
        svc.close()
        svc0.close()


def test_sandbox_without_a_keyring_keeps_the_key_in_an_owner_only_file(monkeypatch):
    bare = SecretStore("journal")
    bare._backend_value = None  # no secure keyring
    monkeypatch.setattr(audit_anchor, "shared_secret_store", lambda secrets: bare)
    svc = build_services("sandbox")
    try:
        status = svc.journal_guard.check()
        assert status.ok and "owner-only file" in status.key_storage
        key_file = svc.paths.config_dir / audit_anchor.KEY_FILE
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        svc.journal_ready()
        key_file.chmod(0o644)
        again = build_services("sandbox")
        try:
            assert "key is missing" in _findings(again)
        finally:
            again.close()
    finally:
        svc.close()


# --------------------------------------------------------------------------- the identity
def _reopen(svc):
    svc.close()
    return build_services("sandbox")


def test_an_empty_journal_is_refused_and_not_recreated(services):
    path = services.paths.journal_file
    services.close()
    for suffix in ("-wal", "-shm"):
        os.unlink(str(path) + suffix) if os.path.exists(str(path) + suffix) else None
    path.write_bytes(b"")
    svc = build_services("sandbox")
    try:
        text = _findings(svc)
        assert "is empty, 0 bytes" in text and "last saw journal" in text and "1 entries" in text
        assert path.stat().st_size == 0  # the check did not make a new journal
    finally:
        svc.close()


def test_a_missing_journal_is_refused(services):
    path = services.paths.journal_file
    services.close()
    path.unlink()
    svc = build_services("sandbox")
    try:
        assert "is missing" in _findings(svc) and not path.exists()
    finally:
        svc.close()


def test_a_recreated_journal_is_refused(services):
    path = services.paths.journal_file
    services.close()
    path.unlink()
    fresh = SqliteJournal(path)
    fresh.close()
    svc = build_services("sandbox")
    try:
        assert "is empty (re-created)" in _findings(svc)
    finally:
        svc.close()


def test_a_truncated_journal_is_refused(services):
    path = services.paths.journal_file
    services.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    svc = build_services("sandbox")
    try:
        assert "damaged" in _findings(svc)
    finally:
        svc.close()


def test_a_foreign_journal_is_refused(services, tmp_path):
    other_home = tmp_path / "other"
    other = SqliteJournal(other_home / "journal.sqlite3")
    other.close()
    from console.services.journal_guard import JournalGuard

    other_guard = JournalGuard(other_home / "journal.sqlite3", other_home, services.secrets, sandbox=True)
    other_guard.check()
    other_guard.close()
    path = services.paths.journal_file
    services.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(str(path) + suffix):
            os.unlink(str(path) + suffix)
    (other_home / "journal.sqlite3").replace(path)
    svc = build_services("sandbox")
    try:
        assert "is a different journal" in _findings(svc)
    finally:
        svc.close()


def test_an_older_copy_put_back_is_refused(services, tmp_path):
    copy = backup_journal(services.paths.journal_file, tmp_path / "copy.sqlite3").path
    services.journal.add_entry(NewEntry("k2", "payment", {"amount": "2.00"}), operator="clerk1")
    services.journal_guard.require_ok()
    path = services.paths.journal_file
    services.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(str(path) + suffix):
            os.unlink(str(path) + suffix)
    copy.replace(path)
    svc = build_services("sandbox")
    try:
        assert "is older than the one the console used (last entry 1" in _findings(svc)
    finally:
        svc.close()


# --------------------------------------------------------------------------- backup and restore
def test_backup_and_restore_round_trip(services, tmp_path):
    out = tmp_path / "town-2026-12-07.sqlite3"
    backup_journal(services.paths.journal_file, out)
    services.journal.add_entry(NewEntry("k2", "payment", {"amount": "2.00"}), operator="clerk1")
    services.audit.record("clerk1", "posting.run", "after the backup")
    services.journal_guard.require_ok()
    services.close()
    svc = build_services("sandbox")
    try:
        kept = svc.journal_guard.restore(out, "super1")
        assert kept.exists() and not kept.name.startswith("journal")
        assert svc.journal_guard.check().ok, svc.journal_guard.check().findings
        assert svc.journal.get("k1") is not None and svc.journal.get("k2") is None
        restored = svc.audit.rows(action=JOURNAL_RESTORED)[0]
        assert restored.operator == "super1" and restored.details["replaced_kept_as"] == str(kept)
        with SqliteJournal(kept) as old:  # the replaced journal is whole, aside
            assert old.get("k2") is not None
    finally:
        svc.close()
    again = build_services("sandbox")
    try:
        assert again.journal_guard.check().ok
    finally:
        again.close()


def test_restore_refuses_a_damaged_foreign_or_rewritten_backup(services, tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ValidationError, match="Cannot restore"):
        services.journal_guard.restore(junk, "super1")
    out = backup_journal(services.paths.journal_file, tmp_path / "b.sqlite3").path
    conn = sqlite3.connect(out, isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET operator = 'mallory' WHERE seq = 3")
    _restore_triggers(conn)
    conn.close()
    with pytest.raises(ValidationError, match="does not verify"):
        services.journal_guard.restore(out, "super1")
    assert services.journal_guard.check().ok  # nothing was replaced


def test_backups_are_never_named_like_the_journal(services, tmp_path):
    with pytest.raises(ValidationError, match="may not be named"):
        backup_journal(services.paths.journal_file, tmp_path / "journal-copy.sqlite3")


def test_the_daily_backup_runs_when_a_day_old_and_keeps_the_newest(services, tmp_path):
    folder = tmp_path / "backups"
    day = 24 * 3600
    t0 = 1_800_000_000.0
    made = [backup_if_due(services.paths.journal_file, folder, keep=3, now=t0 + i * day / 2) for i in range(10)]
    assert [m is not None for m in made] == [i % 2 == 0 for i in range(10)]
    kept = backups(folder)
    assert [b.at for b in kept] == [t0 + 8 * day / 2, t0 + 6 * day / 2, t0 + 4 * day / 2]
    assert all(b.path.name.startswith("backup-") for b in kept)


def test_posting_is_refused_when_the_check_fails(services):
    sqlite3.connect(services.paths.journal_file, isolation_level=None).execute("DROP TRIGGER audit_no_delete")
    with pytest.raises(JournalRefused, match="Posting and payments are stopped"):
        services.posting.post_pending(operator="clerk1")


CONCURRENT_START = """
import sys, time
from console.app import build_services
start = float(sys.argv[1])
while time.time() < start:
    pass
svc = build_services("sandbox")
svc.audit.record("clerk1", "operator.sign_in", "clerk1")
status = svc.journal_guard.check()
print("ok" if status.ok else "; ".join(status.findings))
svc.close()
"""


def test_consoles_starting_at_once_key_the_chain_once(tmp_path):
    import subprocess
    import sys
    import time

    from console.paths import Paths

    home = Paths.default().config_dir.parent
    env = {**os.environ, "BILLER_CONSOLE_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_START, str(start)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err[-1500:] for _, err in outs]
    assert [out.strip() for out, _ in outs] == ["ok"] * 4, outs
    conn = sqlite3.connect(Paths.default().journal_file)
    assert conn.execute("SELECT COUNT(*) FROM audit WHERE action = ?", (CHAIN_KEYED,)).fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 5
    conn.close()
    again = [subprocess.run([sys.executable, "-c", CONCURRENT_START, "0"], capture_output=True, text=True, env=env,
                            timeout=120)]
    assert again[0].stdout.strip() == "ok", again[0].stdout + again[0].stderr[-1500:]


def test_a_fresh_sandbox_without_a_keyring_passes_diagnose(monkeypatch, capsys):
    from console.cli import main

    bare = SecretStore("journal")
    bare._backend_value = None  # no secure keyring
    monkeypatch.setattr(audit_anchor, "shared_secret_store", lambda secrets: bare)
    assert main(["diagnose"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "Journal and audit log" in x)
    assert "[PASS]" in line and "owner-only file" in line
