"""Sandbox card gateway: Invoice Cloud's card processor played by the IC stand-in — SANDBOX ONLY.

Routes (added to :mod:`console.sandbox.invoicecloud_server`'s table when this module is
imported; the IC part's ``start`` imports it; every route needs the web-service key header):

- ``POST /api/v1/gateway/authorize`` ``{"idempotency_key", "amount", "account", "operator",
  "card": {"encrypted_frame", "ksn", "masked_pan", "last4", "brand", …}}`` → the transaction
  (approved or declined, HTTP 200), 400 bad request, 409 key reused for another request,
  422 card data unreadable, 503 (test rule .05);
- ``GET /api/v1/gateway/transactions?idempotency_key=K`` → the transaction under ``K`` or 404;
- ``GET /api/v1/gateway/transactions/<id>`` → the transaction or 404;
- ``POST /api/v1/gateway/transactions/<id>/void`` ``{"idempotency_key", "reason"}`` → the void
  (idempotent: a second void answers ``already_voided``); 409 for a declined transaction;
- ``GET|POST /sandbox/gateway`` → read / change the sandbox settings (``stall_s``) and counts.

What it checks, like a processor: the frame parses (IDTech SRED) and its KSN is the one sent;
the KSN was not used before under another key (a replayed read is declined); the tracks
decrypt with the **public ANSI test BDK** (``dukpt.decrypt_tracks``); the PAN passes Luhn and
ends in the masked last 4; the card is not expired.

Test rules, by the amount's cents (so every path of the console can be exercised):

=======  ==============================================================================
cents    outcome
=======  ==============================================================================
``.01``  declined "Do not honor" (code 05)
``.02``  **approved and committed, then the answer is lost**: the handler stalls ``stall_s``
         (default 35 s) before answering, so the client times out — ask by key to learn it
``.03``  declined "Expired card" (code 54)
``.04``  declined "Insufficient funds" (code 51)
``.05``  HTTP 503 before anything is committed (the gateway is failing; nothing charged)
other    approved (unless a check above declines it)
=======  ==============================================================================

Idempotency: a second authorize with the same key and the same request (amount, KSN) answers
the first result — approved or declined — and charges nothing more; the same key with another
request is refused (409).

Card data: the clear tracks exist only in local variables of :func:`_check_card`; they are
never logged, stored or returned. Transactions keep the masked PAN, last 4, brand and KSN.
The transactions live in memory (a sandbox restart forgets them).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from console.devices.sred import SwipeRejected, brand_of, parse_frame
from console.sandbox import dukpt
from console.sandbox.invoicecloud_server import (
    HttpError,
    InvoiceCloudServer,
    Request,
    Response,
    extra_rows,
    route,
)

BASE = r"/api/v1/gateway"
MAX_AMOUNT = Decimal("99999.99")
DEFAULT_STALL_S = 35.0
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # ids carry no long digit runs (never mistaken for a PAN)

#: cents -> (reason code, reason) for the decline test rules
DECLINE_RULES = {1: ("05", "Do not honor"), 3: ("54", "Expired card"), 4: ("51", "Insufficient funds")}
TIMEOUT_CENTS = 2
UNAVAILABLE_CENTS = 5


@dataclass
class Transaction:
    transaction_id: str
    idempotency_key: str
    status: str  # approved | declined
    amount: str
    ksn: str
    account: str
    operator: str
    created_at: str
    auth_code: str = ""
    masked_pan: str = ""
    last4: str = ""
    brand: str = ""
    reason: str = ""
    reason_code: str = ""
    voided: bool = False
    voided_at: str = ""
    void_key: str = ""
    void_reason: str = ""
    refunded: str = "0.00"  # the amount refunded after settlement

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("void_key",)}


class GatewayStore:
    """The sandbox gateway's transactions (one per IC server), thread-safe."""

    def __init__(self, stall_s: float = DEFAULT_STALL_S):
        self.lock = threading.Lock()
        self.by_key: dict[str, Transaction] = {}
        self.by_id: dict[str, Transaction] = {}
        self.ksn_keys: dict[str, str] = {}
        self.refunds: dict[str, dict[str, Any]] = {}  # idempotency key -> the refund
        self.stall_s = stall_s
        self.authorize_calls = 0

    def new_id(self) -> str:
        while True:
            tid = f"GW{dt.date.today():%y%m%d}-" + "".join(secrets.choice(_LETTERS) for _ in range(8))
            if tid not in self.by_id:
                return tid

    def counts(self) -> dict[str, int]:
        with self.lock:
            approved = [t for t in self.by_id.values() if t.status == "approved"]
            return {"transactions": len(self.by_id), "approved": len(approved),
                    "declined": len(self.by_id) - len(approved), "voided": sum(t.voided for t in approved),
                    "authorize_calls": self.authorize_calls}


