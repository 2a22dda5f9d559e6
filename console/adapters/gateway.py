"""Card gateway port (Invoice Cloud's card gateway): authorize, find by key, void.

requests; TLS verified; a timeout on every call. The web-service key travels in the
``X-IC-WebServiceKey`` header and never reaches a log.

What goes over the wire for a card: the reader's **encrypted frame** (opaque; it holds the
masked tracks, the encrypted blocks and the KSN) plus the masked fields a receipt needs
(masked PAN, last 4, brand, name, expiry when the reader shows it, KSN, reader serial). No
clear card data exists in the console to send. The frame is handed to :meth:`authorize`
inside the :class:`~console.devices.sred.SwipedCard` and is never kept here.

Exactly once: every authorize carries the caller's ``idempotency_key`` (the gateway answers a
repeated key with the first result). When :meth:`authorize` raises :class:`NetworkError` (a
timeout, a dropped connection) or a 5xx ``RemoteError`` with ``outcome_unknown``, the card may
have been charged: call :meth:`find` with the same key before anything else. ``find`` returns
the transaction, or ``None`` when the gateway definitely has none under that key.

Errors (console.errors): ``AuthError`` (key refused), ``NetworkError`` (no answer — outcome
unknown, or ``outcome_unknown = False`` when the connection was refused and nothing was sent),
``RemoteError`` (refused: ``code`` names the rule; 5xx: retryable, outcome unknown). A decline
is not an error: it is an :class:`Authorization` with ``approved = False`` and a reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from console.devices.sred import SwipedCard
from console.domain.money import money
from console.errors import AuthError, NetworkError, RemoteError

log = logging.getLogger(__name__)

SYSTEM = "card gateway"
KEY_HEADER = "X-IC-WebServiceKey"
BASE = "/api/v1/gateway"
APPROVED = "approved"
DECLINED = "declined"


class GatewayError(RemoteError):
    """The gateway refused a request (``code`` names its rule) or failed (5xx)."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False, outcome_unknown: bool = False,
                 hint: str | None = None):
        super().__init__(message, system=SYSTEM, retryable=retryable, hint=hint)
        self.code = code
        self.outcome_unknown = outcome_unknown


@dataclass(frozen=True)
class Authorization:
    """One gateway transaction as the console may keep it (masked fields only)."""

    status: str  # approved | declined
    idempotency_key: str
    amount: Decimal
    transaction_id: str = ""
    auth_code: str = ""
    masked_pan: str = ""
    last4: str = ""
    brand: str = ""
    reason: str = ""  # a decline's reason, for the cashier
    reason_code: str = ""  # a decline's code (e.g. "05", "54")
    voided: bool = False
    created_at: dt.datetime | None = None

    @property
    def approved(self) -> bool:
        return self.status == APPROVED


@dataclass(frozen=True)
class VoidResult:
    transaction_id: str
    voided: bool
    already_voided: bool = False
    voided_at: dt.datetime | None = None


@dataclass(frozen=True)
class Refund:
    refund_id: str
    transaction_id: str
    amount: Decimal
    refunded_at: dt.datetime | None = None


def _refund(data: dict) -> Refund:
    return Refund(str(data["refund_id"]), str(data["transaction_id"]), money(data["amount"]),
                  _parse_dt(data.get("refunded_at")))


def card_fields(card: SwipedCard) -> dict[str, Any]:
    """What is sent about a card: the opaque encrypted frame plus masked fields and KSN."""
    if card.payload is None:
        raise GatewayError("This card read carries no encrypted data: swipe the card again", code="no_payload")
    return {
        "encrypted_frame": card.payload.frame,  # opaque: masked tracks + encrypted blocks + KSN
        "ksn": card.ksn,
        "encryption": card.encryption,
        "format": card.format,
        "masked_pan": card.masked_pan,
        "last4": card.last4,
        "brand": card.brand,
        "name": card.name,
        "expiry": card.expiry,
        "serial": card.serial,
    }


