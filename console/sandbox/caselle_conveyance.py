"""Caselle stand-in: conveyances (a property changing hands) — the account events the console reads.

When a property is sold, Caselle final-bills the old owner's account and opens the new
owner's at the same service location (the location number before the dash, the next occupant
sequence after it: ``100102-01`` → ``100102-02``). The stand-in records each as an **account
event** with a clock-independent ``sequence`` (the conveyance sync's watermark):

- ``FINAL_BILLED`` — an account was closed with a final bill (``relatedAccount``: the account
  opened after it at the location, when there is one);
- ``OPENED`` — a new account at a location (``relatedAccount``: the location's previous account).

GraphQL (``schema.graphql``): ``accountEvents(afterSequence, first)`` and the sandbox-only
mutation ``convey_account(accountNumber, newOwnerName)`` (what ``biller-console sandbox
--convey`` does). The seed has no events: its final-billed accounts moved out before the sandbox
began, so a first sync finds nothing until a conveyance is made.
"""

from __future__ import annotations

import sqlite3
from typing import Any

DDL = """
CREATE TABLE IF NOT EXISTS account_events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, account_number TEXT NOT NULL,
    location TEXT NOT NULL, occurred_at TEXT NOT NULL, name TEXT NOT NULL, related_account TEXT,
    entered_by TEXT NOT NULL
);
"""
TABLE = "account_events"
OPENED, FINAL_BILLED = "OPENED", "FINAL_BILLED"
MAX_NAME = 60


def location_of(account: str) -> str:
    return account.split("-", 1)[0]


def _sort_name(name: str) -> str:
    words = name.split()
    return f"{words[-1]}, {' '.join(words[:-1])}" if len(words) > 1 else name


def convey(store, account: str, new_owner: str, by: str) -> sqlite3.Row:
    """Final-bill ``account`` and open the new owner's account at its location, in one
    transaction. Returns the ``OPENED`` event (its ``account_number`` is the new account)."""
    from console.sandbox.caselle_server import ApiError, digits, fold, iso, utcnow

    name = " ".join(str(new_owner or "").split())
    if not name:
        raise ApiError("INVALID_INPUT", "a conveyance needs the new owner's name")
    if len(name) > MAX_NAME:
        raise ApiError("INVALID_INPUT", f"the new owner's name is longer than {MAX_NAME} characters")
    with store._write() as db:
        old = db.execute("SELECT * FROM customers WHERE account_number = ?", (account,)).fetchone()
        if old is None:
            raise ApiError("NOT_FOUND", f"no account {account}")
        if old["status"] != "ACTIVE":
            raise ApiError("INVALID_INPUT", f"account {account} is already final-billed")
        location = location_of(account)
        taken = [r[0] for r in db.execute("SELECT account_number FROM customers WHERE account_number LIKE ?",
                                          (location + "-%",))]
        seq = max(int(a.split("-", 1)[1]) for a in taken if a.split("-", 1)[1].isdigit()) + 1
        new = f"{location}-{seq:02d}"
        now = iso(utcnow())
        db.execute("UPDATE customers SET status = 'FINAL' WHERE account_number = ?",
                   (account,))
        db.execute(
            "INSERT INTO customers (account_number, name, sort_name, status, service_address, mail1, mail2, "
            "mail_city, mail_state, mail_zip, phone, email, invoice_number, bill_date, due_date, bill_expires, "
            "seed_balance_cents, seed_minimum_cents, partial_ok, direct_pay, paperless, name_fold, "
            "address_fold, phone_digits) VALUES (?,?,?,'ACTIVE',?,?,'',?,?,?,'','',NULL,NULL,NULL,NULL,0,0,?,"
            "'INACTIVE',0,?,?,?)",
            (new, name, _sort_name(name), old["service_address"], old["service_address"], old["mail_city"],
             old["mail_state"], old["mail_zip"], old["partial_ok"], fold(name + " " + _sort_name(name)),
             old["address_fold"], digits("")))
        db.execute(f"INSERT INTO {TABLE} (kind, account_number, location, occurred_at, name, related_account, "  # noqa: S608
                   "entered_by) VALUES (?,?,?,?,?,?,?)", (FINAL_BILLED, account, location, now, old["name"], new, by))
        cur = db.execute(f"INSERT INTO {TABLE} (kind, account_number, location, occurred_at, name, "  # noqa: S608
                         "related_account, entered_by) VALUES (?,?,?,?,?,?,?)",
                         (OPENED, new, location, now, name, account, by))
        return db.execute(f"SELECT * FROM {TABLE} WHERE sequence = ?", (cur.lastrowid,)).fetchone()  # noqa: S608


def events_after(store, after_sequence: int | None, first: int) -> list[sqlite3.Row]:
    first = max(1, min(int(first), 1000))
    return store._all(f"SELECT * FROM {TABLE} WHERE sequence > ? ORDER BY sequence LIMIT ?",  # noqa: S608
                      int(after_sequence or 0), first)


def event_out(row: sqlite3.Row) -> dict[str, Any]:
    return {"sequence": row["sequence"], "kind": row["kind"], "accountNumber": row["account_number"],
            "location": row["location"], "occurredAt": row["occurred_at"], "name": row["name"],
            "relatedAccount": row["related_account"]}


class ConveyanceResolvers:
    """Mixed into the stand-in's root resolvers (``self.store``, ``self._who``)."""

    def accountEvents(self, info, afterSequence=None, first=500):  # noqa: N802 - the schema's name
        return [event_out(r) for r in events_after(self.store, afterSequence, first)]

    def convey_account(self, info, accountNumber, newOwnerName):  # noqa: N803 - the schema's names
        return event_out(convey(self.store, accountNumber.strip(), newOwnerName, self._who(info)))


def report(store) -> dict[str, Any]:
    rows = store._all(f"SELECT * FROM {TABLE} WHERE kind = ? ORDER BY sequence", OPENED)  # noqa: S608
    return {"conveyances": [{"old_account": r["related_account"], "new_account": r["account_number"],
                             "new_owner": r["name"], "at": r["occurred_at"]} for r in rows]}
