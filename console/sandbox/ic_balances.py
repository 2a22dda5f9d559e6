"""Sandbox Invoice Cloud balances: what the IC stand-in was sent by the account sync — SANDBOX ONLY.

Routes (added to :mod:`console.sandbox.invoicecloud_server`'s table when this module is
imported; the IC part's ``start`` imports it and calls :func:`attach`; every route needs the
web-service key header ``X-IC-WebServiceKey``):

- ``PUT|POST /api/v1/balances`` — one balance update, the ``ic-balance-v1`` row as JSON
  (``AdjustmentId, AccountNumber, InvoiceNumber, AdjustedAt`` (ISO 8601), ``AdjustmentAmount,
  BalanceDue, MinimumAmountDue, Reason``; amounts as strings). The idempotency key is the
  ``Idempotency-Key`` header (or the AdjustmentId when absent; both must agree).
  Answers 201 with the stored update; a second send with the same key and the same content
  is a no-op answering 200 with the FIRST result and ``"replayed": true``; the same key with
  other content is refused 409 ``IDEMPOTENCY_CONFLICT`` (nothing changes); an account Invoice
  Cloud does not know is refused 404 ``ACCOUNT_NOT_REGISTERED`` (nothing stored); a bad row
  400 ``INVALID``.
- ``GET /api/v1/balances/<adjustment_id>`` — the stored update (the reconciliation lookup) or
  404 ``NOT_FOUND``.
- ``GET /api/v1/balances?account=A`` — updates received (for one account), oldest first.
- ``GET /api/v1/accounts/<account>/balance`` — what Invoice Cloud shows for the account:
  the latest of its last invoice (dated its bill date) and the balance updates received,
  ordered by ``AdjustedAt`` (then AdjustmentId); 404 ``ACCOUNT_NOT_REGISTERED`` for an account
  it does not know.
- ``GET|POST /sandbox/balances/faults`` — read / change the fault injection while it runs.

Which accounts Invoice Cloud knows: every demo customer (:func:`console.sandbox.seed.demo_customers`)
except every 150th one (index 149, 299, 449, 599 of the default 600), deliberately "not
registered in Invoice Cloud" so that path can be exercised. With the default seed these are
``100713-01``, ``101304-01``, ``101905-01`` and ``102487-02`` (the last demo account), on any
day; :func:`not_registered_accounts` lists them for any seed.

Fault injection (per balance request, seeded, the Caselle stand-in's :class:`Faults`): added
latency; HTTP 503 before anything is done; a stall past the client's timeout, then the
connection closes (nothing done); commit-then-drop (the update is stored, the connection
closes without an answer). Started with the sandbox's options (``--latency-ms``,
``--error-rate``, ``--timeout-rate``, ``--drop-after-commit-rate``, ``--seed``).

State: ``<sandbox dir>/ic_balances.sqlite3`` (WAL), kept until ``biller-console sandbox
--reset`` or until the sandbox reseeds it with the Caselle stand-in's
(:mod:`console.sandbox.freshness`). Each stored update counts the sends that reached it (``sends``): exactly-once
tests check that no update was sent twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from console.sandbox import seed as demo
from console.sandbox.caselle_server import Faults
from console.sandbox.invoicecloud_server import DropConnection, InvoiceCloudServer, Request, Response, route

DB_NAME = "ic_balances.sqlite3"
NOT_REGISTERED_EVERY = 150
BASE = r"/api/v1/balances"
MAX_AMOUNT = Decimal("9999999.99")

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    account_number TEXT PRIMARY KEY, registered INTEGER NOT NULL, invoice_number TEXT NOT NULL,
    bill_date TEXT NOT NULL, balance_cents INTEGER NOT NULL, minimum_cents INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    id INTEGER PRIMARY KEY AUTOINCREMENT, adjustment_id TEXT NOT NULL UNIQUE, account_number TEXT NOT NULL,
    invoice_number TEXT NOT NULL, adjusted_at TEXT NOT NULL, amount_cents INTEGER NOT NULL,
    balance_cents INTEGER NOT NULL, minimum_cents INTEGER NOT NULL, reason TEXT NOT NULL,
    received_at TEXT NOT NULL, content_hash TEXT NOT NULL, sends INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS balances_account ON balances(account_number, adjusted_at, adjustment_id);
"""


