"""The durable journal: every external effect is written here *before* it is attempted.

SQLite in WAL mode with ``synchronous=FULL`` in ``Paths.default().journal_file``. Callers use
the :class:`Journal` port (a Protocol), so a shared database server can replace SQLite later.

An entry is one external effect, identified by its idempotency key (UNIQUE):

    pending ──claim──▶ in_flight ──▶ done (remote_ref)
       ▲                  │      ├─▶ rejected (reason)          permanent failure; retryable by an operator
       └──release(backoff)┘      ├─▶ needs_review (evidence)    ambiguous; a person decides
                                 └─▶ reported (reason)          nothing to send: no-op, superseded,
                                                                 void of a payment never posted …

- ``claim`` is atomic (``BEGIN IMMEDIATE``), so two processes on one journal never get the
  same entry. A claim increments ``attempts`` and takes a *lease* (owner ``host:pid:nonce``
  and an expiry). An entry whose ``attempts`` was already above zero when claimed may have
  reached the remote before: the caller must reconcile (ask the remote by key) before any
  re-send. ``Entry.needs_reconcile`` says so.
- An entry left in flight by a process that died is reclaimed when its lease expires, or
  earlier when the owner ran on this host and its process no longer exists (a dead pid cannot
  be sending anything); either way it goes through reconciliation.
- Payloads never hold card data beyond a masked PAN: :func:`check_payload` refuses digit runs
  that look like a card number (13–19 digits passing the Luhn check), track data and
  card-secret field names.
- Also kept here: the file-fingerprint registry (a file is imported once; a supervisor may
  override) and watermarks (small key/value facts such as the open batch for a date).
- SQLite's own failures (a damaged, truncated or foreign file, a full disk, a file that cannot
  be opened) leave this module as ``console.adapters.sqlite_errors.JournalUnavailable``, a user-facing error
  with one clear line (``journal_errors``), never as a ``sqlite3`` traceback.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from console.adapters.sqlite_errors import journal_errors
from console.errors import Problem, ValidationError
from console.processes import pid_alive

PENDING = "pending"
IN_FLIGHT = "in_flight"
DONE = "done"
REJECTED = "rejected"
NEEDS_REVIEW = "needs_review"
REPORTED = "reported"
STATES = (PENDING, IN_FLIGHT, DONE, REJECTED, NEEDS_REVIEW, REPORTED)
TERMINAL = (DONE, REJECTED, NEEDS_REVIEW, REPORTED)

SCHEMA_VERSION = 1
DEFAULT_LEASE_S = 120.0


class CardDataError(ValidationError):
    """A journal payload would have stored card data (PAN, track data, CVV)."""


class JournalError(RuntimeError):
    """The journal could not do what was asked (schema newer than this program, lost lease …)."""


# --------------------------------------------------------------------------- records
@dataclass(slots=True)
class NewEntry:
    """An entry to add: written by an import before anything is sent."""

    key: str
    kind: str
    payload: dict[str, Any]
    line: int | None = None
    state: str = PENDING
    outcome: str = ""  # for entries born terminal (reported), the reason code
    detail: str = ""


@dataclass(frozen=True)
class Entry:
    id: int
    key: str
    kind: str
    payload: dict[str, Any]
    state: str
    outcome: str  # reason code (rejected / reported / needs_review) or "" ; done: e.g. "posted", "already_there"
    remote_ref: str
    detail: str  # human text; for needs_review the evidence (JSON text)
    attempts: int
    created_at: str
    updated_at: str
    operator: str
    file_fingerprint: str
    line: int | None
    lease_owner: str = ""
    lease_expires: float = 0.0
    next_attempt_at: float = 0.0

    @property
    def needs_reconcile(self) -> bool:
        """True when an earlier claim may have reached the remote: ask it before sending."""
        return self.attempts > 1 if self.state == IN_FLIGHT else self.attempts > 0

    @property
    def evidence(self) -> dict[str, Any]:
        if self.state != NEEDS_REVIEW or not self.detail:
            return {}
        try:
            value = json.loads(self.detail)
        except ValueError:
            return {"text": self.detail}
        return value if isinstance(value, dict) else {"value": value}


@dataclass(frozen=True)
class FileRecord:
    fingerprint: str
    name: str
    kind: str
    imported_at: str
    operator: str
    records: int
    total: str
    imports: int  # how many times it was imported (> 1 only by supervisor override)


@dataclass(frozen=True)
class AddResult:
    import_id: int
    added: int
    already_journaled: list[str] = field(default_factory=list)  # keys that existed (from another file)


# --------------------------------------------------------------------------- the port
class Journal(Protocol):
    """What the posting service needs from a journal (SQLite today, a server tomorrow)."""

    def add_entries(self, entries: Sequence[NewEntry], *, operator: str, fingerprint: str, file_name: str,
                    file_kind: str, records: int, total: str, override: bool = False,
                    watermarks: dict[str, str] | None = None) -> AddResult: ...
    def add_entry(self, entry: NewEntry, *, operator: str) -> bool: ...
    def file_record(self, fingerprint: str) -> FileRecord | None: ...
    def files(self) -> list[FileRecord]: ...
    def claim(self, owner: str, kinds: Sequence[str], *, limit: int = 1,
              lease_s: float = DEFAULT_LEASE_S, keys: Sequence[str] | None = None) -> list[Entry]: ...
    def renew(self, key: str, owner: str, lease_s: float = DEFAULT_LEASE_S) -> bool: ...
    def finish(self, key: str, owner: str, state: str, *, outcome: str = "", remote_ref: str = "",
               detail: str = "", payload_update: dict[str, Any] | None = None) -> bool: ...
    def release(self, key: str, owner: str, *, delay_s: float, detail: str = "") -> bool: ...
    def record_many(self, ops: Sequence[tuple]) -> list[bool]: ...
    def reopen(self, keys: Iterable[str], *, operator: str) -> int: ...
    def get(self, key: str) -> Entry | None: ...
    def entries(self, *, kinds: Sequence[str] | None = None, states: Sequence[str] | None = None,
                fingerprint: str | None = None, keys: Sequence[str] | None = None,
                newest: int | None = None, key_prefixes: Sequence[str] | None = None) -> list[Entry]: ...
    def counts(self, *, kinds: Sequence[str] | None = None, fingerprint: str | None = None) -> dict[str, int]: ...
    def recover_dead_leases(self) -> int: ...
    def next_due(self, kinds: Sequence[str], keys: Sequence[str] | None = None) -> float | None: ...
    def get_watermark(self, key: str, default: str | None = None) -> str | None: ...
    def set_watermark(self, key: str, value: str) -> None: ...
    def delete_watermark(self, key: str) -> None: ...
    def watermarks(self, prefix: str = "") -> dict[str, str]: ...
    def close(self) -> None: ...


# --------------------------------------------------------------------------- card-data guard
_DIGIT_RUN = re.compile(r"(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])")
_TRACK1 = re.compile(r"%?B[0-9]{12,19}\^[^^]{0,26}\^[0-9]{4}")
_TRACK2 = re.compile(r";?[0-9]{12,19}=[0-9]{4}")
_FORBIDDEN_KEYS = re.compile(r"^(pan|card_?number|cardnum|track[_ ]?[123]?|track_?data|cvv2?|cvc2?|cid|"
                             r"pin|pin_?block|raw(_frame)?|magstripe)$", re.I)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@functools.lru_cache(maxsize=1024)
def _forbidden_key(key: str) -> bool:
    return _FORBIDDEN_KEYS.match(key) is not None


_DROP_DIGITS = str.maketrans("", "", "0123456789")


def _string_problem(text: str) -> str:
    """Why one string may not be stored ("" = fine). Strings under 13 characters or with fewer
    than 12 digits cannot hold a card number or track data, so most values cost two length checks."""
    if len(text) < 13 or len(text) - len(text.translate(_DROP_DIGITS)) < 12:
        return ""
    if _TRACK1.search(text) or _TRACK2.search(text):
        return "looks like magnetic-stripe track data"
    for m in _DIGIT_RUN.finditer(text):
        digits = m.group(0).replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and not _inside_hex_token(text, m.start(), m.end()):
            return "holds a digit run that looks like a card number"
    return ""


def _inside_hex_token(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is part of a hex token of 20+ characters with hex letters in it —
    a digest, KSN or key, not a card number (a SHA-256 digest holds a Luhn-valid 13+ digit run
    about 0.4 % of the time, which would otherwise refuse random files)."""
    while start > 0 and text[start - 1] in _HEX:
        start -= 1
    while end < len(text) and text[end] in _HEX:
        end += 1
    token = text[start:end]
    return len(token) >= 20 and any(c not in "0123456789" for c in token)