class GatewayClient:
    """The card gateway over HTTPS (the sandbox's stand-in over HTTP on 127.0.0.1)."""

    def __init__(self, base_url: str, web_service_key: str, *, timeout: float = 30.0, connect_timeout: float = 5.0,
                 verify: bool = True):
        if not base_url:
            raise RemoteError("No card gateway URL is configured", system=SYSTEM,
                              hint="set it in Settings (Card gateway URL)")
        self.base_url = base_url.rstrip("/")
        self._key = web_service_key
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.verify = verify
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ calls
    def authorize(self, card: SwipedCard, amount: Decimal, idempotency_key: str, *, account: str = "",
                  operator: str = "") -> Authorization:
        """Charge ``amount`` to the swiped card. Approved or declined; raises when the outcome is
        unknown (then :meth:`find` by the same key before anything else)."""
        amount = money(amount)
        if amount <= 0:
            raise GatewayError("The amount must be more than zero", code="amount")
        body = {"idempotency_key": idempotency_key, "amount": str(amount), "currency": "USD",
                "account": account, "operator": operator, "card": card_fields(card)}
        data = self._call("POST", f"{BASE}/authorize", json=body, mutation=True, what="the authorization")
        return _authorization(data)

    def find(self, idempotency_key: str) -> Authorization | None:
        """The transaction the gateway holds under ``idempotency_key``, or None (it has none)."""
        data = self._call("GET", f"{BASE}/transactions", params={"idempotency_key": idempotency_key},
                          mutation=False, what="the transaction lookup", missing_ok=True)
        return _authorization(data) if data is not None else None

    def transaction(self, transaction_id: str) -> Authorization | None:
        data = self._call("GET", f"{BASE}/transactions/{transaction_id}", mutation=False,
                          what="the transaction lookup", missing_ok=True)
        return _authorization(data) if data is not None else None

    def void(self, transaction_id: str, idempotency_key: str, *, reason: str = "") -> VoidResult:
        """Void an approved transaction. Idempotent: voiding it again reports ``already_voided``."""
        data = self._call("POST", f"{BASE}/transactions/{transaction_id}/void",
                          json={"idempotency_key": idempotency_key, "reason": reason}, mutation=True,
                          what="the void")
        return VoidResult(data["transaction_id"], bool(data["voided"]), bool(data.get("already_voided")),
                          _parse_dt(data.get("voided_at")))

    def refund(self, transaction_id: str, idempotency_key: str, amount: Decimal, *, reason: str = "") -> Refund:
        """Refund (part of) a settled charge. Idempotent by key; when the answer is lost, ask
        :meth:`find_refund` by the same key before anything is sent again."""
        data = self._call("POST", f"{BASE}/transactions/{transaction_id}/refund",
                          json={"idempotency_key": idempotency_key, "amount": str(money(amount)), "reason": reason},
                          mutation=True, what="the refund")
        return _refund(data)

    def find_refund(self, idempotency_key: str) -> Refund | None:
        data = self._call("GET", f"{BASE}/refunds", params={"idempotency_key": idempotency_key}, mutation=False,
                          what="the refund lookup", missing_ok=True)
        return _refund(data) if data is not None else None

    def health(self) -> bool:
        try:
            resp = self._session.get(f"{self.base_url}/health", timeout=(self.connect_timeout, self.timeout),
                                     verify=self.verify)
        except requests.RequestException:
            return False
        return resp.status_code == 200

    # ------------------------------------------------------------------ HTTP
    def _call(self, method: str, path: str, *, json: Any = None, params: dict | None = None, mutation: bool,
              what: str, missing_ok: bool = False) -> Any:
        if not self._key:
            raise AuthError("No Invoice Cloud web-service key is stored", system=SYSTEM,
                            hint="enter it in Settings; it is kept in the keyring")
        url = f"{self.base_url}{path}"
        try:
            resp = self._session.request(method, url, json=json, params=params, headers={KEY_HEADER: self._key},
                                         timeout=(self.connect_timeout, self.timeout), verify=self.verify)
        except requests.ConnectionError as exc:
            # refused or a connect timeout: nothing reached the gateway; anything else may have
            refused = "refused" in str(exc).lower() or isinstance(exc, requests.exceptions.ConnectTimeout)
            unknown = mutation and not refused
            err = NetworkError(
                f"Cannot reach the card gateway at {self.base_url}" if not unknown
                else f"The connection to the card gateway dropped during {what}",
                system=SYSTEM,
                hint="the outcome is unknown: it is checked with the gateway before anything is sent again"
                if unknown else "check the network and the gateway URL")
            err.outcome_unknown = unknown  # type: ignore[attr-defined]
            raise err from None
        except requests.Timeout:
            err = NetworkError(f"The card gateway did not answer {what} within {self.timeout:g} s", system=SYSTEM,
                               hint="the outcome is unknown: it is checked with the gateway before anything is "
                                    "sent again" if mutation else "try again")
            err.outcome_unknown = mutation  # type: ignore[attr-defined]
            raise err from None
        except requests.RequestException as exc:  # a broken response (chunked, decoding…)
            err = NetworkError(f"The card gateway's answer to {what} was broken ({type(exc).__name__})",
                               system=SYSTEM)
            err.outcome_unknown = mutation  # type: ignore[attr-defined]
            raise err from None
        if resp.status_code in (401, 403):
            raise AuthError("The card gateway refused the web-service key", system=SYSTEM,
                            hint="check the Invoice Cloud key in Settings")
        if resp.status_code == 404 and missing_ok:
            return None
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code >= 500:
            raise GatewayError(f"The card gateway failed on {what} (HTTP {resp.status_code})", code="server",
                               retryable=True, outcome_unknown=mutation,
                               hint="the outcome is unknown: it is checked before anything is sent again"
                               if mutation else None)
        if resp.status_code >= 400:
            msg = (data.get("error") if isinstance(data, dict) else "") or f"HTTP {resp.status_code}"
            code = (data.get("code") if isinstance(data, dict) else "") or str(resp.status_code)
            raise GatewayError(f"The card gateway refused {what}: {msg}", code=code)
        if not isinstance(data, dict):
            raise GatewayError(f"The card gateway's answer to {what} was not understood", code="bad_answer",
                               outcome_unknown=mutation)
        return data


