"""Append-only, hash-chained audit log: who did what, when.

Every posting run, void, override and settings change is recorded with the operator and the
time. Rows live in the journal's SQLite file (table ``audit``, its own connection, WAL,
``synchronous=FULL``). Each row's hash is SHA-256 over the previous row's hash and the row's
own canonical content, so changing, inserting or deleting a row breaks the chain from there
on; :meth:`AuditLog.verify` recomputes it and names the first bad row. A ``audit_head`` row
(updated in the same transaction as each append) also catches a truncated tail.

Keyed chain: given a ``key``, rows from ``keyed_from`` on are hashed with HMAC-SHA-256 under
that key (kept in the OS keyring, never in the journal), so nobody without the key can
re-compute the chain after editing or deleting rows. Rows before ``keyed_from`` (written before
the console had a key) keep the plain SHA-256 hash; the first keyed row links to them, so they
cannot be rewritten either. The key, the anchor outside the journal and the start-up check live
in :mod:`console.services.journal_guard`.

Appends take the write lock (``BEGIN IMMEDIATE``) so two processes extend one chain in turn.
The log holds no card data and no secrets: details pass the journal's card-data guard.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.adapters.journal import check_payload, connect, immediate, migrate
from console.adapters.sqlite_errors import journal_errors

GENESIS = "0" * 64

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        operator TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
    """,
    # 2: the journal's identity (see console.services.journal_guard): made once, never changed
    """
    CREATE TABLE journal_identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        journal_id TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
)

#: The two triggers that make the table append-only, as created (whitespace aside).
TRIGGERS: dict[str, str] = {
    "audit_no_update": "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
                       "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "audit_no_delete": "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
                       "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
}

# Actions used across the console (others may add their own names).
POSTING_RUN = "posting.run"
POSTING_IMPORT = "posting.import"
POSTING_RETRY = "posting.retry"
FILE_OVERRIDE = "file.override"
VOID = "receipt.void"
VOID_REFUSED = "receipt.void_refused"
SETTINGS_CHANGE = "settings.change"
SIGN_IN = "operator.sign_in"
SIGN_IN_FAILED = "operator.sign_in_failed"
REVIEW_RESOLVED = "posting.review_resolved"
CHAIN_KEYED = "audit.chain_keyed"
CHECK_ACKNOWLEDGED = "audit.check_acknowledged"
JOURNAL_RESTORED = "journal.restored"


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: str
    operator: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str = ""
    head: str = ""  # when ok: the hash of the last row verified

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact ({self.rows} rows)"
        return f"audit log tampered at row {self.first_bad_seq}: {self.reason}"


def _content(prev_hash: str, seq: int, at: str, operator: str, action: str, subject: str, details: str) -> bytes:
    content = json.dumps([seq, at, operator, action, subject, details], ensure_ascii=False, separators=(",", ":"))
    return (prev_hash + "\n" + content).encode("utf-8")


def row_hash(prev_hash: str, seq: int, at: str, operator: str, action: str, subject: str, details: str) -> str:
    """The unkeyed hash (rows written before the chain had a key)."""
    return hashlib.sha256(_content(prev_hash, seq, at, operator, action, subject, details)).hexdigest()


def keyed_row_hash(key: bytes, prev_hash: str, seq: int, at: str, operator: str, action: str, subject: str,
                   details: str) -> str:
    """HMAC-SHA-256 under the chain's key."""
    return hmac.new(key, _content(prev_hash, seq, at, operator, action, subject, details), hashlib.sha256).hexdigest()


def trigger_problems(conn) -> list[str]:
    """What is wrong with the two append-only triggers (empty = both there, as created)."""
    found = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"))
    problems = []
    for name, sql in TRIGGERS.items():
        if name not in found:
            problems.append(f"the trigger {name} was dropped")
        elif " ".join(str(found[name]).replace(";", " ").split()) != " ".join(sql.replace(";", " ").split()):
            problems.append(f"the trigger {name} was changed")
    return problems