def not_registered_accounts(count: int = demo.DEFAULT_COUNT, seed: int = demo.DEFAULT_SEED) -> list[str]:
    """The demo accounts the IC stand-in deliberately does not know."""
    return [c.account_number for i, c in enumerate(demo.demo_customers(count, seed))
            if i % NOT_REGISTERED_EVERY == NOT_REGISTERED_EVERY - 1]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cents(d: Decimal) -> int:
    return int((d * 100).to_integral_value())


def _money(c: int) -> str:
    sign = "-" if c < 0 else ""
    return f"{sign}{abs(c) // 100}.{abs(c) % 100:02d}"


def _utc(text: str) -> str:
    """An ISO 8601 timestamp as UTC ``YYYY-MM-DDTHH:MM:SSZ`` (naive = UTC)."""
    value = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return Response.json({"error": self.message, "code": self.code}, self.status)


class BalanceStore:
    """The stand-in's balances in one SQLite file; thread-safe."""

    def __init__(self, db_path: Path | str, *, count: int = demo.DEFAULT_COUNT, seed: int = demo.DEFAULT_SEED):
        self.db_path = str(db_path)
        if self.db_path != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._lock:
            self._db.executescript(_DDL)
            if self._db.execute("SELECT 1 FROM meta WHERE key = 'seeded_at'").fetchone() is None:
                self._seed(count, seed)

    def _seed(self, count: int, seed: int) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # the last invoices are those of the day the store is seeded (kept until reseeded or --reset)
            self._insert_seed(count, seed, demo.demo_today())
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def reseed(self, as_of: dt.date | None = None) -> None:
        """Seed the accounts again for ``as_of`` (default: today), with the stored seed and count;
        the balance updates received go with the old data. One transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
                count = int(stored.get("count", demo.DEFAULT_COUNT))
                seed = int(stored.get("seed", demo.DEFAULT_SEED))
                for table in ("balances", "accounts", "meta"):
                    self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
                for table in ("ic_enrollments", "ic_conveyances"):  # console.sandbox.ic_conveyance's state
                    self._db.execute(f"DROP TABLE IF EXISTS {table}")
                self._conveyance_ready = False
                self._insert_seed(count, seed, as_of or demo.demo_today())
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _insert_seed(self, count: int, seed: int, as_of: dt.date) -> None:
        unknown = set(not_registered_accounts(count, seed))
        rows = [(c.account_number, int(c.account_number not in unknown), c.invoice_number, c.bill_date.isoformat(),
                 _cents(c.balance), _cents(c.minimum_due)) for c in demo.demo_customers(count, seed, as_of)]
        self._db.executemany("INSERT OR IGNORE INTO accounts VALUES (?,?,?,?,?,?)", rows)
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             [("seed_version", str(demo.SEED_VERSION)), ("seed", str(seed)), ("count", str(count)),
                              ("as_of", as_of.isoformat()), ("seeded_at", _now())])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- reading
    def get(self, adjustment_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM balances WHERE adjustment_id = ?", (adjustment_id,)).fetchone()
        return _public(row) if row is not None else None

    def updates(self, account: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM balances", ()
        if account:
            sql, args = sql + " WHERE account_number = ?", (account,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [_public(r) for r in rows]

    def account(self, account: str) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute("SELECT * FROM accounts WHERE account_number = ?", (account,)).fetchone()

    def shown(self, account: str) -> dict:
        """What Invoice Cloud shows for ``account`` (Refused when it does not know it)."""
        acc = self.account(account)
        if acc is None or not acc["registered"]:
            raise Refused(404, "ACCOUNT_NOT_REGISTERED", f"account {account} is not registered in Invoice Cloud")
        with self._lock:
            latest = self._db.execute("SELECT * FROM balances WHERE account_number = ? "
                                      "ORDER BY adjusted_at DESC, adjustment_id DESC LIMIT 1", (account,)).fetchone()
            n = self._db.execute("SELECT COUNT(*) FROM balances WHERE account_number = ?", (account,)).fetchone()[0]
        invoice_at = f"{acc['bill_date']}T00:00:00Z"
        if latest is not None and latest["adjusted_at"] >= invoice_at:
            return {"account_number": account, "balance_due": _money(latest["balance_cents"]),
                    "minimum_amount_due": _money(latest["minimum_cents"]),
                    "invoice_number": latest["invoice_number"] or acc["invoice_number"], "source": "balance_update",
                    "adjustment_id": latest["adjustment_id"], "as_of": latest["adjusted_at"], "updates_received": n}
        return {"account_number": account, "balance_due": _money(acc["balance_cents"]),
                "minimum_amount_due": _money(acc["minimum_cents"]), "invoice_number": acc["invoice_number"],
                "source": "invoice", "adjustment_id": None, "as_of": invoice_at, "updates_received": n}

    # ---- the mutation
    def put(self, body: dict, key: str | None) -> tuple[dict, bool]:
        """Store one update. Returns (stored update, replayed)."""
        row = _validated(body)
        if key and key != row["adjustment_id"]:
            raise Refused(400, "INVALID", f"Idempotency-Key {key!r} differs from AdjustmentId {row['adjustment_id']!r}")
        digest = hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                old = self._db.execute("SELECT * FROM balances WHERE adjustment_id = ?",
                                       (row["adjustment_id"],)).fetchone()
                if old is not None:
                    if old["content_hash"] != digest:
                        raise Refused(409, "IDEMPOTENCY_CONFLICT",
                                      f"{row['adjustment_id']} was sent before with other content")
                    self._db.execute("UPDATE balances SET sends = sends + 1 WHERE id = ?", (old["id"],))
                    stored = self._db.execute("SELECT * FROM balances WHERE id = ?", (old["id"],)).fetchone()
                    self._db.execute("COMMIT")
                    return _public(stored), True
                acc = self._db.execute("SELECT registered FROM accounts WHERE account_number = ?",
                                       (row["account_number"],)).fetchone()
                if acc is None or not acc["registered"]:
                    raise Refused(404, "ACCOUNT_NOT_REGISTERED",
                                  f"account {row['account_number']} is not registered in Invoice Cloud")
                self._db.execute(
                    "INSERT INTO balances (adjustment_id, account_number, invoice_number, adjusted_at, amount_cents, "
                    "balance_cents, minimum_cents, reason, received_at, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (row["adjustment_id"], row["account_number"], row["invoice_number"], row["adjusted_at"],
                     row["amount_cents"], row["balance_cents"], row["minimum_cents"], row["reason"], _now(), digest))
                stored = self._db.execute("SELECT * FROM balances WHERE adjustment_id = ?",
                                          (row["adjustment_id"],)).fetchone()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return _public(stored), False

    def seed_updates(self, rows: list[dict]) -> None:
        """Tests and benchmarks: store many validated updates directly (no HTTP)."""
        with self._lock:
            for body in rows:
                self.put(body, None)


def _public(row: sqlite3.Row) -> dict:
    return {"balance_id": f"BAL-{row['id']:08d}", "adjustment_id": row["adjustment_id"],
            "account_number": row["account_number"], "invoice_number": row["invoice_number"],
            "adjusted_at": row["adjusted_at"], "adjustment_amount": _money(row["amount_cents"]),
            "balance_due": _money(row["balance_cents"]), "minimum_amount_due": _money(row["minimum_cents"]),
            "reason": row["reason"], "received_at": row["received_at"], "sends": row["sends"]}


def _field(body: dict, name: str) -> Any:
    if name in body:
        return body[name]
    folded = name.casefold()
    return next((v for k, v in body.items() if str(k).casefold() == folded), None)


def _amount(body: dict, name: str, *, required: bool = True) -> Decimal:
    raw = _field(body, name)
    if raw in (None, ""):
        if required:
            raise Refused(400, "INVALID", f"{name} is required")
        return Decimal("0.00")
    if isinstance(raw, float):
        raise Refused(400, "INVALID", f"{name} must be a decimal string such as \"12.50\", not a float")
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise Refused(400, "INVALID", f"{name} {raw!r} is not an amount") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")) or abs(value) > MAX_AMOUNT:
        raise Refused(400, "INVALID", f"{name} {raw!r} must have at most two decimals")
    return value.quantize(Decimal("0.01"))


def _validated(body: Any) -> dict:
    if not isinstance(body, dict):
        raise Refused(400, "INVALID", "the body must be a JSON object")
    adjustment_id = str(_field(body, "AdjustmentId") or "").strip()
    account = str(_field(body, "AccountNumber") or "").strip()
    if not adjustment_id:
        raise Refused(400, "INVALID", "AdjustmentId is required")
    if not account:
        raise Refused(400, "INVALID", "AccountNumber is required")
    try:
        adjusted_at = _utc(str(_field(body, "AdjustedAt") or ""))
    except ValueError:
        raise Refused(400, "INVALID", "AdjustedAt must be an ISO 8601 timestamp") from None
    amount = _amount(body, "AdjustmentAmount")
    balance = _amount(body, "BalanceDue")
    minimum = _amount(body, "MinimumAmountDue", required=False)
    if minimum < 0 or minimum > max(balance, Decimal("0.00")):
        raise Refused(400, "INVALID", f"MinimumAmountDue {minimum} must be between 0.00 and BalanceDue {balance}")
    return {"adjustment_id": adjustment_id, "account_number": account,
            "invoice_number": str(_field(body, "InvoiceNumber") or "").strip(), "adjusted_at": adjusted_at,
            "amount_cents": _cents(amount), "balance_cents": _cents(balance), "minimum_cents": _cents(minimum),
            "reason": str(_field(body, "Reason") or "").strip()}


# --------------------------------------------------------------------------- server wiring
_LOCK = threading.Lock()


def attach(server: InvoiceCloudServer, ctx=None) -> BalanceStore:
    """Give ``server`` its balance store (in ``ctx.data_dir``) and faults (from ``ctx.options``)."""
    with _LOCK:
        store = getattr(server, "balance_store", None)
        if store is None:
            path = Path(ctx.data_dir) / DB_NAME if ctx is not None else ":memory:"
            store = BalanceStore(path)
            server.balance_store = store  # type: ignore[attr-defined]
        o = getattr(ctx, "options", None)
        faults = Faults(latency_ms=getattr(o, "latency_ms", 0), error_rate=getattr(o, "error_rate", 0.0),
                        timeout_rate=getattr(o, "timeout_rate", 0.0),
                        drop_after_commit_rate=getattr(o, "drop_after_commit_rate", 0.0),
                        seed=getattr(o, "seed", None), timeout_sleep_s=getattr(o, "timeout_sleep_s", 35.0))
        server.balance_faults = faults  # type: ignore[attr-defined]
        server.balance_stopping = threading.Event()  # type: ignore[attr-defined]
        return store


def store_of(server: InvoiceCloudServer | None) -> BalanceStore:
    if server is None:
        raise RuntimeError("no server")
    store = getattr(server, "balance_store", None)
    return store if store is not None else attach(server)


def faults_of(server: InvoiceCloudServer) -> Faults:
    store_of(server)
    return server.balance_faults  # type: ignore[attr-defined]


def close(server: InvoiceCloudServer) -> None:
    stopping = getattr(server, "balance_stopping", None)
    if stopping is not None:
        stopping.set()
    store = getattr(server, "balance_store", None)
    if store is not None:
        store.close()


def _fault(req: Request) -> str | None:
    """Apply latency; return "drop" when the request must commit and then drop; raise for the others."""
    server = req.server
    faults = faults_of(server)
    stopping: threading.Event = server.balance_stopping  # type: ignore[union-attr]
    if faults.latency_ms:
        stopping.wait(faults.latency_ms / 1000)
    kind = faults.roll()
    if kind == "error":
        raise _Unavailable()
    if kind == "timeout":
        stopping.wait(faults.timeout_sleep_s)
        raise DropConnection()
    return kind


class _Unavailable(Exception):
    pass


def _guarded(handler):
    def run(req: Request) -> Response:
        try:
            drop = _fault(req)
            resp = handler(req)
        except _Unavailable:
            return Response.json({"error": "Invoice Cloud is unavailable (sandbox fault injection)",
                                  "code": "UNAVAILABLE"}, 503)
        except Refused as exc:
            return exc.response()
        if drop == "drop":
            raise DropConnection()  # committed, but the client never hears about it
        return resp
    return run


@route("PUT", BASE)
@route("POST", BASE)
@_guarded
def _put(req: Request) -> Response:
    try:
        body = json.loads(req.body or b"null")
    except ValueError:
        raise Refused(400, "INVALID", "the body is not JSON") from None
    key = next((v for k, v in req.headers.items() if k.lower() == "idempotency-key"), None)
    stored, replayed = store_of(req.server).put(body, key)
    return Response.json({**stored, "replayed": replayed}, 200 if replayed else 201)


@route("GET", BASE + r"/(?P<adjustment_id>[^/]+)")
@_guarded
def _get(req: Request) -> Response:
    adjustment_id = req.match.group("adjustment_id")  # type: ignore[union-attr]
    found = store_of(req.server).get(adjustment_id)
    if found is None:
        raise Refused(404, "NOT_FOUND", f"no balance update {adjustment_id}")
    return Response.json(found)


@route("GET", BASE)
@_guarded
def _list(req: Request) -> Response:
    updates = store_of(req.server).updates(req.query.get("account") or None)
    return Response.json({"count": len(updates), "updates": updates})


@route("GET", r"/api/v1/accounts/(?P<account>[^/]+)/balance")
@_guarded
def _shown(req: Request) -> Response:
    return Response.json(store_of(req.server).shown(req.match.group("account")))  # type: ignore[union-attr]


@route("GET", r"/sandbox/balances/faults")
def _faults_get(req: Request) -> Response:
    return Response.json(faults_of(req.server).as_dict())


@route("POST", r"/sandbox/balances/faults")
def _faults_set(req: Request) -> Response:
    try:
        faults_of(req.server).update(**req.json())
    except (ValueError, TypeError) as exc:
        return Response.json({"error": str(exc)}, 400)
    return Response.json(faults_of(req.server).as_dict())


# --------------------------------------------------------------------------- reports
def report(data_dir: Path) -> dict[str, Any]:
    """What the IC stand-in holds (read-only; works whether or not a sandbox runs)."""
    path = Path(data_dir) / DB_NAME
    out: dict[str, Any] = {"balance_updates": 0, "accounts_updated": 0, "sent_more_than_once": [],
                           "not_registered_accounts": not_registered_accounts(), "database": str(path)}
    if not path.exists():
        return out
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out["balance_updates"] = db.execute("SELECT COUNT(*) FROM balances").fetchone()[0]
        out["accounts_updated"] = db.execute("SELECT COUNT(DISTINCT account_number) FROM balances").fetchone()[0]
        out["sent_more_than_once"] = [r[0] for r in db.execute(
            "SELECT adjustment_id FROM balances WHERE sends > 1 ORDER BY id LIMIT 100")]
        stored = [r[0] for r in db.execute(
            "SELECT account_number FROM accounts WHERE registered = 0 ORDER BY account_number")]
        if stored:  # what the stand-in holds (the same as the generator's once the data is current)
            out["not_registered_accounts"] = stored
    finally:
        db.close()
    return out
