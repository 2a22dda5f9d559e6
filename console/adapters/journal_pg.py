"""The :class:`~console.adapters.journal.Journal` port on PostgreSQL: one journal for the whole office.

Same entries, states, leases, fingerprint registry and watermarks as the SQLite journal
(``console/adapters/journal.py``, ``docs/posting.md``), on a server every console of an
office points at (profile setting ``journal_url``, or ``$BILLER_CONSOLE_JOURNAL_URL``).

- **Claims** take due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` in one statement that
  marks them in flight: consoles and workers never wait for each other and never get the same
  entry. Each claim writes a *claim token*; when the connection drops while the claim commits,
  the retry finds the token and returns the entries it did take (no claim is orphaned).
- **Leases and backoff** use the server's clock, so PCs whose clocks differ agree on when a
  lease ran out. A killed poster's claims are taken back at once by the next console on the
  same host (owner ``host:pid:nonce``, pid not alive), as the SQLite journal does; a PC that
  went away entirely loses its claims when their lease expires.
- **Outcomes** (``record_many``) are written in one transaction; when a retry after a lost
  connection finds an entry already holding exactly the outcome it was writing, that counts
  as written.
- **Imports** are serialized with an advisory lock (the fingerprint check and the inserts are
  one decision) and carry an import token, so a retry after a lost commit returns the
  first attempt's result instead of refusing the file as a duplicate.
- Payloads pass the same card-data guard (:func:`check_payload`) before they are sent.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from console.adapters.journal import (
    DEFAULT_LEASE_S,
    IN_FLIGHT,
    PENDING,
    STATES,
    TERMINAL,
    AddResult,
    DuplicateFileError,
    Entry,
    FileRecord,
    JournalError,
    NewEntry,
    _dumps,
    _now_iso,
    check_payload,
)
from console.adapters.pg import NOW, PgDatabase
from console.processes import pid_alive

IMPORT_LOCK = 0x6A6F_7572  # pg_advisory_xact_lock key: one import decision at a time

_ENTRY_COLUMNS = ("id, key, kind, payload, state, outcome, remote_ref, detail, attempts, created_at, updated_at, "
                  "operator, file_fingerprint, line, lease_owner, lease_expires, next_attempt_at")
_FILE_COLUMNS = "fingerprint, name, kind, imported_at, operator, records, total, imports"

# Migrations: index i upgrades from version i to i + 1. Never edit a released step; append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE entries (
        id BIGSERIAL PRIMARY KEY,
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
        import_id BIGINT,
        file_fingerprint TEXT NOT NULL DEFAULT '',
        line INTEGER,
        lease_owner TEXT NOT NULL DEFAULT '',
        lease_expires DOUBLE PRECISION NOT NULL DEFAULT 0,
        next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        claim_token TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX entries_claim ON entries (state, kind, next_attempt_at);
    CREATE INDEX entries_file ON entries (file_fingerprint);
    CREATE INDEX entries_key_prefix ON entries (key text_pattern_ops);
    CREATE INDEX entries_claim_token ON entries (claim_token) WHERE claim_token <> '';
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
        id BIGSERIAL PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        operator TEXT NOT NULL,
        override INTEGER NOT NULL DEFAULT 0,
        added INTEGER NOT NULL,
        already INTEGER NOT NULL,
        token TEXT NOT NULL UNIQUE,
        already_keys TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE watermarks (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
)


PIN_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE pin_failures (
        id BIGSERIAL PRIMARY KEY,
        operator TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        path TEXT NOT NULL,
        host TEXT NOT NULL
    );
    CREATE INDEX pin_failures_operator ON pin_failures (operator, at)
    """,
)


def _row_to_entry(row: Sequence[Any]) -> Entry:
    return Entry(id=row[0], key=row[1], kind=row[2], payload=json.loads(row[3]), state=row[4], outcome=row[5] or "",
                 remote_ref=row[6] or "", detail=row[7] or "", attempts=row[8], created_at=row[9],
                 updated_at=row[10], operator=row[11] or "", file_fingerprint=row[12] or "", line=row[13],
                 lease_owner=row[14] or "", lease_expires=row[15] or 0.0, next_attempt_at=row[16] or 0.0)


