"""Drawer sessions on disk: one table in the journal's SQLite file (its own migrations).

A session is a cashier's drawer on one workstation, from the float counted in to the
close-out counted out. At most one session per operator and workstation is open (a partial
unique index says so, also between two processes). Figures are stored as decimal strings.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from console.adapters.journal import connect, immediate, migrate

OPEN, CLOSED = "open", "closed"

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE drawer_sessions (
        session_id TEXT PRIMARY KEY,
        operator TEXT NOT NULL,
        workstation TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        opened_day TEXT NOT NULL,
        float_total TEXT NOT NULL,
        float_count TEXT NOT NULL,
        state TEXT NOT NULL,
        closed_at TEXT NOT NULL DEFAULT '',
        closed_day TEXT NOT NULL DEFAULT '',
        close TEXT NOT NULL DEFAULT '{}',
        history TEXT NOT NULL DEFAULT '[]'
    );
    CREATE UNIQUE INDEX drawer_one_open ON drawer_sessions (operator, workstation) WHERE state = 'open';
    CREATE INDEX drawer_by_closed_day ON drawer_sessions (closed_day)
    """,
)

_COLUMNS = ("session_id, operator, workstation, opened_at, opened_day, float_total, float_count, state, "
            "closed_at, closed_day, close, history")


@dataclass(frozen=True)
class DrawerSession:
    session_id: str
    operator: str
    workstation: str
    opened_at: str  # ISO, UTC
    opened_day: str  # YYYY-MM-DD (local day the drawer was opened)
    float_total: Decimal
    float_count: dict[str, int]  # denomination ("20", "0.25") -> pieces; {} when given as a total
    state: str
    closed_at: str = ""
    closed_day: str = ""
    close: dict[str, Any] = field(default_factory=dict)  # the sealed close-out figures
    history: list[dict[str, Any]] = field(default_factory=list)  # reopenings

    @property
    def is_open(self) -> bool:
        return self.state == OPEN


def _session(row) -> DrawerSession:
    return DrawerSession(row[0], row[1], row[2], row[3], row[4], Decimal(row[5]), json.loads(row[6]), row[7],
                         row[8], row[9], json.loads(row[10]), json.loads(row[11]))


class DuplicateOpenDrawer(RuntimeError):
    """This operator already has an open drawer on this workstation."""


class DrawerStore:
    def __init__(self, path: Path):
        self._lock = threading.Lock()
        self._conn = connect(Path(path))
        migrate(self._conn, "drawer", _MIGRATIONS)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def _select(self, where: str, args: tuple = ()) -> list[DrawerSession]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM drawer_sessions {where} ORDER BY opened_at, "
                                      "rowid", args).fetchall()
        return [_session(r) for r in rows]

    def insert(self, s: DrawerSession) -> None:
        import sqlite3

        try:
            with self._lock, immediate(self._conn) as conn:
                conn.execute(f"INSERT INTO drawer_sessions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                             (s.session_id, s.operator, s.workstation, s.opened_at, s.opened_day,
                              str(s.float_total), json.dumps(s.float_count), s.state, s.closed_at, s.closed_day,
                              json.dumps(s.close), json.dumps(s.history)))
        except sqlite3.IntegrityError as exc:
            raise DuplicateOpenDrawer(str(exc)) from exc

    def get(self, session_id: str) -> DrawerSession | None:
        found = self._select("WHERE session_id = ?", (session_id,))
        return found[0] if found else None

    def open_for(self, operator: str, workstation: str | None = None) -> list[DrawerSession]:
        if workstation is None:
            return self._select("WHERE state = 'open' AND operator = ?", (operator,))
        return self._select("WHERE state = 'open' AND operator = ? AND workstation = ?", (operator, workstation))

    def all_open(self) -> list[DrawerSession]:
        return self._select("WHERE state = 'open'")

    def closed_on(self, day: str) -> list[DrawerSession]:
        return self._select("WHERE state = 'closed' AND closed_day = ?", (day,))

    def opened_until(self, day: str) -> list[DrawerSession]:
        return self._select("WHERE opened_day <= ?", (day,))

    def set_closed(self, session_id: str, closed_at: str, closed_day: str, close: dict[str, Any]) -> bool:
        with self._lock, immediate(self._conn) as conn:
            cur = conn.execute("UPDATE drawer_sessions SET state = 'closed', closed_at = ?, closed_day = ?, "
                               "close = ? WHERE session_id = ? AND state = 'open'",
                               (closed_at, closed_day, json.dumps(close, default=str), session_id))
            return cur.rowcount == 1

    def set_reopened(self, session_id: str, event: dict[str, Any]) -> bool:
        import sqlite3

        with self._lock:
            row = self._conn.execute("SELECT history, close FROM drawer_sessions WHERE session_id = ? "
                                     "AND state = 'closed'", (session_id,)).fetchone()
        if row is None:
            return False
        history = json.loads(row[0]) + [{**event, "previous_close": json.loads(row[1])}]
        try:
            with self._lock, immediate(self._conn) as conn:
                cur = conn.execute("UPDATE drawer_sessions SET state = 'open', closed_at = '', closed_day = '', "
                                   "close = '{}', history = ? WHERE session_id = ? AND state = 'closed'",
                                   (json.dumps(history, default=str), session_id))
                return cur.rowcount == 1
        except sqlite3.IntegrityError as exc:
            raise DuplicateOpenDrawer(str(exc)) from exc
