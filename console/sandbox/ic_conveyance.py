"""Invoice Cloud stand-in: registrations and conveyances — SANDBOX ONLY.

When a property changes hands the old owner's Invoice Cloud registration, AutoPay and
paperless must not carry over to the new owner's bills. The console's conveyance sync sends one
conveyance per old account; this stand-in applies it:

- ``POST /api/v1/conveyances`` — body ``{"OldAccountNumber", "NewAccountNumber", "Location",
  "FinalBill": true, "ConveyedAt"}``, header ``Idempotency-Key`` (required). Turns AutoPay and
  paperless off for the old account, releases its registration and flags its bill final.
  Answers 201 with what it changed (``autopay_was``, ``paperless_was``, ``registered_was``); a
  second send with the same key and content is a no-op answering 200 with the FIRST result and
  ``"replayed": true``; the same key with other content is 409 ``IDEMPOTENCY_CONFLICT``; an old
  account Invoice Cloud does not know is 404 ``ACCOUNT_NOT_REGISTERED`` (nothing to release).
- ``GET /api/v1/conveyances/<key>`` — the stored conveyance (the reconciliation lookup) or 404.
- ``GET /api/v1/accounts/<account>/registration`` — registered, AutoPay, paperless, final bill.

Enrollment follows the demo generator (AutoPay = direct pay ACTIVE; registered = AutoPay or
paperless, the conversion file's rule) until a conveyance changes it. State lives in the
balance stand-in's database (``ic_balances.sqlite3``) and goes with its reseed; the same
fault injection applies. Each stored conveyance counts the sends that reached it (``sends``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from typing import Any

from console.sandbox import seed as demo
from console.sandbox.ic_balances import Refused, _guarded, store_of
from console.sandbox.invoicecloud_server import Request, Response, route

TABLES = ("ic_enrollments", "ic_conveyances")
DDL = """
CREATE TABLE IF NOT EXISTS ic_enrollments (
    account_number TEXT PRIMARY KEY, registered INTEGER NOT NULL, autopay INTEGER NOT NULL,
    paperless INTEGER NOT NULL, final_bill INTEGER NOT NULL DEFAULT 0, released_at TEXT
);
CREATE TABLE IF NOT EXISTS ic_conveyances (
    id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL UNIQUE, old_account TEXT NOT NULL,
    new_account TEXT NOT NULL, location TEXT NOT NULL, final_bill INTEGER NOT NULL, conveyed_at TEXT NOT NULL,
    autopay_was INTEGER NOT NULL, paperless_was INTEGER NOT NULL, registered_was INTEGER NOT NULL,
    received_at TEXT NOT NULL, content_hash TEXT NOT NULL, sends INTEGER NOT NULL DEFAULT 1
);
"""
BASE = r"/api/v1/conveyances"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _db(store) -> sqlite3.Connection:
    if not getattr(store, "_conveyance_ready", False):
        with store._lock:
            store._db.executescript(DDL)
        store._conveyance_ready = True
    return store._db


def _enrollment(db: sqlite3.Connection, account: str) -> sqlite3.Row | None:
    """The account's enrollment (first asked: from the demo data); None when IC does not know it."""
    row = db.execute("SELECT * FROM ic_enrollments WHERE account_number = ?", (account,)).fetchone()
    if row is not None:
        return row
    known = db.execute("SELECT registered FROM accounts WHERE account_number = ?", (account,)).fetchone()
    if known is None or not known["registered"]:
        return None
    try:
        c = demo.demo_customer(account)
    except KeyError:
        autopay = paperless = False
    else:
        autopay, paperless = c.autopay, bool(c.paperless)
    db.execute("INSERT INTO ic_enrollments (account_number, registered, autopay, paperless) VALUES (?,?,?,?)",
               (account, int(autopay or paperless), int(autopay), int(paperless)))
    return db.execute("SELECT * FROM ic_enrollments WHERE account_number = ?", (account,)).fetchone()


def registration(store, account: str) -> dict[str, Any]:
    with store._lock:
        row = _enrollment(_db(store), account)
    if row is None:
        raise Refused(404, "ACCOUNT_NOT_REGISTERED", f"account {account} is not registered in Invoice Cloud")
    return {"account_number": account, "registered": bool(row["registered"]), "autopay": bool(row["autopay"]),
            "paperless": bool(row["paperless"]), "final_bill": bool(row["final_bill"]),
            "released_at": row["released_at"]}