class PgJournal:
    """The :class:`Journal` port on a PostgreSQL database (thread-safe: a connection pool)."""

    def __init__(self, db: PgDatabase, *, owns_db: bool = False):
        self.db = db
        self.path = None  # no local file
        self.location = db.display_url
        self._owns_db = owns_db
        self.schema_version = db.migrate("journal", MIGRATIONS)
        db.migrate("pin_lockout", PIN_MIGRATIONS)
        self._host = socket.gethostname()

    def close(self) -> None:
        if self._owns_db:
            self.db.close()

    def __enter__(self) -> PgJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- import
    def add_entries(self, entries: Sequence[NewEntry], *, operator: str, fingerprint: str, file_name: str,
                    file_kind: str, records: int, total: str, override: bool = False,
                    watermarks: dict[str, str] | None = None) -> AddResult:
        """Journal a whole file's entries and register its fingerprint, in ONE transaction."""
        rows = []
        for e in entries:
            if e.state not in STATES or e.state == IN_FLIGHT:
                raise JournalError(f"an entry cannot be born {e.state!r}")
            text = _dumps(e.payload)
            check_payload(e.key, e.payload, e.line, text=text)
            rows.append((e, text))
        token = uuid.uuid4().hex
        now = _now_iso()

        def work(conn: psycopg.Connection) -> AddResult:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (IMPORT_LOCK,))
            existing = conn.execute("SELECT imports FROM files WHERE fingerprint = %s", (fingerprint,)).fetchone()
            if existing and not override:
                raise DuplicateFileError(fingerprint, _file_record(conn, fingerprint))
            keys = [e.key for e, _ in rows]
            known = {r[0] for r in conn.execute("SELECT key FROM entries WHERE key = ANY(%s)", (keys,))}
            already = [k for k in keys if k in known]
            import_id = conn.execute(
                "INSERT INTO imports (fingerprint, name, kind, at, operator, override, added, already, token, "
                "already_keys) VALUES (%s,%s,%s,%s,%s,%s,0,%s,%s,%s) RETURNING id",
                (fingerprint, file_name, file_kind, now, operator, int(override), len(already), token,
                 json.dumps(already))).fetchone()[0]
            seen: set[str] = set()
            fresh = []
            for e, text in rows:
                if e.key in known or e.key in seen:
                    continue
                seen.add(e.key)
                fresh.append((e.key, e.kind, text, e.state, e.outcome, e.detail, now, now, operator, import_id,
                              fingerprint, e.line))
            with conn.cursor() as cur, cur.copy(
                    "COPY entries (key, kind, payload, state, outcome, detail, created_at, updated_at, operator, "
                    "import_id, file_fingerprint, line) FROM STDIN") as copy:
                for row in fresh:
                    copy.write_row(row)
            conn.execute("UPDATE imports SET added = %s WHERE id = %s", (len(fresh), import_id))
            if existing:
                conn.execute("UPDATE files SET imports = imports + 1 WHERE fingerprint = %s", (fingerprint,))
            else:
                conn.execute(f"INSERT INTO files ({_FILE_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,1)",
                             (fingerprint, file_name, file_kind, now, operator, records, total))
            for wkey, wvalue in (watermarks or {}).items():
                _set_watermark(conn, wkey, wvalue, now)
            return AddResult(import_id=import_id, added=len(fresh), already_journaled=already)

        def committed(conn: psycopg.Connection) -> AddResult | None:
            row = conn.execute("SELECT id, added, already_keys FROM imports WHERE token = %s", (token,)).fetchone()
            return AddResult(import_id=row[0], added=row[1], already_journaled=json.loads(row[2])) if row else None

        return self.db.run(work, committed=committed)

    def add_entry(self, entry: NewEntry, *, operator: str) -> bool:
        """Journal one entry that does not come from a file (a manual void…). False = key exists."""
        check_payload(entry.key, entry.payload, entry.line)
        now, text = _now_iso(), _dumps(entry.payload)

        def work(conn: psycopg.Connection) -> bool:
            cur = conn.execute(
                "INSERT INTO entries (key, kind, payload, state, outcome, detail, created_at, updated_at, operator, "
                "line, claim_token) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'') ON CONFLICT (key) DO NOTHING",
                (entry.key, entry.kind, text, entry.state, entry.outcome, entry.detail, now, now, operator,
                 entry.line))
            return cur.rowcount == 1

        def committed(conn: psycopg.Connection) -> bool | None:  # our own insert: same time, operator, payload
            row = conn.execute("SELECT created_at, operator, payload FROM entries WHERE key = %s",
                               (entry.key,)).fetchone()
            return True if row is not None and tuple(row) == (now, operator, text) else None

        return self.db.run(work, committed=committed)

    def file_record(self, fingerprint: str) -> FileRecord | None:
        return self.db.run(lambda conn: _file_record(conn, fingerprint))

    def files(self) -> list[FileRecord]:
        rows = self.db.read(f"SELECT {_FILE_COLUMNS} FROM files ORDER BY imported_at DESC")
        return [FileRecord(*r) for r in rows]

    # ---- claiming and finishing
    def claim(self, owner: str, kinds: Sequence[str], *, limit: int = 1, lease_s: float = DEFAULT_LEASE_S,
              keys: Sequence[str] | None = None) -> list[Entry]:
        """Atomically take up to ``limit`` due entries of ``kinds`` (pending, or in flight with an
        expired lease) for ``owner``; each claim increments ``attempts``. Rows another console is
        claiming at this moment are skipped, not waited for."""
        if not kinds or (keys is not None and not keys):
            return []
        token = uuid.uuid4().hex
        key_clause = " AND key = ANY(%(keys)s)" if keys is not None else ""
        sql = (f"WITH due AS (SELECT id FROM entries WHERE kind = ANY(%(kinds)s) AND "
               f"((state = 'pending' AND next_attempt_at <= {NOW}) OR (state = 'in_flight' AND lease_expires < {NOW}))"
               f"{key_clause} ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
               f"UPDATE entries e SET state = 'in_flight', lease_owner = %(owner)s, "
               f"lease_expires = {NOW} + %(lease)s, attempts = e.attempts + 1, updated_at = %(at)s, "
               f"claim_token = %(token)s FROM due WHERE e.id = due.id RETURNING "
               + ", ".join(f"e.{c.strip()}" for c in _ENTRY_COLUMNS.split(",")))
        args = {"kinds": list(kinds), "keys": list(keys or []), "limit": int(limit), "owner": owner,
                "lease": float(lease_s), "at": _now_iso(), "token": token}

        def work(conn: psycopg.Connection) -> list[Entry]:
            return sorted((_row_to_entry(r) for r in conn.execute(sql, args).fetchall()), key=lambda e: e.id)

        def committed(conn: psycopg.Connection) -> list[Entry] | None:
            rows = conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE claim_token = %s AND "
                                "state = 'in_flight' AND lease_owner = %s ORDER BY id", (token, owner)).fetchall()
            return [_row_to_entry(r) for r in rows] or None

        return self.db.run(work, committed=committed)

    def renew(self, key: str, owner: str, lease_s: float = DEFAULT_LEASE_S) -> bool:
        """Extend the lease before a slow step; False = the lease was lost (do not send)."""
        return self.db.run(lambda conn: conn.execute(
            f"UPDATE entries SET lease_expires = {NOW} + %s WHERE key = %s AND state = 'in_flight' "
            "AND lease_owner = %s", (float(lease_s), key, owner)).rowcount == 1)

    def finish(self, key: str, owner: str, state: str, *, outcome: str = "", remote_ref: str = "",
               detail: str = "", payload_update: dict[str, Any] | None = None) -> bool:
        """Record the end of an attempt. Only the lease owner may; False = lease lost."""
        return self.record_many([("finish", key, owner, state, outcome, remote_ref, detail, payload_update)])[0]

    def release(self, key: str, owner: str, *, delay_s: float, detail: str = "") -> bool:
        """Give an in-flight entry back as pending, due after ``delay_s`` (backoff)."""
        return self.record_many([("release", key, owner, delay_s, detail)])[0]

    def record_many(self, ops: Sequence[tuple]) -> list[bool]:
        """Several finish / release / unclaim records in ONE transaction (see the SQLite journal)."""
        for op in ops:
            if op[0] == "finish" and op[3] not in TERMINAL:
                raise JournalError(f"finish needs a terminal state, not {op[3]!r}")
        now_iso = _now_iso()
        prepared = [_prepare_op(op) for op in ops]

        def work(conn: psycopg.Connection) -> list[bool]:
            results = []
            for op, (sql, args) in zip(ops, prepared, strict=True):
                if op[0] == "finish" and op[7]:
                    row = conn.execute("SELECT payload FROM entries WHERE key = %s", (op[1],)).fetchone()
                    merged = {**json.loads(row[0]), **op[7]} if row else dict(op[7])
                    check_payload(op[1], merged)
                    args = {**args, "payload": json.dumps(merged, sort_keys=True, separators=(",", ":"))}
                results.append(conn.execute(sql, {**args, "at": now_iso}).rowcount == 1)
            return results

        def committed(conn: psycopg.Connection) -> list[bool] | None:
            """After a lost commit: the ops whose outcome is there were written by the first attempt."""
            found = [_holds(conn, op) for op in ops]
            return found if all(found) else None

        return self.db.run(work, committed=committed)

    def reopen(self, keys: Iterable[str], *, operator: str) -> int:
        """An operator's "retry": rejected / needs-review entries back to pending (attempts stay)."""
        keys = list(keys)
        if not keys:
            return 0
        return self.db.run(lambda conn: conn.execute(
            "UPDATE entries SET state = 'pending', next_attempt_at = 0, updated_at = %s, detail = %s "
            "WHERE key = ANY(%s) AND state IN ('rejected', 'needs_review')",
            (_now_iso(), f"reopened by {operator}", keys)).rowcount)

    def recover_dead_leases(self) -> int:
        """Expire leases held by processes on this host that no longer exist. Returns how many."""
        rows = self.db.read(f"SELECT DISTINCT lease_owner FROM entries WHERE state = 'in_flight' "
                            f"AND lease_expires >= {NOW} AND lease_owner LIKE %s", (f"{_like(self._host)}:%",))
        dead = []
        for (owner,) in rows:
            parts = owner.split(":")
            if len(parts) >= 3 and parts[0] == self._host and parts[1].isdigit():
                pid = int(parts[1])
                if pid != os.getpid() and not pid_alive(pid):
                    dead.append(owner)
        if not dead:
            return 0
        return self.db.run(lambda conn: conn.execute(
            "UPDATE entries SET lease_expires = 0 WHERE state = 'in_flight' AND lease_owner = ANY(%s)",
            (dead,)).rowcount)

    def next_due(self, kinds: Sequence[str], keys: Sequence[str] | None = None) -> float | None:
        """When the earliest pending entry (of ``kinds``, ``keys``) becomes due (epoch s); None if none."""
        where, args = _where(kinds=kinds, states=[PENDING], keys=keys)
        rows = self.db.read(f"SELECT MIN(next_attempt_at) FROM entries{where}", args)
        return rows[0][0] if rows and rows[0][0] is not None else None

    # ---- reading
    def get(self, key: str) -> Entry | None:
        rows = self.db.read(f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE key = %s", (key,))
        return _row_to_entry(rows[0]) if rows else None

    def entries(self, *, kinds: Sequence[str] | None = None, states: Sequence[str] | None = None,
                fingerprint: str | None = None, keys: Sequence[str] | None = None,
                newest: int | None = None, key_prefixes: Sequence[str] | None = None) -> list[Entry]:
        """Matching entries in journal order; ``newest``: only the last N of them."""
        where, args = _where(kinds=kinds, states=states, fingerprint=fingerprint, keys=keys,
                             key_prefixes=key_prefixes)
        if newest is not None:
            rows = self.db.read(f"SELECT {_ENTRY_COLUMNS} FROM entries{where} ORDER BY id DESC LIMIT %s",
                                [*args, int(newest)])
            rows.reverse()
        else:
            rows = self.db.read(f"SELECT {_ENTRY_COLUMNS} FROM entries{where} ORDER BY id", args)
        return [_row_to_entry(r) for r in rows]

    def counts(self, *, kinds: Sequence[str] | None = None, fingerprint: str | None = None) -> dict[str, int]:
        where, args = _where(kinds=kinds, fingerprint=fingerprint)
        rows = self.db.read(f"SELECT state, COUNT(*) FROM entries{where} GROUP BY state", args)
        result = dict.fromkeys(STATES, 0)
        result.update({state: int(n) for state, n in rows})
        return result

    # ---- watermarks
    def get_watermark(self, key: str, default: str | None = None) -> str | None:
        rows = self.db.read("SELECT value FROM watermarks WHERE key = %s", (key,))
        return rows[0][0] if rows else default

    def set_watermark(self, key: str, value: str) -> None:
        self.db.run(lambda conn: _set_watermark(conn, key, value, _now_iso()))

    def delete_watermark(self, key: str) -> None:
        self.db.run(lambda conn: conn.execute("DELETE FROM watermarks WHERE key = %s", (key,)))

    def watermarks(self, prefix: str = "") -> dict[str, str]:
        rows = self.db.read("SELECT key, value FROM watermarks WHERE key LIKE %s ORDER BY key",
                            (_like(prefix) + "%",))
        return dict(rows)

    # ---- wrong PINs (the operators' lockout, shared by every console on this journal)
    def add_pin_failure(self, operator_id: str, at: float, *, path: str, window_s: float) -> int:
        """Count a wrong PIN; the number of ``operator_id``'s failures within ``window_s`` (older ones dropped)."""

        def work(conn: psycopg.Connection) -> int:
            conn.execute("DELETE FROM pin_failures WHERE at <= %s", (at - window_s,))
            conn.execute("INSERT INTO pin_failures (operator, at, path, host) VALUES (%s, %s, %s, %s)",
                         (operator_id, at, path, self._host))
            return int(conn.execute("SELECT COUNT(*) FROM pin_failures WHERE operator = %s AND at > %s",
                                    (operator_id, at - window_s)).fetchone()[0])

        return self.db.run(work)

    def pin_failures(self, operator_id: str, since: float) -> list[float]:
        return [r[0] for r in self.db.read("SELECT at FROM pin_failures WHERE operator = %s AND at > %s ORDER BY at",
                                           (operator_id, since))]

    def clear_pin_failures(self, operator_id: str) -> int:
        return self.db.run(lambda conn: conn.execute("DELETE FROM pin_failures WHERE operator = %s",
                                                     (operator_id,)).rowcount)


# --------------------------------------------------------------------------- helpers
def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _file_record(conn: psycopg.Connection, fingerprint: str) -> FileRecord | None:
    row = conn.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE fingerprint = %s", (fingerprint,)).fetchone()
    return FileRecord(*row) if row else None


def _set_watermark(conn: psycopg.Connection, key: str, value: str, now: str) -> None:
    conn.execute("INSERT INTO watermarks (key, value, updated_at) VALUES (%s, %s, %s) ON CONFLICT (key) "
                 "DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at", (key, value, now))


_OWNED = "WHERE key = %(key)s AND state = 'in_flight' AND lease_owner = %(owner)s"


def _prepare_op(op: tuple) -> tuple[str, dict[str, Any]]:
    """The UPDATE of one record_many op (payload merges are added in the transaction)."""
    if op[0] == "unclaim":  # claimed but certainly never sent: as if never claimed
        return ("UPDATE entries SET state = 'pending', lease_owner = '', lease_expires = 0, "
                f"attempts = GREATEST(attempts - 1, 0), updated_at = %(at)s {_OWNED}", {"key": op[1], "owner": op[2]})
    if op[0] == "release":
        _, key, owner, delay_s, detail = op
        return ("UPDATE entries SET state = 'pending', lease_owner = '', lease_expires = 0, "
                f"next_attempt_at = {NOW} + %(delay)s, detail = %(detail)s, updated_at = %(at)s {_OWNED}",
                {"key": key, "owner": owner, "delay": max(0.0, float(delay_s)), "detail": detail})
    if op[0] != "finish":
        raise JournalError(f"unknown journal record {op[0]!r}")
    _, key, owner, state, outcome, remote_ref, detail, payload_update = op
    payload_sql = ", payload = %(payload)s" if payload_update else ""
    return (f"UPDATE entries SET state = %(state)s, outcome = %(outcome)s, remote_ref = %(ref)s, detail = %(detail)s, "
            f"lease_owner = '', lease_expires = 0, updated_at = %(at)s{payload_sql} {_OWNED}",
            {"key": key, "owner": owner, "state": state, "outcome": outcome, "ref": remote_ref, "detail": detail})


def _holds(conn: psycopg.Connection, op: tuple) -> bool:
    """Whether the entry already shows what ``op`` writes (its write committed before a lost connection)."""
    row = conn.execute("SELECT state, outcome, remote_ref, detail, lease_owner FROM entries WHERE key = %s",
                       (op[1],)).fetchone()
    if row is None:
        return False
    state, outcome, remote_ref, detail, lease_owner = row
    if op[0] == "finish":
        return (state, outcome, remote_ref, detail, lease_owner) == (op[3], op[4], op[5], op[6], "")
    if op[0] == "release":
        return state == PENDING and lease_owner == "" and detail == op[4]
    return state == PENDING and lease_owner == ""


def _where(*, kinds=None, states=None, fingerprint=None, keys=None, key_prefixes=None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if key_prefixes is not None:
        prefixes = list(key_prefixes)
        if not prefixes:
            return " WHERE false", []
        clauses.append("(" + " OR ".join("key LIKE %s" for _ in prefixes) + ")")
        args.extend(_like(p) + "%" for p in prefixes)
    for column, values in (("kind", kinds), ("state", states), ("key", keys)):
        if values is not None:
            values = list(values)
            if not values:
                return " WHERE false", []
            clauses.append(f"{column} = ANY(%s)")
            args.append(values)
    if fingerprint is not None:
        clauses.append("file_fingerprint = %s")
        args.append(fingerprint)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args
