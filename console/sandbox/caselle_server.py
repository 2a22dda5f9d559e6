"""Caselle Connect stand-in: a real GraphQL server over HTTP on 127.0.0.1, backed by SQLite.

It speaks the documented stand-in schema (``resources/graphql/schema.graphql``) with
graphql-core, serves it with the standard library's ``ThreadingHTTPServer`` and keeps its
state in ``<sandbox dir>/caselle.sqlite3`` (WAL), seeded from :mod:`console.sandbox.seed`
on first start and kept until ``biller-console sandbox --reset``, or until the sandbox starts on
it made by an older demo generator or with bills more than two weeks old: it is then reseeded
for today (:mod:`console.sandbox.freshness`).

Endpoints
- ``POST /oauth/token``: client-credentials grant (form or JSON, or HTTP Basic) with the demo
  client id / secret; answers ``access_token``, ``expires_in``, ``expires_at``. Tokens last
  6 months unless the sandbox was started with another lifetime; a sandbox-only
  ``expires_in`` request field (seconds, may be negative) issues an already-expired or
  soon-expiring token for tests.
- ``POST /graphql``: needs ``Authorization: Bearer <token>``; an optional ``X-Caselle-User``
  header names the operator recorded as creator / voider.
- ``GET /health``: no auth; version and liveness (used to see that the port answers).
- ``GET|POST /sandbox/faults``: read or change the fault injection while it runs (bearer token).

Fault injection (per ``/graphql`` request, from a seeded RNG so a test can repeat it):
added latency; HTTP 503 before anything is executed; a timeout (sleep past the client's
timeout, then close without answering; nothing executed); commit-then-drop (execute and
commit, then close the connection without answering: the client cannot know the outcome).

Concurrency: every write runs under one lock inside ``BEGIN IMMEDIATE`` (so two processes on
the same file serialise too); ``receipts.reference`` is UNIQUE, which makes
``create_receipt`` idempotent even across processes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import random
import secrets as pysecrets
import socket
import sqlite3
import threading
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, build_schema, execute_sync, parse, validate
from graphql.language import StringValueNode

from console.domain.money import AmountError, parse_amount
from console.paths import resource
from console.sandbox import caselle_conveyance as conveyance
from console.sandbox import seed as demo

log = logging.getLogger(__name__)

SCHEMA_FILE = resource("graphql", "schema.graphql")
DB_NAME = "caselle.sqlite3"
SCHEMA_VERSION = 1

DEMO_CLIENT_ID = "sandbox-client"
DEMO_CLIENT_SECRET = "sandbox-secret"
DEFAULT_TOKEN_LIFETIME = dt.timedelta(days=182)  # "6 months by default"

VERSION_2021_02 = "2021.02.160"
VERSION_2021_05 = "2021.05"
#: Features each API version supports (the seed page's table).
FEATURES: dict[str, tuple[str, ...]] = {
    VERSION_2021_02: ("utility_search", "customer_detail", "adjustments", "create_receipt", "void_receipt",
                      "batches", "update_customer", "paperless"),
    VERSION_2021_05: ("utility_search", "customer_detail", "adjustments", "create_receipt", "void_receipt",
                      "batches", "update_customer", "paperless", "ach_reject", "set_direct_pay_status"),
}
RECEIPT_GROUP = 5
MAX_RECEIPT_NUMBER = 99999


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(ts: dt.datetime | None) -> str | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def money_str(c: int) -> str:
    sign = "-" if c < 0 else ""
    c = abs(c)
    return f"{sign}{c // 100}.{c % 100:02d}"


def fold(text: str) -> str:
    """Lower-case ASCII for accent- and case-insensitive search ("Núñez" -> "nunez")."""
    norm = unicodedata.normalize("NFKD", text)
    out = "".join(c for c in norm if not unicodedata.combining(c))
    return out.replace("Đ", "D").replace("đ", "d").replace("ø", "o").replace("Ø", "O").lower()


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _operation_name(query: str) -> str:
    """First field or operation name of a query text, for log lines."""
    head = query.strip().split("{", 2)
    words = head[0].split() if head else []
    if len(words) >= 2:
        return words[1].split("(")[0]
    return head[1].split("(")[0].split()[0] if len(head) > 1 and head[1].split() else "?"


REFUND_CODE = "RFD"  # the reversal of a card receipt refunded after settlement


class ApiError(GraphQLError):
    def __init__(self, code: str, message: str):
        super().__init__(message, extensions={"code": code})


# --------------------------------------------------------------------------- storage
_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    account_number TEXT PRIMARY KEY, name TEXT NOT NULL, sort_name TEXT NOT NULL, status TEXT NOT NULL,
    service_address TEXT NOT NULL, mail1 TEXT NOT NULL, mail2 TEXT NOT NULL, mail_city TEXT NOT NULL,
    mail_state TEXT NOT NULL, mail_zip TEXT NOT NULL, phone TEXT NOT NULL, email TEXT NOT NULL,
    invoice_number TEXT, bill_date TEXT, due_date TEXT, bill_expires TEXT,
    seed_balance_cents INTEGER NOT NULL, seed_minimum_cents INTEGER NOT NULL,
    payments_cents INTEGER NOT NULL DEFAULT 0, adjustments_cents INTEGER NOT NULL DEFAULT 0,
    partial_ok INTEGER NOT NULL, direct_pay TEXT NOT NULL, paperless INTEGER NOT NULL,
    name_fold TEXT NOT NULL, address_fold TEXT NOT NULL, phone_digits TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (
    account_number TEXT NOT NULL, period TEXT NOT NULL, consumption TEXT NOT NULL, unit TEXT NOT NULL,
    billed_cents INTEGER NOT NULL, PRIMARY KEY (account_number, period)
);
CREATE TABLE IF NOT EXISTS adjustments (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT, adjustment_id TEXT NOT NULL UNIQUE,
    account_number TEXT NOT NULL, adjusted_at TEXT NOT NULL, amount_cents INTEGER NOT NULL,
    reason TEXT NOT NULL, balance_after_cents INTEGER NOT NULL, entered_by TEXT NOT NULL,
    seeded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS adjustments_account ON adjustments(account_number);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, batch_date TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
    opened_at TEXT NOT NULL, closed_at TEXT
);
CREATE TABLE IF NOT EXISTS receipts (
    receipt_number TEXT PRIMARY KEY, number INTEGER NOT NULL, reference TEXT NOT NULL UNIQUE,
    account_number TEXT NOT NULL, amount_cents INTEGER NOT NULL, tender TEXT NOT NULL,
    receipt_date TEXT NOT NULL, batch_id TEXT NOT NULL REFERENCES batches(batch_id),
    payer_name TEXT, memo TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    voided_at TEXT, voided_by TEXT, void_reason TEXT,
    reversed_at TEXT, reversed_by TEXT, return_code TEXT, reversal_reason TEXT,
    nsf_fee_cents INTEGER, nsf_adjustment_id TEXT
);
CREATE INDEX IF NOT EXISTS receipts_batch ON receipts(batch_id);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, client_id TEXT NOT NULL, issued_at TEXT NOT NULL, expires_at TEXT
);
"""


