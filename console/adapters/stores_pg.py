"""The journal's companions on PostgreSQL: the audit chain, the card-read (KSN) memory and the
lockbox registry — the same interfaces as their SQLite forms (``console/services/audit.py``,
``console/devices/ksn_memory.py``, ``console/lockbox/registry.py``), in the office's journal
database, so every window shares them.

- **Audit**: appends are serialized by a row lock on ``audit_head`` (``SELECT … FOR UPDATE``),
  so two consoles extend one chain in turn and it never forks; triggers refuse UPDATE, DELETE
  and TRUNCATE. Each row carries a nonce (outside the hashed content) so an append retried
  after a lost connection is not written twice.
- **Card reads**: one ``INSERT … ON CONFLICT … DO UPDATE … WHERE expired`` decides "new" or
  "seen" atomically for every window: a frame replayed at another window is refused too.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from console.adapters.journal import check_payload
from console.adapters.pg import PgDatabase

log = logging.getLogger(__name__)

AUDIT_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE audit (
        seq BIGINT PRIMARY KEY,
        at TEXT NOT NULL,
        operator TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        nonce TEXT NOT NULL UNIQUE
    );
    CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL
    );
    INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
    CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
    CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
        FOR EACH ROW EXECUTE FUNCTION audit_append_only();
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
    """,
)

