"""Which CloudStore items are already in a lockbox file: the duplicate-exclusion registry.

Two facts are kept per lockbox file: it was *built* (file name, fingerprint, items, totals,
operator) and it was *released* (sent through Stratus, e-mailed, or marked as handed over
by hand). An item counts as "already in an earlier lockbox file" once a file holding it was
released — that is the point after which Caselle may import it. Items in a built file that
never left the console are only a warning (the clerk may have rebuilt it).

The registry lives in the journal's SQLite file (its own tables, the journal's WAL and
``synchronous=FULL`` settings, versioned with :func:`console.adapters.journal.migrate`), behind
the small :class:`LockboxRegistry` port so a server database can replace it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, Protocol

from console.adapters.journal import connect, immediate, migrate

BUILT = "built"
SENT = "sent"  # through Stratus / SFTP
EMAILED = "emailed"
HANDED_OVER = "handed_over"  # marked by an operator: delivered outside the console
RELEASED = (SENT, EMAILED, HANDED_OVER)

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE lockbox_files (
        fingerprint TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        built_at TEXT NOT NULL,
        operator TEXT NOT NULL,
        destination TEXT NOT NULL,
        items INTEGER NOT NULL,
        batches INTEGER NOT NULL,
        total TEXT NOT NULL,
        status TEXT NOT NULL,
        released_at TEXT,
        released_by TEXT,
        released_via TEXT,
        remote_ref TEXT
    );
    CREATE TABLE lockbox_items (
        fingerprint TEXT NOT NULL REFERENCES lockbox_files (fingerprint),
        confirmation TEXT NOT NULL,
        payment_id TEXT NOT NULL,
        batch INTEGER NOT NULL,
        item INTEGER NOT NULL,
        amount TEXT NOT NULL,
        PRIMARY KEY (fingerprint, confirmation)
    );
    CREATE INDEX lockbox_items_confirmation ON lockbox_items (confirmation);
    CREATE INDEX lockbox_items_payment ON lockbox_items (payment_id)
    """,
)


@dataclass(frozen=True)
class RegisteredFile:
    fingerprint: str
    name: str
    built_at: str
    operator: str
    destination: str
    items: int
    batches: int
    total: str
    status: str
    released_at: str | None = None
    released_by: str | None = None
    released_via: str | None = None
    remote_ref: str | None = None

    @property
    def released(self) -> bool:
        return self.status in RELEASED


@dataclass(frozen=True)
class PriorItem:
    """Where an item was seen before."""

    confirmation: str
    payment_id: str
    file: RegisteredFile
    batch: int
    item: int
    amount: str

    def describe(self) -> str:
        f = self.file
        when = (f.released_at or f.built_at)[:16].replace("T", " ")
        state = {SENT: "sent", EMAILED: "e-mailed", HANDED_OVER: "handed over", BUILT: "built, not sent"}[f.status]
        return f"in {f.name} (batch {self.batch}, item {self.item}; {state} {when} UTC)"


class RegistryItem(NamedTuple):
    confirmation: str
    payment_id: str
    batch: int
    item: int
    amount: str


class LockboxRegistry(Protocol):
    def record_build(self, file: RegisteredFile, items: Sequence[RegistryItem]) -> None: ...
    def mark_released(self, fingerprint: str, *, status: str, operator: str, via: str = "",
                      remote_ref: str = "") -> RegisteredFile: ...
    def find(self, *, confirmations: Iterable[str] = (), payment_ids: Iterable[str] = ()) -> list[PriorItem]: ...
    def file(self, fingerprint: str) -> RegisteredFile | None: ...
    def items(self, fingerprint: str) -> list[RegistryItem]: ...
    def files(self, limit: int = 200) -> list[RegisteredFile]: ...
    def close(self) -> None: ...


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_FILE_COLS = ("fingerprint, name, built_at, operator, destination, items, batches, total, status, released_at, "
              "released_by, released_via, remote_ref")