def _validated(body: Any, key: str | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Refused(400, "INVALID", "the body must be a JSON object")
    if not key:
        raise Refused(400, "INVALID", "the Idempotency-Key header is required")
    old = str(body.get("OldAccountNumber") or "").strip()
    if not old:
        raise Refused(400, "INVALID", "OldAccountNumber is required")
    if not isinstance(body.get("FinalBill", True), bool):
        raise Refused(400, "INVALID", "FinalBill must be true or false")
    return {"key": key, "old_account": old, "new_account": str(body.get("NewAccountNumber") or "").strip(),
            "location": str(body.get("Location") or "").strip(), "final_bill": bool(body.get("FinalBill", True)),
            "conveyed_at": str(body.get("ConveyedAt") or "").strip()}


def apply(store, body: Any, key: str | None) -> tuple[dict[str, Any], bool]:
    """Apply one conveyance. Returns (stored conveyance, replayed)."""
    row = _validated(body, key)
    digest = hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()
    with store._lock:
        db = _db(store)
        db.execute("BEGIN IMMEDIATE")
        try:
            old = db.execute("SELECT * FROM ic_conveyances WHERE idempotency_key = ?", (key,)).fetchone()
            if old is not None:
                if old["content_hash"] != digest:
                    raise Refused(409, "IDEMPOTENCY_CONFLICT", f"{key} was sent before with other content")
                db.execute("UPDATE ic_conveyances SET sends = sends + 1 WHERE id = ?", (old["id"],))
                stored = db.execute("SELECT * FROM ic_conveyances WHERE id = ?", (old["id"],)).fetchone()
                db.execute("COMMIT")
                return _public(stored), True
            was = _enrollment(db, row["old_account"])
            if was is None:
                raise Refused(404, "ACCOUNT_NOT_REGISTERED",
                              f"account {row['old_account']} is not registered in Invoice Cloud")
            now = _now()
            db.execute("UPDATE ic_enrollments SET registered = 0, autopay = 0, paperless = 0, final_bill = ?, "
                       "released_at = ? WHERE account_number = ?", (int(row["final_bill"]), now, row["old_account"]))
            db.execute(
                "INSERT INTO ic_conveyances (idempotency_key, old_account, new_account, location, final_bill, "
                "conveyed_at, autopay_was, paperless_was, registered_was, received_at, content_hash) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (key, row["old_account"], row["new_account"], row["location"], int(row["final_bill"]),
                 row["conveyed_at"], was["autopay"], was["paperless"], was["registered"], now, digest))
            stored = db.execute("SELECT * FROM ic_conveyances WHERE idempotency_key = ?", (key,)).fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return _public(stored), False


def find(store, key: str) -> dict[str, Any] | None:
    with store._lock:
        row = _db(store).execute("SELECT * FROM ic_conveyances WHERE idempotency_key = ?", (key,)).fetchone()
    return _public(row) if row is not None else None


def _public(row: sqlite3.Row) -> dict[str, Any]:
    return {"conveyance_id": f"CNV-{row['id']:08d}", "key": row["idempotency_key"],
            "old_account_number": row["old_account"], "new_account_number": row["new_account"],
            "location": row["location"], "final_bill": bool(row["final_bill"]), "conveyed_at": row["conveyed_at"],
            "autopay_was": bool(row["autopay_was"]), "paperless_was": bool(row["paperless_was"]),
            "registered_was": bool(row["registered_was"]), "received_at": row["received_at"], "sends": row["sends"]}


@route("POST", BASE)
@_guarded
def _post(req: Request) -> Response:
    try:
        body = json.loads(req.body or b"null")
    except ValueError:
        raise Refused(400, "INVALID", "the body is not JSON") from None
    key = next((v for k, v in req.headers.items() if k.lower() == "idempotency-key"), None)
    stored, replayed = apply(store_of(req.server), body, key)
    return Response.json({**stored, "replayed": replayed}, 200 if replayed else 201)


@route("GET", BASE + r"/(?P<key>[^/]+)")
@_guarded
def _get(req: Request) -> Response:
    from urllib.parse import unquote

    key = unquote(req.match.group("key"))  # type: ignore[union-attr]
    found = find(store_of(req.server), key)
    if found is None:
        raise Refused(404, "NOT_FOUND", f"no conveyance {key}")
    return Response.json(found)


@route("GET", r"/api/v1/accounts/(?P<account>[^/]+)/registration")
@_guarded
def _registration(req: Request) -> Response:
    return Response.json(registration(store_of(req.server), req.match.group("account")))  # type: ignore[union-attr]