class AuditLog:
    """The audit service. ``record`` appends; ``rows`` / ``export_csv`` read; ``verify`` checks."""

    def __init__(self, path: Path, *, key: bytes | None = None, keyed_from: int | None = None,
                 on_append: Callable[[int, str], None] | None = None):
        """``key``: hash rows from ``keyed_from`` on (all new rows when None) with HMAC under it.
        ``on_append(seq, hash)`` is called after each committed append (the anchor)."""
        self.path = Path(path)
        self.key = key
        self.keyed_from = keyed_from
        self.on_append = on_append
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        with journal_errors(self.path):
            migrate(self._conn, "audit", _MIGRATIONS)

    def _hash(self, prev: str, seq: int, *fields: str) -> str:
        if self.key is not None and (self.keyed_from is None or seq >= self.keyed_from):
            return keyed_row_hash(self.key, prev, seq, *fields)
        return row_hash(prev, seq, *fields)

    def read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        """A read on the audit connection (the journal guard's questions)."""
        with self._lock, journal_errors(self.path):
            return self._conn.execute(sql, args).fetchall()

    def write(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Statements in one write transaction (the journal guard's identity and trigger repair)."""
        with self._lock, journal_errors(self.path), immediate(self._conn) as conn:
            for sql, args in statements:
                conn.execute(sql, args)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def record(self, operator: str, action: str, subject: str = "", **details: Any) -> AuditRow:
        """Append one row. ``details`` must be JSON-able (Decimals are written as strings)."""
        return self._record(operator, action, subject, details)

    def key_chain(self, make_key: Callable[[], bytes], anchor: Callable[[AuditRow], None], operator: str,
                  subject: str = "", **details: Any) -> AuditRow | None:
        """Append the chain's first keyed row (``CHAIN_KEYED``) unless one exists, in one write
        transaction: two consoles starting on one new journal key it once. ``make_key`` (find
        or make the key) and ``anchor`` (write the row to the anchor) run under the write lock,
        so no console sees the keyed row before its anchor. None: another console keyed it first."""
        return self._record(operator, CHAIN_KEYED, subject, details, make_key, anchor)

    def _record(self, operator: str, action: str, subject: str, details: dict[str, Any],
                make_key: Callable[[], bytes] | None = None,
                anchor: Callable[[AuditRow], None] | None = None) -> AuditRow | None:
        text = json.dumps(details, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
        check_payload(f"audit:{action}", json.loads(text), text=text)
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock, journal_errors(self.path), immediate(self._conn) as conn:
            head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
            if make_key is not None:
                if conn.execute("SELECT 1 FROM audit WHERE action = ? LIMIT 1", (CHAIN_KEYED,)).fetchone():
                    return None
                self.key, self.keyed_from = make_key(), seq
            if self.key is not None and self.keyed_from is None:
                self.keyed_from = seq  # the first keyed row of a chain that had none
            h = self._hash(prev, seq, at, operator, action, subject, text)
            conn.execute("INSERT INTO audit (seq, at, operator, action, subject, details, prev_hash, hash) "
                         "VALUES (?,?,?,?,?,?,?,?)", (seq, at, operator, action, subject, text, prev, h))
            conn.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE "
                         "SET seq = excluded.seq, hash = excluded.hash", (seq, h))
            row = AuditRow(seq, at, operator, action, subject, details, prev, h)
            if anchor is not None:
                anchor(row)
        if self.on_append is not None:
            self.on_append(seq, h)
        return row

    def _iter_raw(self, where: str = "", args: Sequence[Any] = ()) -> Iterator[tuple]:
        with self._lock, journal_errors(self.path):
            rows = self._conn.execute(
                f"SELECT seq, at, operator, action, subject, details, prev_hash, hash FROM audit{where} ORDER BY seq",
                args).fetchall()
        yield from rows

    def rows(self, *, action: str | None = None, operator: str | None = None, since: str | None = None,
             limit: int | None = None) -> list[AuditRow]:
        clauses, args = [], []
        if action:
            clauses.append("action = ?")
            args.append(action)
        if operator:
            clauses.append("operator = ?")
            args.append(operator)
        if since:
            clauses.append("at >= ?")
            args.append(since)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        if limit:
            with self._lock, journal_errors(self.path):
                raw = self._conn.execute(
                    "SELECT seq, at, operator, action, subject, details, prev_hash, hash FROM audit"
                    f"{where} ORDER BY seq DESC LIMIT ?", (*args, int(limit))).fetchall()
            raw.reverse()
        else:
            raw = list(self._iter_raw(where, args))
        return [AuditRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in raw]

    def verify(self, *, base_seq: int = 1, base_prev: str | None = None, check_triggers: bool = False) -> VerifyResult:
        """Recompute the chain from ``base_seq`` (1: from the start; later: the row a supervisor
        acknowledged, whose link to the row before is taken as given, or ``base_prev``: the hash
        of the row before, verified earlier); name the first bad row. Reads one snapshot, so
        rows other consoles append meanwhile are not mistaken for damage."""
        if check_triggers:
            with self._lock, journal_errors(self.path):
                problems = trigger_problems(self._conn)
            if problems:
                return VerifyResult(False, 0, None, "; ".join(problems))
        before, rows, head = self._snapshot(base_seq)
        if base_seq > 1 and before != base_seq - 1:
            return VerifyResult(False, before, None, f"rows before row {base_seq} were removed")
        prev: str | None = GENESIS if base_seq <= 1 else base_prev
        expected_seq = base_seq
        n = base_seq - 1
        for seq, at, operator, action, subject, details, prev_hash, h in rows:
            n += 1
            if seq != expected_seq:
                return VerifyResult(False, n, expected_seq, f"row {expected_seq} is missing")
            if prev is not None and prev_hash != prev:
                return VerifyResult(False, n, seq, "does not link to the row before it")
            if self._hash(prev_hash, seq, at, operator, action, subject, details) != h:
                return VerifyResult(False, n, seq, "content does not match its hash")
            prev = h
            expected_seq += 1
        if head is None and n:
            return VerifyResult(False, n, 1, "the chain head record is missing")
        if head is not None and (head[0] != n or (prev is not None and head[1] != prev)):
            return VerifyResult(False, n, min(head[0], n + 1), "rows after this one were removed or the head changed")
        return VerifyResult(True, n, head=prev or "")

    def _snapshot(self, base_seq: int) -> tuple[int, list[tuple], tuple | None]:
        """(rows before ``base_seq``, rows from it, the head record) in one read transaction."""
        with self._lock, journal_errors(self.path):
            conn = self._conn
            conn.execute("BEGIN")
            try:
                before = conn.execute("SELECT COUNT(*) FROM audit WHERE seq < ?", (base_seq,)).fetchone()[0] \
                    if base_seq > 1 else 0
                rows = conn.execute("SELECT seq, at, operator, action, subject, details, prev_hash, hash FROM audit "
                                    "WHERE seq >= ? ORDER BY seq", (base_seq,)).fetchall()
                head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            finally:
                conn.execute("COMMIT")
        return before, rows, head

    def trigger_problems(self) -> list[str]:
        with self._lock, journal_errors(self.path):
            return trigger_problems(self._conn)

    def hash_at(self, seq: int) -> str | None:
        """The stored hash of row ``seq`` (None when there is no such row)."""
        rows = self.read("SELECT hash FROM audit WHERE seq = ?", (seq,))
        return rows[0][0] if rows else None

    def count(self) -> int:
        return int(self.read("SELECT COUNT(*) FROM audit")[0][0])

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last row; (0, GENESIS) for an empty log."""
        rows = self.read("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return (rows[0][0], rows[0][1]) if rows else (0, GENESIS)

    def export_csv(self, path: Path | None = None) -> str:
        """The whole log as CSV (with the hashes, so the export itself can be checked)."""
        return export_rows_csv(self._iter_raw(), path)


def view_rows(audit: AuditLog, profile: Any, operator: Any, **filters: Any) -> list[AuditRow]:
    """The audit rows for a person to read: ``operator`` must be allowed ``view_audit``."""
    from console.services.operators import require

    require(profile, operator, "view_audit", audit)
    return audit.rows(**filters)


def export_for(audit: AuditLog, profile: Any, operator: Any, path: Path) -> str:
    """Export the audit log as CSV for a person: ``operator`` must be allowed ``view_audit``."""
    from console.services.operators import require

    require(profile, operator, "view_audit", audit)
    audit.record(getattr(operator, "operator_id", str(operator)), "audit.export", Path(path).name)
    return audit.export_csv(path)


def export_rows_csv(raw_rows: Iterable[Sequence[Any]], path: Path | None = None) -> str:
    """Audit rows (seq, at, operator, action, subject, details, prev_hash, hash) as CSV."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Seq", "At (UTC)", "Operator", "Action", "Subject", "Details", "PrevHash", "Hash"])
    for r in raw_rows:
        w.writerow(r)
    text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8", newline="")
    return text
