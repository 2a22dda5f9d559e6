"""PostgreSQL plumbing shared by the server-side stores (journal, audit, card-read memory, lockbox registry).

One :class:`PgDatabase` per console process holds a psycopg 3 connection pool to the office's
journal server. Every store runs its work through :meth:`PgDatabase.run`: one transaction
on a pooled connection, retried when the connection is lost (a server restart, a dropped
network). A retried write must be safe to run twice; where the first attempt may have
committed before the connection dropped, the caller passes ``committed``, which looks for
the first attempt's trace (a claim token, an import token, an audit nonce) before trying
again. When the server stays away longer than ``reconnect_s``, :class:`JournalUnavailable`
says so: nothing falls back to a local file.

Schema versions are kept per component in ``schema_version`` (as in the SQLite files), and
applied under an advisory lock so two consoles starting at once migrate in turn.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg_pool

from console.adapters.journal import JournalError
from console.errors import UserFacingError

log = logging.getLogger(__name__)

T = TypeVar("T")
SCHEMES = ("postgresql", "postgres")
MIGRATE_LOCK = 0x6269_6C6C  # pg_advisory_xact_lock key while a component's schema is brought up to date
NOW = "extract(epoch from clock_timestamp())::float8"  # the server's clock: one clock for every PC


class JournalUnavailable(JournalError, UserFacingError):
    """The journal server cannot be reached (or stopped answering): nothing may be taken or posted."""

    HINT = ("no payment is taken or posted until it answers; the console never falls back to a journal of its "
            "own. Check the server, the network, the journal URL and password (Settings › Journal)")

    def __init__(self, message: str):
        UserFacingError.__init__(self, message, hint=self.HINT)


def is_pg_url(value: str | None) -> bool:
    return bool(value) and urlsplit(str(value)).scheme in SCHEMES


def redact_url(url: str) -> str:
    """The URL without its password (for messages, logs and diagnostics)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _explain(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


class PgDatabase:
    """A connection pool to one journal database, with retry on a lost connection."""

    def __init__(self, url: str, *, password: str | None = None, min_size: int = 1, max_size: int = 10,
                 connect_timeout_s: float = 5.0, reconnect_s: float = 30.0):
        self.url = url
        self.display_url = redact_url(url)
        self.reconnect_s = reconnect_s
        kwargs: dict[str, Any] = {"application_name": "biller-console", "connect_timeout": max(1, int(connect_timeout_s))}
        if password:
            kwargs["password"] = password
        self._kwargs = kwargs
        try:  # one direct connection first: its error names the cause (the pool would only time out)
            psycopg.connect(url, **kwargs).close()
        except psycopg.Error as exc:
            raise JournalUnavailable(f"the journal server {self.display_url} cannot be reached: {_explain(exc)}") \
                from None
        self._pool = psycopg_pool.ConnectionPool(url, min_size=min_size, max_size=max_size, kwargs=kwargs,
                                                 open=False, timeout=connect_timeout_s, name="journal",
                                                 reconnect_timeout=max(reconnect_s, 60.0))
        self._pool.open(wait=True, timeout=connect_timeout_s * 2)
        self._closed = False
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._pool.close()

    def run(self, work: Callable[[psycopg.Connection], T], *,
            committed: Callable[[psycopg.Connection], T | None] | None = None) -> T:
        """``work`` in one transaction (committed when it returns). On a lost connection, try
        again on a fresh one until ``reconnect_s`` has passed; before each new try,
        ``committed`` (when given) returns the first attempt's result if it did commit."""
        if self._closed:
            raise JournalError("the journal is closed")
        deadline = time.monotonic() + self.reconnect_s
        attempt, maybe_committed = 0, False
        while True:
            try:
                with self._pool.connection() as conn:
                    if maybe_committed and committed is not None:
                        found = committed(conn)
                        conn.commit()
                        if found is not None:
                            return found
                    with conn.transaction():
                        return work(conn)
            except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
                if not _connection_lost(exc):
                    raise
                maybe_committed = True
                attempt += 1
                if time.monotonic() >= deadline or self._closed:
                    raise JournalUnavailable(f"the journal server {self.display_url} stopped answering: "
                                             f"{_explain(exc)}") from None
                if attempt == 1:
                    log.warning("journal server connection lost (%s): retrying", _explain(exc))
                time.sleep(min(0.05 * 2 ** min(attempt, 5), 1.0))

    def read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        return self.run(lambda conn: conn.execute(sql, args).fetchall())

    # ---- schema versions
    def migrate(self, component: str, steps: Sequence[str]) -> int:
        """Bring ``component``'s tables up to ``len(steps)``; refuse a newer schema."""

        def work(conn: psycopg.Connection) -> int:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, "
                         "version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version WHERE component = %s", (component,)).fetchone()
            current = row[0] if row else 0
            if current > len(steps):
                raise JournalError(f"the {component} schema on {self.display_url} is version {current}, newer "
                                   f"than this program understands ({len(steps)}): update the console")
            for i in range(current, len(steps)):
                conn.execute(steps[i])  # type: ignore[arg-type] - a fixed script, no parameters
            conn.execute("INSERT INTO schema_version (component, version) VALUES (%s, %s) ON CONFLICT (component) "
                         "DO UPDATE SET version = EXCLUDED.version", (component, len(steps)))
            return len(steps)

        return self.run(work)

    def server_info(self) -> dict[str, Any]:
        """Server version, round-trip latency (ms, the median of five) and schema versions."""

        def work(conn: psycopg.Connection) -> dict[str, Any]:
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                conn.execute("SELECT 1").fetchone()
                times.append((time.perf_counter() - t0) * 1000)
            version = conn.execute("SHOW server_version").fetchone()[0]
            schemas = dict(conn.execute("SELECT component, version FROM schema_version ORDER BY component").fetchall())
            return {"server_version": version, "latency_ms": round(sorted(times)[2], 2), "schema": schemas}

        return self.run(work)


def _connection_lost(exc: BaseException) -> bool:
    """A lost or refused connection (retry on a new one), not a query's own error."""
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return True
    if isinstance(exc, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)):
        return True  # rolled back by the server: safe to run again
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return sqlstate == "" or sqlstate.startswith(("08", "57P"))  # connection exception / admin shutdown