_HEX = frozenset("0123456789abcdefABCDEF")


def card_data_problems(payload: Any, path: str = "") -> list[str]:
    """Why ``payload`` may not be journaled (empty = fine). Masked PANs like 411111******1111 pass."""
    problems: list[str] = []
    if isinstance(payload, dict):
        for k, v in payload.items():
            where = f"{path}.{k}" if path else str(k)
            if _forbidden_key(str(k)) and v not in (None, ""):
                problems.append(f"{where}: card-secret field names may not be stored")
            if isinstance(v, str):
                why = _string_problem(v)
                if why:
                    problems.append(f"{where}: {why}")
            elif isinstance(v, (dict, list, tuple)):
                problems.extend(card_data_problems(v, where))
    elif isinstance(payload, (list, tuple)):
        for i, v in enumerate(payload):
            problems.extend(card_data_problems(v, f"{path}[{i}]"))
    elif isinstance(payload, str):
        why = _string_problem(payload)
        if why:
            problems.append(f"{path}: {why}")
    return problems


def check_payload(key: str, payload: dict[str, Any], line: int | None = None, *, text: str | None = None) -> None:
    """Refuse card data (``text``, the serialized payload, is accepted for callers that have it)."""
    problems = card_data_problems(payload)
    if problems:
        raise CardDataError(
            f"Refused to journal {key!r}: it would store card data",
            [Problem(line, p.split(":", 1)[0], "card_data", p) for p in problems],
            hint="only a masked PAN, last 4 digits, name and expiry may be kept",
        )


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