KSN_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE seen_ksns (
        ksn TEXT PRIMARY KEY,
        serial TEXT NOT NULL DEFAULT '',
        seen_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX seen_ksns_seen_at ON seen_ksns (seen_at);
    """,
)

_AUDIT_COLS = "seq, at, operator, action, subject, details, prev_hash, hash"


class PgAuditLog:
    """The audit service (``record``, ``rows``, ``verify``, ``export_csv``) on the journal server."""

    def __init__(self, db: PgDatabase, *, owns_db: bool = False):
        from console.services import audit as _audit  # the row format and the checks are the SQLite log's

        self._a = _audit
        self.db = db
        self._owns_db = owns_db
        self.path = None
        self.location = db.display_url
        db.migrate("audit", AUDIT_MIGRATIONS)

    def close(self) -> None:
        """Closes the pool only when this log owns it (in the console, the journal's pool is shared)."""
        if self._owns_db:
            self.db.close()

    def record(self, operator: str, action: str, subject: str = "", **details: Any):
        """Append one row (appends from every console are serialized by the head's row lock)."""
        text = json.dumps(details, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
        check_payload(f"audit:{action}", json.loads(text), text=text)
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        nonce = uuid.uuid4().hex

        def work(conn: psycopg.Connection):
            seq, prev = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").fetchone()
            seq += 1
            h = self._a.row_hash(prev, seq, at, operator, action, subject, text)
            conn.execute(f"INSERT INTO audit ({_AUDIT_COLS}, nonce) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                         (seq, at, operator, action, subject, text, prev, h, nonce))
            conn.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (seq, h))
            return self._a.AuditRow(seq, at, operator, action, subject, details, prev, h)

        def committed(conn: psycopg.Connection):
            row = conn.execute(f"SELECT {_AUDIT_COLS} FROM audit WHERE nonce = %s", (nonce,)).fetchone()
            return self._a.AuditRow(row[0], row[1], row[2], row[3], row[4], details, row[6], row[7]) if row else None

        return self.db.run(work, committed=committed)

    def _iter_raw(self, where: str = "", args: Sequence[Any] = ()) -> Iterator[tuple]:
        yield from self.db.read(f"SELECT {_AUDIT_COLS} FROM audit{where} ORDER BY seq", args)

    def rows(self, *, action: str | None = None, operator: str | None = None, since: str | None = None,
             limit: int | None = None) -> list:
        clauses, args = [], []
        for column, value in (("action", action), ("operator", operator)):
            if value:
                clauses.append(f"{column} = %s")
                args.append(value)
        if since:
            clauses.append("at >= %s")
            args.append(since)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        if limit:
            raw = self.db.read(f"SELECT {_AUDIT_COLS} FROM audit{where} ORDER BY seq DESC LIMIT %s",
                               (*args, int(limit)))
            raw.reverse()
        else:
            raw = list(self._iter_raw(where, args))
        return [self._a.AuditRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in raw]

    def verify(self):
        """Recompute the chain; name the first row that does not match (as the SQLite log does)."""
        a = self._a
        prev, expected_seq, n = a.GENESIS, 1, 0
        for seq, at, operator, action, subject, details, prev_hash, h in self._iter_raw():
            n += 1
            if seq != expected_seq:
                return a.VerifyResult(False, n, expected_seq, f"row {expected_seq} is missing")
            if prev_hash != prev:
                return a.VerifyResult(False, n, seq, "does not link to the row before it")
            if a.row_hash(prev, seq, at, operator, action, subject, details) != h:
                return a.VerifyResult(False, n, seq, "content does not match its hash")
            prev = h
            expected_seq += 1
        head = self.db.read("SELECT seq, hash FROM audit_head WHERE id = 1")
        if not head:
            return a.VerifyResult(False, n, 1, "the chain head record is missing")
        seq, h = head[0]
        if seq != n or h != prev:
            return a.VerifyResult(False, n, min(seq, n + 1), "rows after this one were removed or the head changed")
        return a.VerifyResult(True, n)

    def export_csv(self, path=None) -> str:
        return self._a.export_rows_csv(self._iter_raw(), path)


class PgKsnStore:
    """The card-read memory (see ``console.devices.ksn_memory.KsnStore``) shared by every window."""

    persistent = True

    def __init__(self, db: PgDatabase, *, days: int = 30, clock: Callable[[], float] = time.time,
                 owns_db: bool = False):
        from console.devices.ksn_memory import DAY_S, PRUNE_EVERY_S, RecentKsns

        self.db = db
        self._owns_db = owns_db
        self.days = days
        self.path = None
        self.location = db.display_url
        self._day_s, self._prune_every = DAY_S, PRUNE_EVERY_S
        self._clock = clock
        self._recent = RecentKsns(clock=clock)
        self._failed: str | None = None
        self._next_prune = 0.0
        db.migrate("reader_ksns", KSN_MIGRATIONS)
        self.prune()

    def remember(self, ksn: str, serial: str = ""):
        """None when ``ksn`` is new at any window (it is remembered now), else the earlier sighting."""
        from console.devices.ksn_memory import Sighting

        key = (ksn or "").strip().upper()
        earlier = self._recent.seen(key)
        if earlier is not None:
            return earlier
        now = self._clock()
        cutoff = now - self.days * self._day_s

        def work(conn: psycopg.Connection):
            if now >= self._next_prune:
                self._prune(conn, now)
            new = conn.execute("INSERT INTO seen_ksns (ksn, serial, seen_at) VALUES (%s, %s, %s) ON CONFLICT (ksn) "
                               "DO UPDATE SET serial = EXCLUDED.serial, seen_at = EXCLUDED.seen_at "
                               "WHERE seen_ksns.seen_at < %s RETURNING ksn", (key, serial or "", now, cutoff)).fetchone()
            if new is not None:
                return None
            row = conn.execute("SELECT serial, seen_at FROM seen_ksns WHERE ksn = %s", (key,)).fetchone()
            return Sighting(key, row[0], row[1])

        def committed(conn: psycopg.Connection):  # our own insert is there: the KSN was new
            row = conn.execute("SELECT seen_at FROM seen_ksns WHERE ksn = %s", (key,)).fetchone()
            return False if row is not None and row[0] == now else None

        try:
            found = self.db.run(work, committed=committed)
            self._failed = None
        except Exception as exc:  # noqa: BLE001 - the counter works on with this run's memory (logged once)
            if self._failed is None:
                log.warning("card read memory on %s unavailable (%s): duplicates are refused for this session only",
                            self.location, exc)
            self._failed = str(exc)
            found = None
        if found:
            return found
        self._recent.remember(key, serial)
        return None

    def seen(self, ksn: str):
        from console.devices.ksn_memory import Sighting

        key = (ksn or "").strip().upper()
        rows = self.db.read("SELECT serial, seen_at FROM seen_ksns WHERE ksn = %s", (key,))
        if rows and rows[0][1] >= self._clock() - self.days * self._day_s:
            return Sighting(key, rows[0][0], rows[0][1])
        return self._recent.seen(key)

    def prune(self) -> int:
        return self.db.run(lambda conn: self._prune(conn, self._clock()))

    def _prune(self, conn: psycopg.Connection, now: float) -> int:
        self._next_prune = now + self._prune_every
        return conn.execute("DELETE FROM seen_ksns WHERE seen_at < %s", (now - self.days * self._day_s,)).rowcount

    def count(self) -> int:
        return int(self.db.read("SELECT COUNT(*) FROM seen_ksns")[0][0])

    def clear(self) -> None:
        self._recent.clear()

    @property
    def failed(self) -> str | None:
        return self._failed

    def describe(self) -> str:
        if self._failed:
            return f"this session only (the journal server failed: {self._failed})"
        return f"kept {self.days} days on the journal server, shared by every window"

    def close(self) -> None:
        if self._owns_db:
            self.db.close()


class PgLockboxRegistry:
    """The lockbox duplicate-exclusion registry (``console.lockbox.registry``) on the journal server."""

    def __init__(self, db: PgDatabase):
        from console.lockbox import registry as _r

        self._r = _r
        self.db = db
        self.path = None
        db.migrate("lockbox", _r._MIGRATIONS)  # the same tables (plain SQL both databases take)

    def close(self) -> None:
        """The database belongs to the journal (closed with it)."""

    def record_build(self, file, items: Sequence) -> None:
        r = self._r

        def work(conn: psycopg.Connection) -> None:
            conn.execute("LOCK TABLE lockbox_files IN SHARE ROW EXCLUSIVE MODE")
            if conn.execute("SELECT 1 FROM lockbox_files WHERE fingerprint = %s", (file.fingerprint,)).fetchone():
                return
            conn.execute(f"INSERT INTO lockbox_files ({r._FILE_COLS}) VALUES ({','.join(['%s'] * 13)})",
                         (file.fingerprint, file.name, file.built_at, file.operator, file.destination, file.items,
                          file.batches, file.total, r.BUILT, None, None, None, None))
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO lockbox_items (fingerprint, confirmation, payment_id, batch, item, amount) "
                                "VALUES (%s,%s,%s,%s,%s,%s)", [(file.fingerprint, *i) for i in items])

        self.db.run(work)

    def mark_released(self, fingerprint: str, *, status: str, operator: str, via: str = "", remote_ref: str = ""):
        r = self._r
        if status not in r.RELEASED:
            raise ValueError(f"status must be one of {r.RELEASED}")

        def work(conn: psycopg.Connection) -> None:
            row = conn.execute("SELECT status FROM lockbox_files WHERE fingerprint = %s FOR UPDATE",
                               (fingerprint,)).fetchone()
            if row is None:
                raise KeyError(fingerprint)
            if row[0] == r.BUILT:  # the first release is the one that counts
                conn.execute("UPDATE lockbox_files SET status = %s, released_at = %s, released_by = %s, "
                             "released_via = %s, remote_ref = %s WHERE fingerprint = %s",
                             (status, r.now_iso(), operator, via, remote_ref, fingerprint))

        self.db.run(work)
        found = self.file(fingerprint)
        assert found is not None
        return found

    def find(self, *, confirmations: Iterable[str] = (), payment_ids: Iterable[str] = ()) -> list:
        r = self._r
        out, files, seen = [], {}, set()
        for column, values in (("confirmation", list(confirmations)), ("payment_id", list(payment_ids))):
            values = [v for v in dict.fromkeys(values) if v]
            if not values:
                continue
            rows = self.db.read("SELECT fingerprint, confirmation, payment_id, batch, item, amount FROM lockbox_items "
                                f"WHERE {column} = ANY(%s) ORDER BY fingerprint, batch, item", (values,))
            for fp, conf, pid, batch, item, amount in rows:
                if (fp, conf) in seen:
                    continue
                seen.add((fp, conf))
                if fp not in files:
                    files[fp] = self.file(fp)
                out.append(r.PriorItem(conf, pid, files[fp], batch, item, amount))
        return out

    def file(self, fingerprint: str):
        rows = self.db.read(f"SELECT {self._r._FILE_COLS} FROM lockbox_files WHERE fingerprint = %s", (fingerprint,))
        return self._r.RegisteredFile(*rows[0]) if rows else None

    def items(self, fingerprint: str) -> list:
        rows = self.db.read("SELECT confirmation, payment_id, batch, item, amount FROM lockbox_items "
                            "WHERE fingerprint = %s ORDER BY batch, item", (fingerprint,))
        return [self._r.RegistryItem(*r) for r in rows]

    def files(self, limit: int = 200) -> list:
        rows = self.db.read(f"SELECT {self._r._FILE_COLS} FROM lockbox_files ORDER BY built_at DESC LIMIT %s",
                            (limit,))
        return [self._r.RegisteredFile(*r) for r in rows]


class PgDrawerStore:
    """Cash drawer sessions (``console.services.drawer_store.DrawerStore``) on the journal server:
    every window sees every drawer; at most one open per operator and workstation (the same
    partial unique index)."""

    def __init__(self, db: PgDatabase):
        from console.services import drawer_store as _d

        self._d = _d
        self.db = db
        db.migrate("drawer", _d._MIGRATIONS)  # the same table (plain SQL both databases take)

    def close(self) -> None:
        """The database belongs to the journal (closed with it)."""

    def _select(self, where: str, args: tuple = ()) -> list:
        rows = self.db.read(f"SELECT {self._d._COLUMNS} FROM drawer_sessions {where} ORDER BY opened_at, "
                            "session_id", args)
        return [self._d._session(r) for r in rows]

    def insert(self, s) -> None:
        values = (s.session_id, s.operator, s.workstation, s.opened_at, s.opened_day, str(s.float_total),
                  json.dumps(s.float_count), s.state, s.closed_at, s.closed_day, json.dumps(s.close),
                  json.dumps(s.history))
        try:
            self.db.run(lambda conn: conn.execute(
                f"INSERT INTO drawer_sessions ({self._d._COLUMNS}) VALUES ({','.join(['%s'] * 12)})", values),
                committed=lambda conn: True if conn.execute(
                    "SELECT 1 FROM drawer_sessions WHERE session_id = %s", (s.session_id,)).fetchone() else None)
        except psycopg.errors.UniqueViolation as exc:
            raise self._d.DuplicateOpenDrawer(str(exc)) from exc

    def get(self, session_id: str):
        found = self._select("WHERE session_id = %s", (session_id,))
        return found[0] if found else None

    def open_for(self, operator: str, workstation: str | None = None) -> list:
        if workstation is None:
            return self._select("WHERE state = 'open' AND operator = %s", (operator,))
        return self._select("WHERE state = 'open' AND operator = %s AND workstation = %s", (operator, workstation))

    def all_open(self) -> list:
        return self._select("WHERE state = 'open'")

    def closed_on(self, day: str) -> list:
        return self._select("WHERE state = 'closed' AND closed_day = %s", (day,))

    def opened_until(self, day: str) -> list:
        return self._select("WHERE opened_day <= %s", (day,))

    def set_closed(self, session_id: str, closed_at: str, closed_day: str, close: dict[str, Any]) -> bool:
        return self.db.run(lambda conn: conn.execute(
            "UPDATE drawer_sessions SET state = 'closed', closed_at = %s, closed_day = %s, close = %s "
            "WHERE session_id = %s AND state = 'open'",
            (closed_at, closed_day, json.dumps(close, default=str), session_id)).rowcount == 1)

    def set_reopened(self, session_id: str, event: dict[str, Any]) -> bool:
        def work(conn: psycopg.Connection) -> bool:
            row = conn.execute("SELECT history, close FROM drawer_sessions WHERE session_id = %s AND state = 'closed' "
                               "FOR UPDATE", (session_id,)).fetchone()
            if row is None:
                return False
            history = json.loads(row[0]) + [{**event, "previous_close": json.loads(row[1])}]
            return conn.execute("UPDATE drawer_sessions SET state = 'open', closed_at = '', closed_day = '', "
                                "close = '{}', history = %s WHERE session_id = %s AND state = 'closed'",
                                (json.dumps(history, default=str), session_id)).rowcount == 1

        try:
            return self.db.run(work)
        except psycopg.errors.UniqueViolation as exc:
            raise self._d.DuplicateOpenDrawer(str(exc)) from exc
