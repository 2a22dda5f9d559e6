"""Which card reads (KSNs) the console has already received, to refuse a replayed frame.

Every swipe increments the reader's KSN counter, so the same KSN twice is a duplicate: a
frame typed again (replayed) or read twice. :class:`KsnStore` remembers KSNs in a small
SQLite file in the console's data folder, so a replay is refused after a restart too;
:class:`RecentKsns` is the in-memory memory of one run (tests, and the fallback).

Only the KSN, the reader serial and the time are stored — nothing else of the frame. Rows
older than the retention (``ksn_days``, 30 by default) are pruned when the store opens and
at most hourly after that; an older row that is still there counts as not seen.

The check is one primary-key lookup and one insert in a single transaction (safe with two
consoles on one data folder). The file uses WAL with ``synchronous = NORMAL``: a commit
survives the console crashing (what a replay check must survive), without an fsync on the
GUI thread at every swipe. Should the file fail (disk full, locked for seconds), the error is
logged once and the run goes on with its in-memory memory — the counter keeps working, and
every KSN of this run is still refused twice.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from console.adapters.journal import immediate, migrate

log = logging.getLogger(__name__)

FILE_NAME = "reader_ksns.sqlite3"
DAY_S = 86_400.0
PRUNE_EVERY_S = 3_600.0

_MIGRATIONS = (
    """
    CREATE TABLE seen_ksns (
        ksn TEXT PRIMARY KEY,
        serial TEXT NOT NULL DEFAULT '',
        seen_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX seen_ksns_seen_at ON seen_ksns (seen_at);
    """,
)


@dataclass(frozen=True)
class Sighting:
    """When (epoch seconds) and on which reader a KSN was first received."""

    ksn: str
    serial: str
    seen_at: float


def _norm(ksn: str) -> str:
    return (ksn or "").strip().upper()


class RecentKsns:
    """The KSNs of this run (the newest ``limit``)."""

    persistent = False

    def __init__(self, limit: int = 500, *, clock: Callable[[], float] = time.time):
        self.limit = limit
        self._clock = clock
        self._seen: OrderedDict[str, Sighting] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, ksn: str, serial: str = "") -> Sighting | None:
        """None when ``ksn`` is new (it is remembered now), else the earlier sighting."""
        key = _norm(ksn)
        with self._lock:
            earlier = self._seen.get(key)
            if earlier is not None:
                return earlier
            self._seen[key] = Sighting(key, serial or "", self._clock())
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)
        return None

    def seen(self, ksn: str) -> Sighting | None:
        with self._lock:
            return self._seen.get(_norm(ksn))

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def describe(self) -> str:
        return "this session only"

    def close(self) -> None:
        pass


class KsnStore:
    """KSNs kept in ``<data folder>/reader_ksns.sqlite3`` for ``days`` days. Thread-safe."""

    persistent = True

    def __init__(self, path: Path, *, days: int = 30, clock: Callable[[], float] = time.time,
                 busy_timeout_s: float = 2.0):
        self.path = Path(path)
        self.days = days
        self._clock = clock
        self._lock = threading.Lock()
        self._recent = RecentKsns(clock=clock)  # this run's, also when the file fails
        self._failed: str | None = None
        self._next_prune = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=busy_timeout_s,
                                     check_same_thread=False)
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            migrate(self._conn, "reader_ksns", _MIGRATIONS)
            self.prune()
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def in_folder(cls, data_dir: Path, **kwargs) -> KsnStore:
        return cls(Path(data_dir) / FILE_NAME, **kwargs)

    # ------------------------------------------------------------------ the check
    def remember(self, ksn: str, serial: str = "") -> Sighting | None:
        """None when ``ksn`` is new (it is remembered now), else when and where it was seen first."""
        key = _norm(ksn)
        earlier = self._recent.seen(key)
        if earlier is not None:
            return earlier
        now = self._clock()
        try:
            with self._lock:
                if now >= self._next_prune:
                    self._prune_locked(now)
                with immediate(self._conn):
                    row = self._conn.execute("SELECT serial, seen_at FROM seen_ksns WHERE ksn = ?",
                                             (key,)).fetchone()
                    if row is not None and row[1] >= now - self.days * DAY_S:
                        return Sighting(key, row[0], row[1])
                    self._conn.execute("INSERT OR REPLACE INTO seen_ksns (ksn, serial, seen_at) VALUES (?, ?, ?)",
                                       (key, serial or "", now))
            self._failed = None
        except sqlite3.Error as exc:
            if self._failed is None:
                log.warning("card read memory %s unavailable (%s): duplicates are refused for this session only",
                            self.path, exc)
            self._failed = str(exc)
        self._recent.remember(key, serial)
        return None

    def seen(self, ksn: str) -> Sighting | None:
        """The sighting of ``ksn`` within the retention, if any (read only)."""
        key = _norm(ksn)
        with self._lock:
            row = self._conn.execute("SELECT serial, seen_at FROM seen_ksns WHERE ksn = ?", (key,)).fetchone()
        if row is not None and row[1] >= self._clock() - self.days * DAY_S:
            return Sighting(key, row[0], row[1])
        return self._recent.seen(key)

    # ------------------------------------------------------------------ upkeep
    def prune(self) -> int:
        """Forget KSNs older than the retention; returns how many were dropped."""
        with self._lock:
            return self._prune_locked(self._clock())

    def _prune_locked(self, now: float) -> int:
        self._next_prune = now + PRUNE_EVERY_S
        with immediate(self._conn):
            cur = self._conn.execute("DELETE FROM seen_ksns WHERE seen_at < ?", (now - self.days * DAY_S,))
        return cur.rowcount

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM seen_ksns").fetchone()[0])

    def clear(self) -> None:
        """This run's memory only (the file is kept: it is what refuses a replay later)."""
        self._recent.clear()

    @property
    def failed(self) -> str | None:
        """Why the file could not be used at the last check (None when it worked)."""
        return self._failed

    def describe(self) -> str:
        if self._failed:
            return f"this session only (the file failed: {self._failed})"
        return f"kept {self.days} days, also after a restart"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]