# --------------------------------------------------------------------------- helpers
def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def lease_owner_id() -> str:
    """``host:pid:nonce`` — unique per journal user (process and object)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"




_ENTRY_COLUMNS = ("id, key, kind, payload, state, outcome, remote_ref, detail, attempts, created_at, updated_at, "
                  "operator, file_fingerprint, line, lease_owner, lease_expires, next_attempt_at")


def _row_to_entry(row: Sequence[Any]) -> Entry:
    return Entry(id=row[0], key=row[1], kind=row[2], payload=json.loads(row[3]), state=row[4], outcome=row[5] or "",
                 remote_ref=row[6] or "", detail=row[7] or "", attempts=row[8], created_at=row[9],
                 updated_at=row[10], operator=row[11] or "", file_fingerprint=row[12] or "", line=row[13],
                 lease_owner=row[14] or "", lease_expires=row[15] or 0.0, next_attempt_at=row[16] or 0.0)


# Migrations: index i upgrades from version i to i + 1. Never edit a released step; append.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending','in_flight','done','rejected','needs_review','reported')),
        outcome TEXT NOT NULL DEFAULT '',
        remote_ref TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        operator TEXT NOT NULL DEFAULT '',
        import_id INTEGER,
        file_fingerprint TEXT NOT NULL DEFAULT '',
        line INTEGER,
        lease_owner TEXT NOT NULL DEFAULT '',
        lease_expires REAL NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX entries_claim ON entries (state, kind, next_attempt_at);
    CREATE INDEX entries_file ON entries (file_fingerprint);
    CREATE TABLE files (
        fingerprint TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        operator TEXT NOT NULL,
        records INTEGER NOT NULL,
        total TEXT NOT NULL,
        imports INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        operator TEXT NOT NULL,
        override INTEGER NOT NULL DEFAULT 0,
        added INTEGER NOT NULL,
        already INTEGER NOT NULL
    );
    CREATE TABLE watermarks (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
)


# Wrong PINs (console.services.operators' lockout), counted here so a lockout survives a restart
# and is shared by every console on this journal. A component of its own ("pin_lockout"), so its
# step migrates apart from the entries' steps above.
_PIN_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE pin_failures (
        id INTEGER PRIMARY KEY,
        operator TEXT NOT NULL,
        at REAL NOT NULL,
        path TEXT NOT NULL,
        host TEXT NOT NULL
    );
    CREATE INDEX pin_failures_operator ON pin_failures (operator, at)
    """,
)


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the journal's durability settings (WAL, synchronous=FULL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with journal_errors(path):
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            mode = _set_wal(conn)
            if str(mode).lower() != "wal":
                raise JournalError(f"{path}: could not switch the journal to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
    return conn


def _set_wal(conn: sqlite3.Connection, *, attempts: int = 50) -> str:
    """Switch to WAL. Two processes opening a brand-new file at once can get "database is
    locked" here even with a busy timeout (the mode change needs the file to itself): retry."""
    for attempt in range(attempts):
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 + 0.01 * attempt)
    raise AssertionError("unreachable")


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction that takes the write lock up front (no upgrade deadlocks)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite already rolled back after some errors (a full disk)
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """Split a script into statements (triggers hold ``;`` inside BEGIN … END)."""
    out, buf = [], ""
    for part in script.split(";"):
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n\t;"):
                out.append(buf.strip())
            buf = ""
    if buf.strip(" \n\t;"):
        out.append(buf.strip())
    return out


