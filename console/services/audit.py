"""Append-only, hash-chained audit log: who did what, when.

Every posting run, void, override and settings change is recorded with the operator and the
time. Rows live in the journal's SQLite file (table ``audit``, its own connection, WAL,
``synchronous=FULL``). Each row's hash is SHA-256 over the previous row's hash and the row's
own canonical content, so changing, inserting or deleting a row breaks the chain from there
on; :meth:`AuditLog.verify` recomputes it and names the first bad row. A ``audit_head`` row
(updated in the same transaction as each append) also catches a truncated tail.

Appends take the write lock (``BEGIN IMMEDIATE``) so two processes extend one chain in turn.
The log holds no card data and no secrets: details pass the journal's card-data guard.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.adapters.journal import check_payload, connect, immediate, migrate

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
)

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

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact ({self.rows} rows)"
        return f"audit log tampered at row {self.first_bad_seq}: {self.reason}"


def row_hash(prev_hash: str, seq: int, at: str, operator: str, action: str, subject: str, details: str) -> str:
    content = json.dumps([seq, at, operator, action, subject, details], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + content).encode("utf-8")).hexdigest()


class AuditLog:
    """The audit service. ``record`` appends; ``rows`` / ``export_csv`` read; ``verify`` checks."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        migrate(self._conn, "audit", _MIGRATIONS)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def record(self, operator: str, action: str, subject: str = "", **details: Any) -> AuditRow:
        """Append one row. ``details`` must be JSON-able (Decimals are written as strings)."""
        text = json.dumps(details, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
        check_payload(f"audit:{action}", json.loads(text), text=text)
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock, immediate(self._conn) as conn:
            head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
            h = row_hash(prev, seq, at, operator, action, subject, text)
            conn.execute("INSERT INTO audit (seq, at, operator, action, subject, details, prev_hash, hash) "
                         "VALUES (?,?,?,?,?,?,?,?)", (seq, at, operator, action, subject, text, prev, h))
            conn.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE "
                         "SET seq = excluded.seq, hash = excluded.hash", (seq, h))
        return AuditRow(seq, at, operator, action, subject, details, prev, h)

    def _iter_raw(self, where: str = "", args: Sequence[Any] = ()) -> Iterator[tuple]:
        with self._lock:
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
            with self._lock:
                raw = self._conn.execute(
                    "SELECT seq, at, operator, action, subject, details, prev_hash, hash FROM audit"
                    f"{where} ORDER BY seq DESC LIMIT ?", (*args, int(limit))).fetchall()
            raw.reverse()
        else:
            raw = list(self._iter_raw(where, args))
        return [AuditRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in raw]

    def verify(self) -> VerifyResult:
        """Recompute the chain; name the first row that does not match."""
        prev = GENESIS
        expected_seq = 1
        n = 0
        for seq, at, operator, action, subject, details, prev_hash, h in self._iter_raw():
            n += 1
            if seq != expected_seq:
                return VerifyResult(False, n, expected_seq, f"row {expected_seq} is missing")
            if prev_hash != prev:
                return VerifyResult(False, n, seq, "does not link to the row before it")
            if row_hash(prev, seq, at, operator, action, subject, details) != h:
                return VerifyResult(False, n, seq, "content does not match its hash")
            prev = h
            expected_seq += 1
        with self._lock:
            head = self._conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if head is None and n:
            return VerifyResult(False, n, 1, "the chain head record is missing")
        if head is not None and (head[0] != n or head[1] != prev):
            return VerifyResult(False, n, min(head[0], n + 1), "rows after this one were removed or the head changed")
        return VerifyResult(True, n)

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