_STORES_LOCK = threading.Lock()


def store_of(server: InvoiceCloudServer | None) -> GatewayStore:
    """The gateway store of an IC server (created on first use)."""
    if server is None:
        raise HttpError(500, "no server")
    with _STORES_LOCK:
        store = getattr(server, "gateway_store", None)
        if store is None:
            store = GatewayStore()
            server.gateway_store = store  # type: ignore[attr-defined]
        return store


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _amount(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise HttpError(400, "amount must be a decimal amount such as 12.50") from None
    if value != value.quantize(Decimal("0.01")) or value <= 0 or value > MAX_AMOUNT:
        raise HttpError(400, f"amount must be between 0.01 and {MAX_AMOUNT} with at most two decimals")
    return value.quantize(Decimal("0.01"))


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _check_card(card_obj, last4: str | None) -> tuple[str | None, str, str, str]:
    """Decrypt and check one card read. Returns (decline reason code or None, reason, masked
    PAN, brand). The clear tracks live only in this function's locals."""
    try:
        track1, track2 = dukpt.decrypt_tracks(card_obj)
    except Exception:  # noqa: BLE001 - any failure is "cannot decrypt"; nothing of it is reported
        return "DK", "Card data could not be decrypted", "", ""
    pan, expiry = "", ""
    try:
        if card_obj.format == "keyed":
            parts = (track2 or "").split("=")
            pan, expiry = parts[0], (parts[1] if len(parts) > 1 else "")
        elif track2:
            body = track2.lstrip(";")
            pan, _, rest = body.partition("=")
            expiry = rest[:4]
        elif track1:
            body = track1.lstrip("%")[1:]
            pan, _, rest = body.partition("^")
            expiry = rest.partition("^")[2][:4]
    except Exception:  # noqa: BLE001
        pan, expiry = "", ""
    finally:
        track1 = track2 = None  # noqa: F841 - drop the clear tracks as soon as possible
    try:
        if not (pan.isdigit() and 12 <= len(pan) <= 19) or not _luhn_ok(pan):
            return "14", "Invalid card number", "", ""
        if last4 and pan[-4:] != last4:
            return "14", "Card data does not match the read (last 4 digits)", "", ""
        masked = pan[:4] + "*" * (len(pan) - 8) + pan[-4:]
        brand = brand_of(pan[:6]) or ""
        if not (len(expiry) == 4 and expiry.isdigit()):
            return "54", "Expiry date unreadable", masked, brand
        yy, mm = int(expiry[:2]), int(expiry[2:])
        today = dt.date.today()
        if not 1 <= mm <= 12 or (2000 + yy, mm) < (today.year, today.month):
            return "54", "Expired card", masked, brand
        return None, "", masked, brand
    finally:
        pan = expiry = ""  # noqa: F841


@route("POST", BASE + r"/authorize")
def _authorize(req: Request) -> Response:
    store = store_of(req.server)
    body = req.json()
    if not isinstance(body, dict):
        raise HttpError(400, "the body must be a JSON object")
    key = str(body.get("idempotency_key") or "")
    if not 8 <= len(key) <= 100 or not key.isprintable():
        raise HttpError(400, "idempotency_key must be 8 to 100 printable characters")
    amount = _amount(body.get("amount"))
    card = body.get("card") if isinstance(body.get("card"), dict) else {}
    ksn = str(card.get("ksn") or "").upper()
    with store.lock:
        store.authorize_calls += 1
        existing = store.by_key.get(key)
    if existing is not None:
        if existing.amount != str(amount) or existing.ksn != ksn:
            return Response.json({"error": "this idempotency key was used for another request",
                                  "code": "idempotency_conflict"}, 409)
        return Response.json(existing.public())
    cents = int((amount * 100) % 100)
    if cents == UNAVAILABLE_CENTS:
        return Response.json({"error": "the processor is unavailable (sandbox rule .05)", "code": "unavailable"}, 503)
    frame = card.get("encrypted_frame")
    if not isinstance(frame, str) or not frame:
        raise HttpError(400, "card.encrypted_frame is missing")
    try:
        read = parse_frame(frame)
    except SwipeRejected as exc:
        return Response.json({"error": f"the card data is not a valid SRED read ({exc.check})",
                              "code": "bad_card_data"}, 422)
    finally:
        frame = None
    if read.ksn != ksn:
        return Response.json({"error": "the KSN does not match the encrypted frame", "code": "ksn_mismatch"}, 422)
    code, reason, masked, brand = _check_card(read, str(card.get("last4") or "") or None)
    read = None
    with store.lock:
        if key in store.by_key:  # a concurrent twin won the race: answer its result
            return Response.json(store.by_key[key].public())
        first_key = store.ksn_keys.get(ksn)
        if code is None and first_key is not None and first_key != key:
            code, reason = "DU", "Card read already used (duplicate KSN): swipe the card again"
        if code is None and cents in DECLINE_RULES:
            code, reason = DECLINE_RULES[cents]
        txn = Transaction(transaction_id=store.new_id(), idempotency_key=key,
                          status="declined" if code else "approved", amount=str(amount), ksn=ksn,
                          account=str(body.get("account") or "")[:40], operator=str(body.get("operator") or "")[:40],
                          created_at=_now(), masked_pan=masked or str(card.get("masked_pan") or ""),
                          last4=masked[-4:] if masked else str(card.get("last4") or ""),
                          brand=brand or str(card.get("brand") or ""), reason=reason, reason_code=code or "")
        if not code:
            txn.auth_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        store.by_key[key] = txn
        store.by_id[txn.transaction_id] = txn
        store.ksn_keys.setdefault(ksn, key)
        stall = store.stall_s if (cents == TIMEOUT_CENTS and not code) else 0.0
    if stall:
        time.sleep(stall)  # committed; the client gives up before this answer arrives
    return Response.json(txn.public())


@route("GET", BASE + r"/transactions")
def _find(req: Request) -> Response:
    store = store_of(req.server)
    key = req.query.get("idempotency_key", "")
    if not key:
        raise HttpError(400, "idempotency_key is required")
    with store.lock:
        txn = store.by_key.get(key)
    if txn is None:
        return Response.json({"error": "no transaction under this key", "code": "not_found"}, 404)
    return Response.json(txn.public())


@route("GET", BASE + r"/transactions/(?P<tid>[A-Za-z0-9-]{1,40})")
def _transaction(req: Request) -> Response:
    store = store_of(req.server)
    with store.lock:
        txn = store.by_id.get(req.match["tid"])
    if txn is None:
        return Response.json({"error": "no such transaction", "code": "not_found"}, 404)
    return Response.json(txn.public())


@route("POST", BASE + r"/transactions/(?P<tid>[A-Za-z0-9-]{1,40})/void")
def _void(req: Request) -> Response:
    store = store_of(req.server)
    body = req.json()
    key = str((body or {}).get("idempotency_key") or "") if isinstance(body, dict) else ""
    if not 8 <= len(key) <= 100:
        raise HttpError(400, "idempotency_key must be 8 to 100 characters")
    with store.lock:
        txn = store.by_id.get(req.match["tid"])
        if txn is None:
            return Response.json({"error": "no such transaction", "code": "not_found"}, 404)
        if txn.status != "approved":
            return Response.json({"error": "only an approved transaction can be voided", "code": "not_approved"}, 409)
        already = txn.voided
        if not already:
            txn.voided, txn.voided_at, txn.void_key = True, _now(), key
            txn.void_reason = str(body.get("reason") or "")[:200]
    return Response.json({"transaction_id": txn.transaction_id, "voided": True, "already_voided": already,
                          "voided_at": txn.voided_at})


@route("POST", BASE + r"/transactions/(?P<tid>[A-Za-z0-9-]{1,40})/refund")
def _refund(req: Request) -> Response:
    """A refund of a settled charge (a void is for the same day). Idempotent by key: the same key
    answers the first refund; another request under a used key is refused (409)."""
    store = store_of(req.server)
    body = req.json() if isinstance(req.json(), dict) else {}
    key = str(body.get("idempotency_key") or "")
    if not 8 <= len(key) <= 100:
        raise HttpError(400, "idempotency_key must be 8 to 100 characters")
    amount = _amount(body.get("amount"))
    with store.lock:
        known = store.refunds.get(key)
        if known is not None:
            if known["transaction_id"] != req.match["tid"] or known["amount"] != str(amount):
                return Response.json({"error": "this key was used for another refund", "code": "key_reused"}, 409)
            return Response.json(known)
        txn = store.by_id.get(req.match["tid"])
        if txn is None:
            return Response.json({"error": "no such transaction", "code": "not_found"}, 404)
        if txn.status != "approved" or txn.voided:
            return Response.json({"error": "only an approved, unvoided charge can be refunded",
                                  "code": "not_refundable"}, 409)
        if Decimal(txn.refunded) + amount > Decimal(txn.amount):
            return Response.json({"error": f"refunds would exceed the charge of {txn.amount}",
                                  "code": "over_refund"}, 409)
        txn.refunded = str(Decimal(txn.refunded) + amount)
        refund = {"refund_id": "RF" + store.new_id()[2:], "transaction_id": txn.transaction_id, "amount": str(amount),
                  "idempotency_key": key, "reason": str(body.get("reason") or "")[:200], "refunded_at": _now()}
        store.refunds[key] = refund
    return Response.json(refund)


@route("GET", BASE + r"/refunds")
def _find_refund(req: Request) -> Response:
    store = store_of(req.server)
    with store.lock:
        refund = store.refunds.get(req.query.get("idempotency_key", ""))
    if refund is None:
        return Response.json({"error": "no refund under this key", "code": "not_found"}, 404)
    return Response.json(refund)


@route("GET", r"/sandbox/gateway")
def _settings(req: Request) -> Response:
    store = store_of(req.server)
    return Response.json({"stall_s": store.stall_s, **store.counts()})


@route("POST", r"/sandbox/gateway")
def _change_settings(req: Request) -> Response:
    store = store_of(req.server)
    body = req.json()
    if isinstance(body, dict) and "stall_s" in body:
        try:
            value = float(body["stall_s"])
        except (TypeError, ValueError):
            raise HttpError(400, "stall_s must be a number of seconds") from None
        if not 0 <= value <= 600:
            raise HttpError(400, "stall_s must be between 0 and 600")
        store.stall_s = value
    return Response.json({"stall_s": store.stall_s, **store.counts()})


@extra_rows("payments")
def counter_payment_rows(server) -> list[dict]:
    """The counter's card payments in Invoice Cloud's payment export (in-person swipes go through
    Invoice Cloud's biller portal): PaymentId is the gateway's transaction ID, so the console
    recognises them as taken at the counter and never posts a second receipt."""
    from console.sandbox.exports import UTILITY_INVOICE_TYPE

    store = store_of(server)
    with store.lock:
        approved = [t for t in store.by_id.values() if t.status == "approved"]
    rows = []
    for t in approved:
        at = dt.datetime.fromisoformat(t.created_at)
        rows.append({"PaymentId": t.transaction_id, "ConfirmationNumber": t.auth_code or t.transaction_id,
                     "AccountNumber": t.account, "InvoiceNumber": "", "InvoiceType": UTILITY_INVOICE_TYPE,
                     "PayerName": "", "Tender": "CARD", "CardLast4": t.last4, "Amount": Decimal(t.amount),
                     "ConvenienceFee": Decimal("0.00"), "PaymentDate": at.replace(tzinfo=None),
                     "SettlementDate": at.date() + dt.timedelta(days=1),
                     "Status": "VOIDED" if t.voided else "APPROVED"})
    return rows