# --------------------------------------------------------------------------- mapping
def _parse_dt(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _authorization(d: dict) -> Authorization:
    try:
        return Authorization(
            status=str(d["status"]).lower(), idempotency_key=str(d["idempotency_key"]),
            amount=money(str(d["amount"])), transaction_id=str(d.get("transaction_id") or ""),
            auth_code=str(d.get("auth_code") or ""), masked_pan=str(d.get("masked_pan") or ""),
            last4=str(d.get("last4") or ""), brand=str(d.get("brand") or ""), reason=str(d.get("reason") or ""),
            reason_code=str(d.get("reason_code") or ""), voided=bool(d.get("voided")),
            created_at=_parse_dt(d.get("created_at")))
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise GatewayError("The card gateway's answer was not understood", code="bad_answer",
                           outcome_unknown=True) from exc


def gateway_from_services(services) -> GatewayClient:
    """The gateway for a profile: the sandbox's stand-in in training, else the profile's URL;
    the key from the keyring (the sandbox's demo key in training)."""
    from console.secrets import IC_WEB_SERVICE_KEY

    ep = services.endpoints
    url = ep.get("ic_gateway_url") or ""
    if not url and services.profile.is_sandbox:
        url = ep.get("ic_api_url") or ""  # the stand-in serves the gateway beside the data API
    if not url and not services.profile.is_sandbox:
        url = services.profile.get("invoicecloud_gateway_url") or ""  # never guessed from another URL
    key = services.secrets.get(IC_WEB_SERVICE_KEY) or ep.get("ic_web_service_key") or ""
    timeout = float(services.overrides.get("gateway_timeout", 30))
    return GatewayClient(url, key, timeout=timeout)
