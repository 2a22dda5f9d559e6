"""The two journal implementations behind one test-side face, for the contract suite
(tests/integration/test_journal_contract.py): open the journal, its audit log and its card-read
memory again and again on the same storage, and change the storage behind the program's back
(to show that tampering is caught and newer schemas are refused)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from console.adapters.journal import SqliteJournal
from console.adapters.journal_pg import PgJournal
from console.adapters.pg import PgDatabase
from console.adapters.stores_pg import PgAuditLog, PgDrawerStore, PgKsnStore, PgLockboxRegistry
from console.devices.ksn_memory import KsnStore
from console.lockbox.registry import SqliteLockboxRegistry
from console.services.audit import AuditLog
from console.services.drawer_store import DrawerStore


class SqliteBackend:
    name = "sqlite"

    def __init__(self, folder: Path):
        self.path = Path(folder) / "journal.sqlite3"
        self.target = str(self.path)

    def journal(self):
        return SqliteJournal(self.path)

    def audit(self):
        return AuditLog(self.path)

    def ksns(self, **kwargs):
        return KsnStore(self.path.parent / "reader_ksns.sqlite3", **kwargs)

    def lockbox_registry(self):
        return SqliteLockboxRegistry(self.path)

    def drawers(self):
        return DrawerStore(self.path)

    def sql(self, statement: str, *, bypass_triggers: bool = False) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            if bypass_triggers:
                conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
                conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
            conn.execute(statement)
        finally:
            conn.close()

    errors = (sqlite3.Error,)


class PgBackend:
    name = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.target = url

    def journal(self):
        return PgJournal(PgDatabase(self.url, max_size=4), owns_db=True)

    def audit(self):
        return PgAuditLog(PgDatabase(self.url, max_size=2), owns_db=True)

    def ksns(self, **kwargs):
        return PgKsnStore(PgDatabase(self.url, max_size=2), owns_db=True, **kwargs)

    def lockbox_registry(self):
        return PgLockboxRegistry(PgDatabase(self.url, max_size=2))

    def drawers(self):
        return PgDrawerStore(PgDatabase(self.url, max_size=2))

    def sql(self, statement: str, *, bypass_triggers: bool = False) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            if bypass_triggers:
                conn.execute("ALTER TABLE audit DISABLE TRIGGER USER")
            conn.execute(statement)  # type: ignore[arg-type]
            if bypass_triggers:
                conn.execute("ALTER TABLE audit ENABLE TRIGGER USER")

    errors = (psycopg.Error,)