class SqliteLockboxRegistry:
    """The registry in the journal's SQLite file (thread-safe: one connection, one lock)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn = connect(self.path)
        migrate(self._conn, "lockbox", _MIGRATIONS)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def record_build(self, file: RegisteredFile, items: Sequence[RegistryItem]) -> None:
        """Register a built file and its items (again: a rebuild of identical bytes is a no-op)."""
        with self._lock, immediate(self._conn) as conn:
            if conn.execute("SELECT 1 FROM lockbox_files WHERE fingerprint = ?", (file.fingerprint,)).fetchone():
                return
            conn.execute(f"INSERT INTO lockbox_files ({_FILE_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         (file.fingerprint, file.name, file.built_at, file.operator, file.destination, file.items,
                          file.batches, file.total, BUILT, None, None, None, None))
            fp = file.fingerprint
            conn.executemany(
                "INSERT INTO lockbox_items (fingerprint, confirmation, payment_id, batch, item, amount) "
                "VALUES (?,?,?,?,?,?)", [(fp, *i) for i in items])

    def mark_released(self, fingerprint: str, *, status: str, operator: str, via: str = "",
                      remote_ref: str = "") -> RegisteredFile:
        if status not in RELEASED:
            raise ValueError(f"status must be one of {RELEASED}")
        with self._lock, immediate(self._conn) as conn:
            row = conn.execute("SELECT status FROM lockbox_files WHERE fingerprint = ?", (fingerprint,)).fetchone()
            if row is None:
                raise KeyError(fingerprint)
            if row[0] == BUILT:  # the first release is the one that counts
                conn.execute("UPDATE lockbox_files SET status = ?, released_at = ?, released_by = ?, "
                             "released_via = ?, remote_ref = ? WHERE fingerprint = ?",
                             (status, now_iso(), operator, via, remote_ref, fingerprint))
        found = self.file(fingerprint)
        assert found is not None
        return found

    def find(self, *, confirmations: Iterable[str] = (), payment_ids: Iterable[str] = ()) -> list[PriorItem]:
        """Every registered occurrence of these confirmations / payment IDs."""
        out: list[PriorItem] = []
        files: dict[str, RegisteredFile] = {}
        for column, values in (("confirmation", list(confirmations)), ("payment_id", list(payment_ids))):
            values = [v for v in dict.fromkeys(values) if v]
            for start in range(0, len(values), 500):
                chunk = values[start: start + 500]
                marks = ",".join("?" * len(chunk))
                with self._lock:
                    rows = self._conn.execute(
                        f"SELECT fingerprint, confirmation, payment_id, batch, item, amount FROM lockbox_items "
                        f"WHERE {column} IN ({marks})", chunk).fetchall()
                for fp, conf, pid, batch, item, amount in rows:
                    if fp not in files:
                        f = self.file(fp)
                        assert f is not None
                        files[fp] = f
                    out.append(PriorItem(conf, pid, files[fp], batch, item, amount))
        seen: set[tuple[str, str]] = set()
        unique = []
        for p in out:
            if (p.file.fingerprint, p.confirmation) not in seen:
                seen.add((p.file.fingerprint, p.confirmation))
                unique.append(p)
        return unique

    def file(self, fingerprint: str) -> RegisteredFile | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {_FILE_COLS} FROM lockbox_files WHERE fingerprint = ?",
                                     (fingerprint,)).fetchone()
        return RegisteredFile(*row) if row else None

    def items(self, fingerprint: str) -> list[RegistryItem]:
        with self._lock:
            rows = self._conn.execute("SELECT confirmation, payment_id, batch, item, amount FROM lockbox_items "
                                      "WHERE fingerprint = ? ORDER BY batch, item", (fingerprint,)).fetchall()
        return [RegistryItem(*r) for r in rows]

    def files(self, limit: int = 200) -> list[RegisteredFile]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_FILE_COLS} FROM lockbox_files ORDER BY built_at DESC LIMIT ?",
                                      (limit,)).fetchall()
        return [RegisteredFile(*r) for r in rows]