class CaselleStore:
    """The stand-in's state in one SQLite file. Thread-safe; safe with other processes too."""

    def __init__(self, db_path: Path, *, seed: int = demo.DEFAULT_SEED, count: int = demo.DEFAULT_COUNT):
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: survives a killed process
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._lock:
            self._db.executescript(_DDL + conveyance.DDL)
            self._seed_if_new(seed, count)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- helpers
    def _write(self):
        return _WriteTxn(self)

    def _one(self, sql: str, *args) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, *args) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", key)
        return row["value"] if row else None

    def _seed_if_new(self, seed: int, count: int) -> None:
        with self._write() as db:
            if db.execute("SELECT 1 FROM meta WHERE key = 'seeded_at'").fetchone():
                return
            # the bills are dated by the day the store is seeded (kept until reseeded or --reset)
            self._insert_seed(db, seed, count, demo.demo_today())

    def reseed(self, as_of: dt.date | None = None) -> None:
        """Seed the demo data again for ``as_of`` (default: today), with the stored seed and count.

        Everything the sandbox did on top of the seed goes with it: receipts, batches, created
        adjustments, the receipt counter. Tokens stay valid. One transaction: another process
        using the same file sees the old data or the new, never half of each."""
        with self._write() as db:
            stored = dict(db.execute("SELECT key, value FROM meta").fetchall())
            seed, count = int(stored.get("seed", demo.DEFAULT_SEED)), int(stored.get("count", demo.DEFAULT_COUNT))
            for table in ("receipts", "batches", "adjustments", "usage", "customers", "meta", conveyance.TABLE):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
                db.execute("DELETE FROM sqlite_sequence WHERE name IN ('adjustments', ?)", (conveyance.TABLE,))
            self._insert_seed(db, seed, count, as_of or demo.demo_today())

    @staticmethod
    def _insert_seed(db: sqlite3.Connection, seed: int, count: int, as_of: dt.date) -> None:
        customers = demo.demo_customers(count, seed, as_of)
        db.executemany(
            "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0,?,?,?,?,?,?)",
            [(c.account_number, c.name, c.sort_name, c.status, c.service_address, c.mail_address1,
              c.mail_address2, c.mail_city, c.mail_state, c.mail_zip, c.phone, c.email, c.invoice_number,
              c.bill_date.isoformat(), c.due_date.isoformat(), c.bill_expires.isoformat(),
              cents(c.balance), cents(c.minimum_due), int(c.partial_payments_allowed),
              c.direct_pay_status, int(c.paperless), fold(c.name + " " + c.sort_name),
              fold(c.service_address), digits(c.phone)) for c in customers])
        db.executemany(
            "INSERT INTO usage VALUES (?,?,?,?,?)",
            [(c.account_number, u.period, str(u.consumption), u.unit, cents(u.billed))
             for c in customers for u in c.usage])
        db.executemany(
            "INSERT INTO adjustments (adjustment_id, account_number, adjusted_at, amount_cents, reason, "
            "balance_after_cents, entered_by, seeded) VALUES (?,?,?,?,?,?,?,1)",
            [(a.adjustment_id, a.account_number, iso(a.adjusted_at), cents(a.amount), a.reason,
              cents(a.balance_after), a.entered_by) for a in demo.demo_adjustments(count, seed, as_of)])
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("seed_version", str(demo.SEED_VERSION)),
            ("seed", str(seed)), ("count", str(count)), ("as_of", as_of.isoformat()),
            ("seeded_at", iso(utcnow())), ("receipt_counter", "0")])

    # ---- tokens
    def issue_token(self, client_id: str, lifetime: dt.timedelta | None) -> tuple[str, dt.datetime | None]:
        token = pysecrets.token_urlsafe(32)
        now = utcnow()
        expires = now + lifetime if lifetime is not None else None
        with self._write() as db:
            db.execute("INSERT INTO tokens VALUES (?,?,?,?)", (token, client_id, iso(now), iso(expires)))
        return token, expires

    def token(self, token: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM tokens WHERE token = ?", token)

    # ---- customers
    def customer_row(self, account: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM customers WHERE account_number = ?", account)

    def search(self, text: str, by: str, first: int) -> tuple[int, list[sqlite3.Row]]:
        words = [w for w in fold(text).replace(",", " ").split() if w]
        if not words:
            raise ApiError("INVALID_INPUT", "search text is empty")
        clauses: list[str] = []
        args: list[Any] = []

        def like(value: str) -> str:
            return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

        def all_words(column: str) -> str:
            args.extend(f"%{like(w)}%" for w in words)
            return "(" + " AND ".join(f"{column} LIKE ? ESCAPE '\\'" for _ in words) + ")"

        if by in ("ANY", "ACCOUNT_NUMBER"):
            clauses.append("account_number LIKE ? ESCAPE '\\'")
            args.append(like(text.strip()) + "%")
        if by in ("ANY", "NAME"):
            clauses.append(all_words("name_fold"))
        if by in ("ANY", "SERVICE_ADDRESS"):
            clauses.append(all_words("address_fold"))
        if by in ("ANY", "PHONE"):
            d = digits(text)
            if len(d) >= 4:
                clauses.append("phone_digits LIKE ?")
                args.append(f"%{d}%")
        where = " OR ".join(clauses) or "0"
        total = self._one(f"SELECT COUNT(*) AS n FROM customers WHERE {where}", *args)["n"]
        rows = self._all(
            f"SELECT * FROM customers WHERE {where} ORDER BY (account_number = ?) DESC, sort_name, account_number "
            f"LIMIT ?", *args, text.strip(), max(0, min(first, 500)))
        return total, rows

    def customers_after(self, after: str, limit: int) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM customers WHERE account_number > ? ORDER BY account_number LIMIT ?",
                         after, limit)

    def customer_count(self) -> int:
        return self._one("SELECT COUNT(*) AS n FROM customers")["n"]

    def usage(self, account: str, months: int) -> list[sqlite3.Row]:
        rows = self._all("SELECT * FROM usage WHERE account_number = ? ORDER BY period DESC LIMIT ?",
                         account, max(0, months))
        return list(reversed(rows))

    def adjustments_for(self, account: str) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM adjustments WHERE account_number = ? ORDER BY adjusted_at, sequence",
                         account)

    def adjustments_after(self, since: dt.datetime | None, after_sequence: int | None, first: int):
        sql, args = "SELECT * FROM adjustments WHERE 1=1", []
        if after_sequence is not None:
            sql += " AND sequence > ?"
            args.append(after_sequence)
        if since is not None:
            sql += " AND adjusted_at > ?"
            args.append(iso(since))
        sql += " ORDER BY sequence LIMIT ?"
        args.append(max(0, min(first, 5000)))
        return self._all(sql, *args)

    def update_customer(self, account: str, *, paperless=None, phone=None, email=None) -> None:
        with self._write() as db:
            row = db.execute("SELECT * FROM customers WHERE account_number = ?", (account,)).fetchone()
            if row is None:
                raise ApiError("NOT_FOUND", f"no account {account}")
            new_email = row["email"] if email is None else email.strip()
            new_paperless = bool(row["paperless"]) if paperless is None else bool(paperless)
            if new_email and ("@" not in new_email or " " in new_email):
                raise ApiError("INVALID_INPUT", f"{new_email!r} is not an e-mail address")
            if new_paperless and not new_email:
                raise ApiError("INVALID_INPUT", f"account {account}: paperless needs an e-mail address")
            new_phone = row["phone"] if phone is None else phone.strip()
            if phone is not None and new_phone and len(digits(new_phone)) not in (10, 11):
                raise ApiError("INVALID_INPUT", f"{new_phone!r} is not a phone number (10 digits)")
            db.execute("UPDATE customers SET paperless = ?, email = ?, phone = ?, phone_digits = ? "
                       "WHERE account_number = ?",
                       (int(new_paperless), new_email, new_phone, digits(new_phone), account))

    def set_direct_pay(self, account: str, status: str) -> None:
        with self._write() as db:
            cur = db.execute("UPDATE customers SET direct_pay = ? WHERE account_number = ?", (status, account))
            if cur.rowcount == 0:
                raise ApiError("NOT_FOUND", f"no account {account}")

    def create_adjustment(self, account: str, amount: Decimal, reason: str, by: str, *, db=None) -> sqlite3.Row:
        if not reason.strip():
            raise ApiError("INVALID_INPUT", "an adjustment needs a reason")
        if amount == 0:
            raise ApiError("INVALID_INPUT", "an adjustment of 0.00 changes nothing")

        def run(db):
            row = db.execute("SELECT * FROM customers WHERE account_number = ?", (account,)).fetchone()
            if row is None:
                raise ApiError("NOT_FOUND", f"no account {account}")
            c = cents(amount)
            db.execute("UPDATE customers SET adjustments_cents = adjustments_cents + ? WHERE account_number = ?",
                       (c, account))
            balance = _balance(db.execute("SELECT * FROM customers WHERE account_number = ?",
                                          (account,)).fetchone())
            seq = db.execute("SELECT COALESCE(MAX(sequence), 0) + 1 FROM adjustments").fetchone()[0]
            adj_id = f"ADJ-{seq:06d}"
            db.execute("INSERT INTO adjustments (sequence, adjustment_id, account_number, adjusted_at, amount_cents,"
                       " reason, balance_after_cents, entered_by) VALUES (?,?,?,?,?,?,?,?)",
                       (seq, adj_id, account, iso(utcnow()), c, reason.strip(), balance, by))
            return db.execute("SELECT * FROM adjustments WHERE sequence = ?", (seq,)).fetchone()

        if db is not None:
            return run(db)
        with self._write() as db2:
            return run(db2)

    def create_adjustments(self, items: list[tuple[str, Decimal, str]], by: str = "sandbox") -> int:
        """Tests and benchmarks: many ``(account, amount, reason)`` adjustments in ONE transaction."""
        with self._write() as db:
            for account, amount, reason in items:
                self.create_adjustment(account, amount, reason, by, db=db)
        return len(items)

    # ---- batches
    def batch_by_date(self, date: dt.date) -> sqlite3.Row | None:
        return self._one("SELECT * FROM batches WHERE batch_date = ?", date.isoformat())

    def batch_by_id(self, batch_id: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM batches WHERE batch_id = ?", batch_id)

    def batches(self, start: dt.date | None, end: dt.date | None) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM batches WHERE batch_date >= ? AND batch_date <= ? ORDER BY batch_date",
                         (start or dt.date.min).isoformat(), (end or dt.date.max).isoformat())

    def batch_totals(self, batch_id: str) -> dict[str, int]:
        row = self._one(
            "SELECT SUM(status != 'VOIDED') AS n, COALESCE(SUM(CASE WHEN status != 'VOIDED' THEN amount_cents END), 0) "
            "AS total, SUM(status = 'VOIDED') AS nv, COALESCE(SUM(CASE WHEN status = 'VOIDED' THEN amount_cents END), 0)"
            " AS vtotal, SUM(status = 'REVERSED') AS nr, "
            "COALESCE(SUM(CASE WHEN status = 'REVERSED' THEN amount_cents END), 0) AS rtotal "
            "FROM receipts WHERE batch_id = ?", batch_id)
        return {k: int(row[k] or 0) for k in ("n", "total", "nv", "vtotal", "nr", "rtotal")}

    def open_batch(self, date: dt.date) -> sqlite3.Row:
        with self._write() as db:
            row = db.execute("SELECT * FROM batches WHERE batch_date = ?", (date.isoformat(),)).fetchone()
            if row is not None:
                if row["status"] == "CLOSED":
                    raise ApiError("BATCH_CLOSED", f"the batch for {date.isoformat()} ({row['batch_id']}) is closed")
                return row
            batch_id = f"CR{date:%Y%m%d}"
            db.execute("INSERT INTO batches VALUES (?,?,?,?,NULL)", (batch_id, date.isoformat(), "OPEN", iso(utcnow())))
            return db.execute("SELECT * FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()

    def close_batch(self, batch_id: str) -> sqlite3.Row:
        with self._write() as db:
            row = db.execute("SELECT * FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
            if row is None:
                raise ApiError("NOT_FOUND", f"no batch {batch_id}")
            if row["status"] == "OPEN":
                db.execute("UPDATE batches SET status = 'CLOSED', closed_at = ? WHERE batch_id = ?",
                           (iso(utcnow()), batch_id))
            return db.execute("SELECT * FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()

    # ---- receipts
    def receipt_by_reference(self, reference: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM receipts WHERE reference = ?", reference)

    def receipt_by_number(self, number: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM receipts WHERE receipt_number = ?", number)

    def receipts_in(self, batch_id: str) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM receipts WHERE batch_id = ? ORDER BY number", batch_id)

    def create_receipt(self, *, reference: str, account: str, amount: Decimal, tender: str,
                       receipt_date: dt.date, batch_date: dt.date, payer_name: str | None, memo: str | None,
                       by: str) -> tuple[sqlite3.Row, bool]:
        reference = reference.strip()
        if not reference:
            raise ApiError("INVALID_INPUT", "reference is required (it makes create_receipt idempotent)")
        try:
            with self._write() as db:
                existing = db.execute("SELECT * FROM receipts WHERE reference = ?", (reference,)).fetchone()
                if existing is not None:
                    return existing, True
                if amount <= 0:
                    raise ApiError("INVALID_INPUT", f"amount must be positive, got {amount}")
                if db.execute("SELECT 1 FROM customers WHERE account_number = ?", (account,)).fetchone() is None:
                    raise ApiError("NOT_FOUND", f"no account {account}")
                batch = db.execute("SELECT * FROM batches WHERE batch_date = ?", (batch_date.isoformat(),)).fetchone()
                if batch is None:
                    raise ApiError("BATCH_NOT_OPEN", f"no batch is open for {batch_date.isoformat()}: open_batch first")
                if batch["status"] != "OPEN":
                    raise ApiError("BATCH_CLOSED", f"the batch for {batch_date.isoformat()} ({batch['batch_id']}) is "
                                   "closed: payments cannot be posted into a closed period")
                counter = int(db.execute("SELECT value FROM meta WHERE key = 'receipt_counter'").fetchone()[0]) + 1
                if counter > MAX_RECEIPT_NUMBER:
                    raise ApiError("MAX_RECEIPT_NUMBER", "Maximum receipt number reached")
                db.execute("UPDATE meta SET value = ? WHERE key = 'receipt_counter'", (str(counter),))
                number = f"{RECEIPT_GROUP}.{counter:05d}"
                db.execute(
                    "INSERT INTO receipts (receipt_number, number, reference, account_number, amount_cents, tender,"
                    " receipt_date, batch_id, payer_name, memo, status, created_at, created_by) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,'POSTED',?,?)",
                    (number, counter, reference, account, cents(amount), tender, receipt_date.isoformat(),
                     batch["batch_id"], payer_name, memo, iso(utcnow()), by))
                db.execute("UPDATE customers SET payments_cents = payments_cents + ? WHERE account_number = ?",
                           (cents(amount), account))
                return db.execute("SELECT * FROM receipts WHERE receipt_number = ?", (number,)).fetchone(), False
        except sqlite3.IntegrityError:
            # another process committed the same reference between our read and insert
            row = self.receipt_by_reference(reference)
            if row is None:
                raise
            return row, True

    def void_receipt(self, number: str, reason: str, by: str) -> tuple[sqlite3.Row, bool]:
        if not reason.strip():
            raise ApiError("INVALID_INPUT", "a void needs a reason (it is kept with the receipt)")
        with self._write() as db:
            row = db.execute("SELECT * FROM receipts WHERE receipt_number = ?", (number,)).fetchone()
            if row is None:
                raise ApiError("NOT_FOUND", f"no receipt {number}")
            if row["status"] == "VOIDED":
                return row, True
            if row["status"] == "REVERSED":
                raise ApiError("RECEIPT_REVERSED", f"receipt {number} was reversed by an ACH reject; it cannot be voided")
            batch = db.execute("SELECT * FROM batches WHERE batch_id = ?", (row["batch_id"],)).fetchone()
            if batch["status"] != "OPEN":
                raise ApiError("BATCH_CLOSED", f"receipt {number} is in closed batch {batch['batch_id']}: "
                               "a closed period cannot be changed (use an adjustment)")
            db.execute("UPDATE receipts SET status = 'VOIDED', voided_at = ?, voided_by = ?, void_reason = ? "
                       "WHERE receipt_number = ?", (iso(utcnow()), by, reason.strip(), number))
            db.execute("UPDATE customers SET payments_cents = payments_cents - ? WHERE account_number = ?",
                       (row["amount_cents"], row["account_number"]))
            return db.execute("SELECT * FROM receipts WHERE receipt_number = ?", (number,)).fetchone(), False

    def ach_reject(self, reference: str, return_code: str, reason: str, nsf_fee: Decimal | None,
                   by: str) -> tuple[sqlite3.Row, bool, sqlite3.Row | None]:
        code = return_code.strip().upper()
        if code != REFUND_CODE and not (len(code) == 3 and code[0] == "R" and code[1:].isdigit()):
            raise ApiError("INVALID_INPUT", f"{return_code!r} is not an ACH return code (R01, R02, ...) or RFD")
        if nsf_fee is not None and nsf_fee < 0:
            raise ApiError("INVALID_INPUT", "the NSF fee cannot be negative")
        with self._write() as db:
            row = db.execute("SELECT * FROM receipts WHERE reference = ?", (reference,)).fetchone()
            if row is None:
                raise ApiError("NOT_FOUND", f"no receipt with reference {reference}")
            if row["status"] == "REVERSED":
                adj = None
                if row["nsf_adjustment_id"]:
                    adj = db.execute("SELECT * FROM adjustments WHERE adjustment_id = ?",
                                     (row["nsf_adjustment_id"],)).fetchone()
                return row, True, adj
            if row["status"] == "VOIDED":
                raise ApiError("RECEIPT_VOIDED", f"receipt {row['receipt_number']} is void; nothing to reverse")
            # a returned paper check is reversed the same way; a card charge refunded after settlement (RFD) too
            if row["tender"] not in ("ACH", "CHECK") and not (row["tender"] == "CARD" and code == REFUND_CODE):
                raise ApiError("INVALID_INPUT",
                               f"receipt {row['receipt_number']} was paid by {row['tender']}, not ACH or check")
            db.execute("UPDATE customers SET payments_cents = payments_cents - ? WHERE account_number = ?",
                       (row["amount_cents"], row["account_number"]))
            adj = None
            if nsf_fee:
                adj = self.create_adjustment(row["account_number"], nsf_fee,
                                             f"NSF fee ({code}) receipt {row['receipt_number']}", by, db=db)
            db.execute("UPDATE receipts SET status = 'REVERSED', reversed_at = ?, reversed_by = ?, return_code = ?, "
                       "reversal_reason = ?, nsf_fee_cents = ?, nsf_adjustment_id = ? WHERE receipt_number = ?",
                       (iso(utcnow()), by, code, reason.strip() or code,
                        cents(nsf_fee) if nsf_fee else None, adj["adjustment_id"] if adj else None,
                        row["receipt_number"]))
            return db.execute("SELECT * FROM receipts WHERE receipt_number = ?",
                              (row["receipt_number"],)).fetchone(), False, adj


class _WriteTxn:
    """``with store._write() as db``: process-wide lock + BEGIN IMMEDIATE, commit or roll back."""

    def __init__(self, store: CaselleStore):
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        try:
            self.store._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise
        return self.store._db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.store._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.store._lock.release()


def _balance(row: sqlite3.Row) -> int:
    return row["seed_balance_cents"] - row["payments_cents"] + row["adjustments_cents"]


# --------------------------------------------------------------------------- report
def report(db_path: Path) -> dict[str, Any]:
    """What the stand-in holds: receipts per batch with counts and totals (read-only)."""
    db_path = Path(db_path)
    empty = {"receipts": 0, "voided": 0, "reversed": 0, "total": "0.00", "voided_total": "0.00",
             "references_posted_more_than_once": [], "batches": [], "adjustments_created": 0,
             "database": str(db_path)}
    if not db_path.exists():
        return empty
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "receipts" not in tables:
            return empty
        batches = []
        for b in db.execute("SELECT * FROM batches ORDER BY batch_date"):
            t = db.execute(
                "SELECT SUM(status != 'VOIDED') AS n, COALESCE(SUM(CASE WHEN status != 'VOIDED' THEN amount_cents END),"
                " 0) AS total, SUM(status = 'VOIDED') AS nv, COALESCE(SUM(CASE WHEN status = 'VOIDED' THEN "
                "amount_cents END), 0) AS vt, SUM(status = 'REVERSED') AS nr FROM receipts WHERE batch_id = ?",
                (b["batch_id"],)).fetchone()
            batches.append({"batch_id": b["batch_id"], "date": b["batch_date"], "status": b["status"],
                            "receipts": int(t["n"] or 0), "total": money_str(int(t["total"])),
                            "voided": int(t["nv"] or 0), "voided_total": money_str(int(t["vt"])),
                            "reversed": int(t["nr"] or 0)})
        t = db.execute(
            "SELECT SUM(status != 'VOIDED') AS n, COALESCE(SUM(CASE WHEN status != 'VOIDED' THEN amount_cents END), 0)"
            " AS total, SUM(status = 'VOIDED') AS nv, COALESCE(SUM(CASE WHEN status = 'VOIDED' THEN amount_cents END),"
            " 0) AS vt, SUM(status = 'REVERSED') AS nr FROM receipts").fetchone()
        # references are UNIQUE, so look for the same payment under references differing only in case/spaces
        dupes = [r[0] for r in db.execute(
            "SELECT LOWER(TRIM(reference)) AS k FROM receipts GROUP BY k HAVING COUNT(*) > 1 ORDER BY k")]
        created = db.execute("SELECT COUNT(*) FROM adjustments WHERE seeded = 0").fetchone()[0]
        return {"receipts": int(t["n"] or 0), "voided": int(t["nv"] or 0), "reversed": int(t["nr"] or 0),
                "total": money_str(int(t["total"])), "voided_total": money_str(int(t["vt"])),
                "references_posted_more_than_once": dupes, "batches": batches,
                "adjustments_created": int(created), "database": str(db_path)}
    finally:
        db.close()


# --------------------------------------------------------------------------- GraphQL
def _money_out(value: Any) -> str:
    if isinstance(value, int):
        return money_str(value)
    if isinstance(value, Decimal):
        return money_str(cents(value))
    if isinstance(value, str):
        return money_str(cents(parse_amount(value)))
    raise GraphQLError(f"Money cannot represent {value!r}")


def _money_in(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise GraphQLError(f"Money must be a string such as \"12.34\", got {value!r}")
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise GraphQLError(str(exc)) from exc


def _date_in(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise GraphQLError(f"Date must be \"YYYY-MM-DD\", got {value!r}") from exc


def _datetime_in(value: Any) -> dt.datetime:
    try:
        return parse_iso(value)
    except (TypeError, ValueError, AttributeError) as exc:
        raise GraphQLError(f"DateTime must be ISO 8601, got {value!r}") from exc


def _literal(parse: Callable[[Any], Any]):
    def parse_literal(node, _variables=None):
        if not isinstance(node, StringValueNode):
            raise GraphQLError("expected a string literal")
        return parse(node.value)
    return parse_literal


def load_schema() -> GraphQLSchema:
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    scalars = {
        "Money": (_money_out, _money_in),
        "Date": (lambda v: v.isoformat() if isinstance(v, dt.date) else str(v), _date_in),
        "DateTime": (lambda v: iso(v) if isinstance(v, dt.datetime) else str(v), _datetime_in),
    }
    for name, (out, parse_input) in scalars.items():
        t = schema.type_map[name]
        # graphql-core 3.3 reads coerce_*; the older names are kept in step for other callers
        t.serialize = t.coerce_output_value = out  # type: ignore[union-attr]
        t.parse_value = t.coerce_input_value = parse_input  # type: ignore[union-attr]
        t.parse_literal = t.coerce_input_literal = _literal(parse_input)  # type: ignore[union-attr]
    return schema


def _adjustment(row: sqlite3.Row) -> dict:
    return {"adjustmentId": row["adjustment_id"], "sequence": row["sequence"], "accountNumber": row["account_number"],
            "adjustedAt": row["adjusted_at"], "amount": row["amount_cents"], "reason": row["reason"],
            "balanceAfter": row["balance_after_cents"], "enteredBy": row["entered_by"]}


def _receipt(row: sqlite3.Row) -> dict:
    reversal = None
    if row["status"] == "REVERSED":
        reversal = {"returnCode": row["return_code"], "reason": row["reversal_reason"],
                    "reversedAt": row["reversed_at"], "reversedBy": row["reversed_by"],
                    "nsfFee": row["nsf_fee_cents"], "nsfAdjustmentId": row["nsf_adjustment_id"]}
    return {"receiptNumber": row["receipt_number"], "reference": row["reference"],
            "accountNumber": row["account_number"], "amount": row["amount_cents"], "tender": row["tender"],
            "receiptDate": row["receipt_date"], "batchId": row["batch_id"], "payerName": row["payer_name"],
            "memo": row["memo"], "status": row["status"], "createdAt": row["created_at"],
            "createdBy": row["created_by"], "voided": row["status"] == "VOIDED", "voidedAt": row["voided_at"],
            "voidedBy": row["voided_by"], "voidReason": row["void_reason"], "reversal": reversal}


class _Resolvers(conveyance.ConveyanceResolvers):
    """Root value for queries and mutations; field names are the schema's."""

    def __init__(self, server: CaselleServer):
        self.server = server
        self.store = server.store

    # ---- shaping
    def _customer(self, row: sqlite3.Row) -> dict:
        store = self.store
        account = row["account_number"]
        balance = _balance(row)
        amount_due = max(balance, 0)
        minimum = min(amount_due, max(row["seed_minimum_cents"] - row["payments_cents"], 0))
        if not row["partial_ok"]:
            minimum = amount_due
        return {
            "accountNumber": account, "name": row["name"], "sortName": row["sort_name"], "status": row["status"],
            "serviceAddress": row["service_address"],
            "mailingAddress": {"line1": row["mail1"], "line2": row["mail2"] or None, "city": row["mail_city"],
                               "state": row["mail_state"], "zip": row["mail_zip"]},
            "phone": row["phone"] or None, "email": row["email"] or None, "balance": balance,
            "amountDue": amount_due, "minimumDue": minimum, "invoiceNumber": row["invoice_number"],
            "billDate": row["bill_date"], "dueDate": row["due_date"], "billExpires": row["bill_expires"],
            "partialPaymentsAllowed": bool(row["partial_ok"]), "directPayStatus": row["direct_pay"],
            "autopay": row["direct_pay"] == demo.DIRECT_PAY_ACTIVE, "paperless": bool(row["paperless"]),
            "adjustments": lambda info: [_adjustment(a) for a in store.adjustments_for(account)],
            "usage": lambda info, months=24: [
                {"period": u["period"], "consumption": u["consumption"], "unit": u["unit"],
                 "billedAmount": u["billed_cents"]} for u in store.usage(account, months)],
        }

    def _batch(self, row: sqlite3.Row) -> dict:
        t = self.store.batch_totals(row["batch_id"])
        batch_id = row["batch_id"]
        return {"batchId": batch_id, "batchDate": row["batch_date"], "status": row["status"],
                "openedAt": row["opened_at"], "closedAt": row["closed_at"], "receiptCount": t["n"],
                "total": t["total"], "voidedCount": t["nv"], "voidedTotal": t["vtotal"],
                "reversedCount": t["nr"], "reversedTotal": t["rtotal"],
                "receipts": lambda info: [_receipt(r) for r in self.store.receipts_in(batch_id)]}

    def _require(self, feature: str) -> None:
        version = self.server.api_version
        if feature not in FEATURES.get(version, ()):
            need = next((v for v, f in FEATURES.items() if feature in f), "a later version")
            raise ApiError("NOT_SUPPORTED_IN_VERSION",
                           f"{feature} is not supported in this version ({version}); it needs {need}")

    @staticmethod
    def _who(info) -> str:
        return info.context["user"]

    # ---- queries
    def apiInfo(self, info):
        expires = info.context.get("token_expires_at")
        return {"version": self.server.api_version, "features": list(FEATURES[self.server.api_version]),
                "serverTime": iso(utcnow()), "tokenExpiresAt": expires, "sandbox": True}

    def utilitySearch(self, info, text, searchBy="ANY", first=50):
        total, rows = self.store.search(text, searchBy, first)
        return {"totalCount": total, "accounts": [
            {"accountNumber": r["account_number"], "name": r["name"], "serviceAddress": r["service_address"],
             "phone": r["phone"] or None, "balance": _balance(r), "status": r["status"]} for r in rows]}

    def customerDetail(self, info, accountNumber):
        row = self.store.customer_row(accountNumber.strip())
        return self._customer(row) if row is not None else None

    def customers(self, info, after=None, first=200):
        first = max(1, min(int(first), 1000))
        rows = self.store.customers_after(after or "", first + 1)
        total = self.store.customer_count()
        more = len(rows) > first
        rows = rows[:first]
        return {"totalCount": total, "nextCursor": rows[-1]["account_number"] if more and rows else None,
                "customers": [self._customer(r) for r in rows]}

    def adjustments(self, info, since=None, afterSequence=None, first=500):
        return [_adjustment(a) for a in self.store.adjustments_after(since, afterSequence, first)]

    def receipt(self, info, reference):
        row = self.store.receipt_by_reference(reference.strip())
        return _receipt(row) if row is not None else None

    def receiptByNumber(self, info, receiptNumber):
        row = self.store.receipt_by_number(receiptNumber.strip())
        return _receipt(row) if row is not None else None

    def receipts(self, info, batchId):
        return [_receipt(r) for r in self.store.receipts_in(batchId)]

    def batch(self, info, date):
        row = self.store.batch_by_date(date)
        return self._batch(row) if row is not None else None

    def batches(self, info, **kw):
        return [self._batch(r) for r in self.store.batches(kw.get("from"), kw.get("to"))]

    # ---- mutations
    def create_receipt(self, info, input):
        row, existing = self.store.create_receipt(
            reference=input["reference"], account=input["accountNumber"].strip(), amount=input["amount"],
            tender=input["tender"], receipt_date=input["receiptDate"],
            batch_date=input.get("batchDate") or input["receiptDate"], payer_name=input.get("payerName"),
            memo=input.get("memo"), by=self._who(info))
        return {"receipt": _receipt(row), "existing": existing}

    def void_receipt(self, info, receiptNumber, reason):
        row, already = self.store.void_receipt(receiptNumber.strip(), reason, self._who(info))
        return {"receipt": _receipt(row), "alreadyVoided": already}

    def open_batch(self, info, date):
        return self._batch(self.store.open_batch(date))

    def close_batch(self, info, batchId):
        return self._batch(self.store.close_batch(batchId))

    def set_direct_pay_status(self, info, accountNumber, status):
        self._require("set_direct_pay_status")
        self.store.set_direct_pay(accountNumber.strip(), status)
        return self._customer(self.store.customer_row(accountNumber.strip()))

    def update_customer(self, info, input):
        self._require("update_customer")
        account = input["accountNumber"].strip()
        self.store.update_customer(account, paperless=input.get("paperless"), phone=input.get("phone"),
                                   email=input.get("email"))
        return self._customer(self.store.customer_row(account))

    def ach_reject(self, info, reference, returnCode, reason, nsfFee=None):
        self._require("ach_reject")
        row, already, adj = self.store.ach_reject(reference.strip(), returnCode, reason, nsfFee, self._who(info))
        return {"receipt": _receipt(row), "alreadyReversed": already,
                "nsfAdjustment": _adjustment(adj) if adj is not None else None}

    def create_adjustment(self, info, accountNumber, amount, reason):
        return _adjustment(self.store.create_adjustment(accountNumber.strip(), amount, reason, self._who(info)))


# --------------------------------------------------------------------------- faults and HTTP
@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    drop_after_commit_rate: float = 0.0
    timeout_sleep_s: float = 35.0  # how long a "timeout" stalls before closing without an answer
    seed: int | None = None
    _rng: random.Random = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _injected: Counter = field(default_factory=Counter, repr=False, compare=False)

    def __post_init__(self):
        self.validate()
        self._rng = random.Random(self.seed)

    def validate(self) -> None:
        for name in ("error_rate", "timeout_rate", "drop_after_commit_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.error_rate + self.timeout_rate + self.drop_after_commit_rate > 1.0:
            raise ValueError("error, timeout and drop-after-commit rates add up to more than 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms cannot be negative")

    def roll(self) -> str | None:
        """None, "error", "timeout" or "drop" for the next request (seeded: repeatable)."""
        if not (self.error_rate or self.timeout_rate or self.drop_after_commit_rate):
            return None
        with self._lock:
            r = self._rng.random()
            fault = ("error" if r < self.error_rate else
                     "timeout" if r < self.error_rate + self.timeout_rate else
                     "drop" if r < self.error_rate + self.timeout_rate + self.drop_after_commit_rate else None)
            if fault:
                self._injected[fault] += 1
        return fault

    def injected(self) -> dict[str, int]:
        """How many faults of each kind were injected so far ("timeout": the stalls)."""
        with self._lock:
            return {k: self._injected.get(k, 0) for k in ("error", "timeout", "drop")}

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def update(self, **changes: Any) -> None:
        """Change settings at run time; all or nothing (an invalid mix changes nothing)."""
        current = self.as_dict()
        new = dict(current)
        for key, value in changes.items():
            if key not in current:
                raise ValueError(f"unknown fault setting {key!r}")
            if key == "seed":
                new[key] = None if value is None else int(value)
            else:
                new[key] = type(current[key])(value)
        Faults(**new)  # validates
        for key, value in new.items():
            setattr(self, key, value)
        if "seed" in changes:
            with self._lock:
                self._rng = random.Random(self.seed)


class CaselleServer:
    """The stand-in server. ``start()`` serves on a background thread; ``stop()`` ends it."""

    def __init__(self, data_dir: Path, *, host: str = "127.0.0.1", port: int = 0,
                 api_version: str = VERSION_2021_05, faults: Faults | None = None,
                 client_id: str = DEMO_CLIENT_ID, client_secret: str = DEMO_CLIENT_SECRET,
                 token_lifetime: dt.timedelta | None = DEFAULT_TOKEN_LIFETIME,
                 seed: int = demo.DEFAULT_SEED, count: int = demo.DEFAULT_COUNT):
        if api_version not in FEATURES:
            raise ValueError(f"unknown API version {api_version!r}; choose one of {', '.join(FEATURES)}")
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / DB_NAME
        self.store = CaselleStore(self.db_path, seed=seed, count=count)
        self.api_version = api_version
        self.faults = faults or Faults()
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.schema = load_schema()
        self.resolvers = _Resolvers(self)
        self._documents: dict[str, tuple[DocumentNode | None, list[GraphQLError]]] = {}
        self._documents_lock = threading.Lock()
        self._stopping = threading.Event()
        self._counter_lock = threading.Lock()
        self.graphql_requests = 0  # /graphql requests received (tests count retries with it)
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        host = self._httpd.server_address[0]
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + "/graphql"

    @property
    def token_url(self) -> str:
        return self.base_url + "/oauth/token"

    def start(self) -> CaselleServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="caselle-sandbox", daemon=True)
        self._thread.start()
        log.info("Caselle stand-in listening on %s (API %s)", self.url, self.api_version)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> CaselleServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def issue_token(self, lifetime: dt.timedelta | None = None) -> tuple[str, dt.datetime | None]:
        """A token for the demo client (tests and the embedded console use this)."""
        return self.store.issue_token(self.client_id, lifetime if lifetime is not None else self.token_lifetime)

    def _document(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """Parsed and validated once per distinct query text (clients send the same few)."""
        with self._documents_lock:
            hit = self._documents.get(query)
        if hit is not None:
            return hit
        try:
            doc = parse(query)
        except GraphQLError as exc:
            return None, [exc]
        errors = validate(self.schema, doc)
        entry = (None, list(errors)) if errors else (doc, [])
        with self._documents_lock:
            if len(self._documents) >= 512:
                self._documents.clear()
            self._documents[query] = entry
        return entry

    def execute(self, query: str, variables: dict | None, operation: str | None, context: dict) -> dict:
        doc, errors = self._document(query)
        if doc is None:
            return {"data": None, "errors": [e.formatted for e in errors]}
        result = execute_sync(self.schema, doc, root_value=self.resolvers, context_value=context,
                              variable_values=variables, operation_name=operation)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = []
            for e in result.errors:
                formatted = e.formatted
                if e.original_error is not None and not isinstance(e.original_error, GraphQLError):
                    # a bug or an I/O failure inside the stand-in, not a refusal: say so, log the detail
                    log.error("resolver failed", exc_info=e.original_error)
                    formatted = {**formatted, "message": "internal error in the Caselle stand-in",
                                 "extensions": {"code": "INTERNAL"}}
                body["errors"].append(formatted)
        return body


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # many concurrent clients (chaos and two-process tests)
    app: CaselleServer


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "CaselleConnectSandbox/1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # quiet: to the logger, never stderr
        log.debug("%s " + fmt, self.address_string(), *args)

    # ---- plumbing
    def _send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= 10_000_000:
            self.close_connection = True
            raise _BadRequest("Content-Length is missing or wrong")
        return self.rfile.read(length) if length else b""

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _auth(self) -> tuple[str, dict] | None:
        """The token's client and context, or None after answering 401."""
        app = self.server.app
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            self._unauthorized("UNAUTHENTICATED", "a bearer token is required (POST /oauth/token)")
            return None
        row = app.store.token(header[7:].strip())
        if row is None:
            self._unauthorized("UNAUTHENTICATED", "the bearer token is not valid")
            return None
        if row["expires_at"] and parse_iso(row["expires_at"]) <= utcnow():
            self._unauthorized("TOKEN_EXPIRED", f"the bearer token expired at {row['expires_at']}")
            return None
        user = self.headers.get("X-Caselle-User", "").strip()[:64] or row["client_id"]
        return row["client_id"], {"client_id": row["client_id"], "user": user, "token_expires_at": row["expires_at"]}

    def _unauthorized(self, code: str, message: str) -> None:
        self._send_json(401, {"errors": [{"message": message, "extensions": {"code": code}}]},
                        {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'})

    # ---- routes
    def do_GET(self):
        app = self.server.app
        path = urllib.parse.urlsplit(self.path).path
        if path == "/graphql":
            self._send_json(405, {"error": "use POST with a JSON body {query, variables}"}, {"Allow": "POST"})
        elif path == "/health":
            self._send_json(200, {"ok": True, "service": "caselle-sandbox", "version": app.api_version})
        elif path == "/sandbox/faults":
            if self._auth() is not None:
                self._send_json(200, app.faults.as_dict())
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self):
        try:
            raw = self._body()
        except _BadRequest as exc:
            return self._send_json(400, {"error": str(exc)})
        return self._post(raw)

    def _post(self, raw: bytes):
        app = self.server.app
        path = urllib.parse.urlsplit(self.path).path
        if path == "/oauth/token":
            return self._token(raw)
        if path == "/sandbox/faults":
            if self._auth() is None:
                return None
            try:
                app.faults.update(**json.loads(raw or b"{}"))
            except (ValueError, TypeError) as exc:
                return self._send_json(400, {"error": str(exc)})
            return self._send_json(200, app.faults.as_dict())
        if path != "/graphql":
            return self._send_json(404, {"error": "not found"})
        auth = self._auth()
        if auth is None:
            return None
        _, context = auth
        with app._counter_lock:
            app.graphql_requests += 1
        faults = app.faults
        if faults.latency_ms:
            app._stopping.wait(faults.latency_ms / 1000)
        fault = faults.roll()
        if fault:
            log.info("fault: %s", {"error": "HTTP 503", "timeout": "stall, no answer", "drop": "commit then drop"}[fault])
        if fault == "error":
            data = b"503 Service Unavailable (sandbox fault injection)"
            self.send_response(503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        if fault == "timeout":
            app._stopping.wait(faults.timeout_sleep_s)
            return self._drop()
        try:
            request = json.loads(raw)
            query = request["query"]
        except (ValueError, KeyError, TypeError):
            return self._send_json(400, {"errors": [{"message": "body must be JSON with a 'query'",
                                                     "extensions": {"code": "INVALID_INPUT"}}]})
        try:
            body = app.execute(query, request.get("variables"), request.get("operationName"), context)
        except Exception:  # noqa: BLE001 - e.g. the database stayed locked: answer 500, keep serving
            log.exception("Caselle stand-in failed on a request")
            return self._send_json(500, {"errors": [{"message": "internal error in the Caselle stand-in",
                                                     "extensions": {"code": "INTERNAL"}}]})
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s%s", context["user"], request.get("operationName") or _operation_name(query),
                     f" -> {body['errors'][0].get('extensions', {}).get('code', 'ERROR')}" if body.get("errors") else "")
        if fault == "drop":
            log.info("fault: committed, then dropped the connection")
            return self._drop()  # committed, but the client never hears about it
        return self._send_json(200, body)

    def _token(self, raw: bytes) -> None:
        app = self.server.app
        ctype = self.headers.get("Content-Type", "")
        try:
            if "json" in ctype:
                fields = {k: str(v) for k, v in json.loads(raw or b"{}").items()}
            else:
                fields = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
        except (ValueError, UnicodeDecodeError):
            return self._send_json(400, {"error": "invalid_request"})
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            try:
                cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
                fields.setdefault("client_id", cid)
                fields.setdefault("client_secret", secret)
            except (ValueError, UnicodeDecodeError):
                return self._send_json(400, {"error": "invalid_request"})
        if fields.get("grant_type", "client_credentials") != "client_credentials":
            return self._send_json(400, {"error": "unsupported_grant_type"})
        if fields.get("client_id") != app.client_id or not pysecrets.compare_digest(
                fields.get("client_secret", ""), app.client_secret):
            return self._send_json(401, {"error": "invalid_client",
                                         "error_description": "client id or secret is wrong"})
        lifetime = app.token_lifetime
        if "expires_in" in fields:  # sandbox only: ask for a short-lived or already-expired token
            try:
                lifetime = dt.timedelta(seconds=int(fields["expires_in"]))
            except ValueError:
                return self._send_json(400, {"error": "invalid_request", "error_description": "expires_in"})
        token, expires = app.store.issue_token(app.client_id, lifetime)
        body = {"access_token": token, "token_type": "Bearer"}
        if expires is not None:
            body["expires_in"] = int((expires - utcnow()).total_seconds())
            body["expires_at"] = iso(expires)
        return self._send_json(200, body)


# --------------------------------------------------------------------------- runner part
def start(ctx) -> Any:
    """Runner part: start the stand-in for a :class:`console.sandbox.runner.SandboxContext`."""
    from console.sandbox.runner import RunningPart

    o = ctx.options
    faults = Faults(latency_ms=o.latency_ms, error_rate=o.error_rate, timeout_rate=o.timeout_rate,
                    drop_after_commit_rate=o.drop_after_commit_rate, seed=o.seed,
                    timeout_sleep_s=getattr(o, "timeout_sleep_s", 35.0))
    lifetime_s = getattr(o, "token_lifetime_s", None)
    lifetime = DEFAULT_TOKEN_LIFETIME if lifetime_s is None else dt.timedelta(seconds=lifetime_s)
    server = CaselleServer(ctx.data_dir, host=o.host, port=ctx.port_for(0), api_version=o.api_version,
                           faults=faults, token_lifetime=lifetime).start()
    return RunningPart(
        name="caselle",
        urls={"caselle_url": server.url, "caselle_token_url": server.token_url},
        info={"caselle_client_id": server.client_id, "caselle_client_secret": server.client_secret,
              "caselle_api_version": server.api_version},
        stop=server.stop,
        handle=server,
    )