def migrate(conn: sqlite3.Connection, component: str, steps: Sequence[str]) -> int:
    """Bring ``component``'s tables up to ``len(steps)``; refuse a newer schema."""
    with immediate(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version WHERE component = ?", (component,)).fetchone()
        current = row[0] if row else 0
        if current > len(steps):
            raise JournalError(f"the {component} schema is version {current}, newer than this program "
                               f"understands ({len(steps)}): update the console")
        for i in range(current, len(steps)):
            for statement in _statements(steps[i]):
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version (component, version) VALUES (?, ?) "
                     "ON CONFLICT (component) DO UPDATE SET version = excluded.version", (component, len(steps)))
    return len(steps)


# --------------------------------------------------------------------------- SQLite journal
class SqliteJournal:
    """The :class:`Journal` port on one SQLite file. Thread-safe (one connection, one lock)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        with journal_errors(self.path):
            self._conn = connect(self.path)
            try:
                self.schema_version = migrate(self._conn, "journal", _MIGRATIONS)
                migrate(self._conn, "pin_lockout", _PIN_MIGRATIONS)
            except BaseException:
                self._conn.close()
                raise
        self._host = socket.gethostname()

    # ---- lifecycle
    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, journal_errors(self.path), immediate(self._conn) as conn:
            yield conn

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock, journal_errors(self.path):
            return self._conn.execute(sql, args).fetchall()

    def last_entry_id(self) -> int:
        """The highest entry id (entries are never deleted: an older copy has a lower one)."""
        return int(self._read("SELECT COALESCE(MAX(id), 0) FROM entries")[0][0])

    # ---- import
    def add_entries(self, entries: Sequence[NewEntry], *, operator: str, fingerprint: str, file_name: str,
                    file_kind: str, records: int, total: str, override: bool = False,
                    watermarks: dict[str, str] | None = None) -> AddResult:
        """Journal a whole file's entries and register its fingerprint, in ONE transaction
        (with ``watermarks`` set in the same transaction).

        Refuses a fingerprint already registered unless ``override`` (the caller checks the
        supervisor). Keys already journaled (from another file) are kept as they are.
        """
        rows = []
        for e in entries:
            if e.state not in STATES or e.state == IN_FLIGHT:
                raise JournalError(f"an entry cannot be born {e.state!r}")
            text = _dumps(e.payload)
            check_payload(e.key, e.payload, e.line, text=text)
            rows.append((e, text))
        now = _now_iso()
        with self._tx() as conn:
            existing = conn.execute("SELECT imports FROM files WHERE fingerprint = ?", (fingerprint,)).fetchone()
            if existing and not override:
                raise DuplicateFileError(fingerprint, self._file_record_locked(fingerprint))
            cur = conn.execute(
                "INSERT INTO imports (fingerprint, name, kind, at, operator, override, added, already) "
                "VALUES (?, ?, ?, ?, ?, ?, 0, 0)", (fingerprint, file_name, file_kind, now, operator, int(override)))
            import_id = int(cur.lastrowid or 0)
            keys = [e.key for e, _ in rows]
            known: set[str] = set()
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                known.update(r[0] for r in conn.execute(
                    f"SELECT key FROM entries WHERE key IN ({','.join('?' * len(chunk))})", chunk))
            already = [k for k in keys if k in known]
            seen: set[str] = set()
            fresh = []
            for e, text in rows:
                if e.key in known or e.key in seen:
                    continue
                seen.add(e.key)
                fresh.append((e.key, e.kind, text, e.state, e.outcome, e.detail, now, now, operator, import_id,
                              fingerprint, e.line))
            conn.executemany(
                "INSERT INTO entries (key, kind, payload, state, outcome, detail, created_at, updated_at, "
                "operator, import_id, file_fingerprint, line) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", fresh)
            added = len(fresh)
            conn.execute("UPDATE imports SET added = ?, already = ? WHERE id = ?", (added, len(already), import_id))
            if existing:
                conn.execute("UPDATE files SET imports = imports + 1 WHERE fingerprint = ?", (fingerprint,))
            else:
                conn.execute("INSERT INTO files (fingerprint, name, kind, imported_at, operator, records, total) "
                             "VALUES (?,?,?,?,?,?,?)", (fingerprint, file_name, file_kind, now, operator, records, total))
            for wkey, wvalue in (watermarks or {}).items():
                conn.execute("INSERT INTO watermarks (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
                             "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                             (wkey, wvalue, now))
        return AddResult(import_id=import_id, added=added, already_journaled=already)

    def add_entry(self, entry: NewEntry, *, operator: str) -> bool:
        """Journal one entry that does not come from a file (a manual void…). False = key exists."""
        check_payload(entry.key, entry.payload, entry.line)
        now = _now_iso()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO entries (key, kind, payload, state, outcome, detail, created_at, updated_at, operator, "
                "line) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (key) DO NOTHING",
                (entry.key, entry.kind, _dumps(entry.payload), entry.state,
                 entry.outcome, entry.detail, now, now, operator, entry.line))
            return cur.rowcount == 1

    def _file_record_locked(self, fingerprint: str) -> FileRecord | None:
        row = self._conn.execute("SELECT fingerprint, name, kind, imported_at, operator, records, total, imports "
                                 "FROM files WHERE fingerprint = ?", (fingerprint,)).fetchone()
        return FileRecord(*row) if row else None

    def file_record(self, fingerprint: str) -> FileRecord | None:
        with self._lock, journal_errors(self.path):
            return self._file_record_locked(fingerprint)

    def files(self) -> list[FileRecord]:
        rows = self._read("SELECT fingerprint, name, kind, imported_at, operator, records, total, imports "
                          "FROM files ORDER BY imported_at DESC")
        return [FileRecord(*r) for r in rows]

    # ---- claiming and finishing
    def claim(self, owner: str, kinds: Sequence[str], *, limit: int = 1, lease_s: float = DEFAULT_LEASE_S,
              keys: Sequence[str] | None = None) -> list[Entry]:
        """Atomically take up to ``limit`` due entries of ``kinds`` (pending, or in flight with an
        expired lease) for ``owner``; each claim increments ``attempts``."""
        if not kinds:
            return []
        now = time.time()
        marks = ",".join("?" * len(kinds))
        sql = (f"SELECT id FROM entries WHERE kind IN ({marks}) AND "
               "((state = 'pending' AND next_attempt_at <= ?) OR (state = 'in_flight' AND lease_expires < ?))")
        args: list[Any] = [*kinds, now, now]
        if keys is not None:
            if not keys:
                return []
            sql += f" AND key IN ({','.join('?' * len(keys))})"
            args.extend(keys)
        sql += " ORDER BY id LIMIT ?"
        args.append(int(limit))
        with self._tx() as conn:
            ids = [r[0] for r in conn.execute(sql, args).fetchall()]
            if not ids:
                return []
            id_marks = ",".join("?" * len(ids))
            conn.execute(f"UPDATE entries SET state = 'in_flight', lease_owner = ?, lease_expires = ?, "
                         f"attempts = attempts + 1, updated_at = ? WHERE id IN ({id_marks})",
                         (owner, now + lease_s, _now_iso(), *ids))
            rows = conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE id IN ({id_marks}) ORDER BY id",
                                ids).fetchall()
        return [_row_to_entry(r) for r in rows]

    def renew(self, key: str, owner: str, lease_s: float = DEFAULT_LEASE_S) -> bool:
        """Extend the lease before a slow step; False = the lease was lost (do not send)."""
        with self._tx() as conn:
            cur = conn.execute("UPDATE entries SET lease_expires = ? WHERE key = ? AND state = 'in_flight' "
                               "AND lease_owner = ?", (time.time() + lease_s, key, owner))
            return cur.rowcount == 1

    def finish(self, key: str, owner: str, state: str, *, outcome: str = "", remote_ref: str = "",
               detail: str = "", payload_update: dict[str, Any] | None = None) -> bool:
        """Record the end of an attempt. Only the lease owner may; False = lease lost (another
        process reclaimed the entry and will reconcile it)."""
        return self.record_many([("finish", key, owner, state, outcome, remote_ref, detail, payload_update)])[0]

    def release(self, key: str, owner: str, *, delay_s: float, detail: str = "") -> bool:
        """Give an in-flight entry back as pending, due after ``delay_s`` (backoff)."""
        return self.record_many([("release", key, owner, delay_s, detail)])[0]

    def record_many(self, ops: Sequence[tuple]) -> list[bool]:
        """Several finish / release records in ONE transaction (one fsync). Each op is
        ``("finish", key, owner, state, outcome, remote_ref, detail, payload_update)`` or
        ``("release", key, owner, delay_s, detail)`` or ``("unclaim", key, owner)`` (claimed but
        certainly never sent: back to pending with the claim's attempt taken back). Returns, per
        op, whether the lease held."""
        for op in ops:
            if op[0] == "finish" and op[3] not in TERMINAL:
                raise JournalError(f"finish needs a terminal state, not {op[3]!r}")
        results: list[bool] = []
        now_iso, now = _now_iso(), time.time()
        with self._tx() as conn:
            for op in ops:
                if op[0] == "unclaim":  # claimed but certainly never sent: as if never claimed
                    _, key, owner = op[:3]
                    cur = conn.execute("UPDATE entries SET state = 'pending', lease_owner = '', lease_expires = 0, "
                                       "attempts = MAX(attempts - 1, 0), updated_at = ? "
                                       "WHERE key = ? AND state = 'in_flight' AND lease_owner = ?",
                                       (now_iso, key, owner))
                    results.append(cur.rowcount == 1)
                    continue
                if op[0] == "release":
                    _, key, owner, delay_s, detail = op
                    cur = conn.execute("UPDATE entries SET state = 'pending', lease_owner = '', lease_expires = 0, "
                                       "next_attempt_at = ?, detail = ?, updated_at = ? "
                                       "WHERE key = ? AND state = 'in_flight' AND lease_owner = ?",
                                       (now + max(0.0, delay_s), detail, now_iso, key, owner))
                    results.append(cur.rowcount == 1)
                    continue
                _, key, owner, state, outcome, remote_ref, detail, payload_update = op
                payload_sql, args = "", []
                if payload_update:
                    row = conn.execute("SELECT payload FROM entries WHERE key = ?", (key,)).fetchone()
                    merged = {**json.loads(row[0]), **payload_update} if row else dict(payload_update)
                    check_payload(key, merged)
                    payload_sql = ", payload = ?"
                    args = [json.dumps(merged, sort_keys=True, separators=(",", ":"))]
                cur = conn.execute(
                    f"UPDATE entries SET state = ?, outcome = ?, remote_ref = ?, detail = ?, lease_owner = '', "
                    f"lease_expires = 0, updated_at = ?{payload_sql} "
                    f"WHERE key = ? AND state = 'in_flight' AND lease_owner = ?",
                    (state, outcome, remote_ref, detail, now_iso, *args, key, owner))
                results.append(cur.rowcount == 1)
        return results

    def reopen(self, keys: Iterable[str], *, operator: str) -> int:
        """An operator's "retry": rejected / needs-review entries back to pending. Their attempts
        stay, so they are reconciled before anything is sent again."""
        keys = list(keys)
        if not keys:
            return 0
        n = 0
        with self._tx() as conn:
            for key in keys:
                cur = conn.execute("UPDATE entries SET state = 'pending', next_attempt_at = 0, updated_at = ?, "
                                   "detail = ? WHERE key = ? AND state IN ('rejected', 'needs_review')",
                                   (_now_iso(), f"reopened by {operator}", key))
                n += cur.rowcount
        return n

    def recover_dead_leases(self) -> int:
        """Expire leases held by processes on this host that no longer exist. Returns how many."""
        rows = self._read("SELECT DISTINCT lease_owner FROM entries WHERE state = 'in_flight' AND lease_expires >= ?",
                          (time.time(),))
        dead = []
        for (owner,) in rows:
            parts = owner.split(":")
            if len(parts) >= 3 and parts[0] == self._host and parts[1].isdigit():
                pid = int(parts[1])
                if pid != os.getpid() and not pid_alive(pid):
                    dead.append(owner)
        if not dead:
            return 0
        with self._tx() as conn:
            cur = conn.execute(f"UPDATE entries SET lease_expires = 0 WHERE state = 'in_flight' AND lease_owner IN "
                               f"({','.join('?' * len(dead))})", dead)
            return cur.rowcount

    def next_due(self, kinds: Sequence[str], keys: Sequence[str] | None = None) -> float | None:
        """When the earliest pending entry (of ``kinds``, ``keys``) becomes due (epoch s); None if none."""
        where, args = self._where(kinds=kinds, states=[PENDING], keys=keys)
        rows = self._read(f"SELECT MIN(next_attempt_at) FROM entries{where}", args)
        return rows[0][0] if rows and rows[0][0] is not None else None

    # ---- reading
    def get(self, key: str) -> Entry | None:
        rows = self._read(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE key = ?", (key,))
        return _row_to_entry(rows[0]) if rows else None

    def entries(self, *, kinds: Sequence[str] | None = None, states: Sequence[str] | None = None,
                fingerprint: str | None = None, keys: Sequence[str] | None = None,
                newest: int | None = None, key_prefixes: Sequence[str] | None = None) -> list[Entry]:
        """Matching entries in journal order; ``newest``: only the last N of them; ``key_prefixes``:
        only keys starting with one of these (a range read on the key index, not a table scan)."""
        where, args = self._where(kinds=kinds, states=states, fingerprint=fingerprint, keys=keys,
                                  key_prefixes=key_prefixes)
        if newest is not None:
            rows = self._read(f"SELECT {_ENTRY_COLUMNS} FROM entries{where} ORDER BY id DESC LIMIT ?",
                              [*args, int(newest)])
            rows.reverse()
        else:
            rows = self._read(f"SELECT {_ENTRY_COLUMNS} FROM entries{where} ORDER BY id", args)
        return [_row_to_entry(r) for r in rows]

    def counts(self, *, kinds: Sequence[str] | None = None, fingerprint: str | None = None) -> dict[str, int]:
        where, args = self._where(kinds=kinds, fingerprint=fingerprint)
        rows = self._read(f"SELECT state, COUNT(*) FROM entries{where} GROUP BY state", args)
        result = dict.fromkeys(STATES, 0)
        result.update({state: n for state, n in rows})
        return result

    @staticmethod
    def _where(*, kinds=None, states=None, fingerprint=None, keys=None, key_prefixes=None) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if key_prefixes is not None:
            prefixes = list(key_prefixes)
            if not prefixes:
                return " WHERE 0", []
            # key >= p AND key < p + U+10FFFF: a range on the UNIQUE key index (LIKE would scan). In a
            # subquery, so that ORDER BY id cannot make the planner prefer a scan in rowid order.
            clauses.append("id IN (" + " UNION ALL ".join("SELECT id FROM entries WHERE key >= ? AND key < ?"
                                                          for _ in prefixes) + ")")
            for p in prefixes:
                args.extend((p, p + "\U0010ffff"))
        for column, values in (("kind", kinds), ("state", states), ("key", keys)):
            if values is not None:
                values = list(values)
                if not values:
                    return " WHERE 0", []
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if fingerprint is not None:
            clauses.append("file_fingerprint = ?")
            args.append(fingerprint)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    # ---- watermarks
    def get_watermark(self, key: str, default: str | None = None) -> str | None:
        rows = self._read("SELECT value FROM watermarks WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def set_watermark(self, key: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO watermarks (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
                         "SET value = excluded.value, updated_at = excluded.updated_at", (key, value, _now_iso()))

    def delete_watermark(self, key: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM watermarks WHERE key = ?", (key,))

    def watermarks(self, prefix: str = "") -> dict[str, str]:
        rows = self._read("SELECT key, value FROM watermarks WHERE key >= ? AND key < ? ORDER BY key",
                          (prefix, prefix + "\U0010ffff"))
        return dict(rows)


    # ---- wrong PINs (the operators' lockout)
    def add_pin_failure(self, operator_id: str, at: float, *, path: str, window_s: float) -> int:
        """Count a wrong PIN; the number of ``operator_id``'s failures within ``window_s`` (older ones dropped)."""
        with self._tx() as conn:
            conn.execute("DELETE FROM pin_failures WHERE at <= ?", (at - window_s,))
            conn.execute("INSERT INTO pin_failures (operator, at, path, host) VALUES (?, ?, ?, ?)",
                         (operator_id, at, path, self._host))
            return int(conn.execute("SELECT COUNT(*) FROM pin_failures WHERE operator = ? AND at > ?",
                                    (operator_id, at - window_s)).fetchone()[0])

    def pin_failures(self, operator_id: str, since: float) -> list[float]:
        return [r[0] for r in self._read("SELECT at FROM pin_failures WHERE operator = ? AND at > ? ORDER BY at",
                                         (operator_id, since))]

    def clear_pin_failures(self, operator_id: str) -> int:
        with self._tx() as conn:
            return conn.execute("DELETE FROM pin_failures WHERE operator = ?", (operator_id,)).rowcount

class DuplicateFileError(ValidationError):
    """The file was imported before; only a supervisor override imports it again."""

    def __init__(self, fingerprint: str, record: FileRecord | None):
        when = f" on {record.imported_at[:19].replace('T', ' ')} UTC by {record.operator}" if record else ""
        name = f" as {record.name}" if record else ""
        super().__init__(
            f"This file was already imported{name}{when}",
            [Problem(None, None, "duplicate_file", f"fingerprint {fingerprint[:16]}… is registered")],
            hint="a supervisor may override; entries already journaled are never posted twice",
        )
        self.fingerprint = fingerprint
        self.record = record
