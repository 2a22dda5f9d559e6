"""Caselle Connect client: gql over requests, validated against the local stand-in SDL.

- Every operation lives in ``resources/graphql/operations/<name>.graphql`` (shared fragments
  in ``_fragments.graphql``); gql validates each request against ``schema.graphql`` before
  it is sent (``fetch_schema_from_transport=False``).
- Mutations are **never retried** here (gql's ``retries`` would re-send them): a mutation
  that times out or loses its connection raises :class:`NetworkError` with
  ``outcome_unknown = True``; the caller (the posting journal) must ask
  :meth:`CaselleClient.find_receipt` before sending anything again. Queries are retried a
  few times on network errors and 5xx answers.
- Errors map to :mod:`console.errors`: :class:`AuthError` (missing, invalid or expired
  token), :class:`UnsupportedVersionError`, :class:`NetworkError` (refused, timed out,
  dropped), :class:`CaselleRemoteError` (a :class:`RemoteError` with the server's code: 5xx,
  GraphQL errors such as BATCH_CLOSED).
- The OAuth bearer token comes from a provider (a string, a callable, or
  :class:`StoredToken` which keeps it in the secret store and renews it with the client
  credentials when it can). :meth:`CaselleClient.token_status` says when it expires and
  warns :data:`TOKEN_WARNING` ahead.
- Money is ``Decimal``; it travels as strings ("12.34").
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import requests
from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport
from graphql import DocumentNode, FragmentSpreadNode, OperationDefinitionNode, parse, visit
from graphql.language import Visitor

from console.domain.models import AccountSummary, Adjustment, CustomerDetail, Receipt, UsagePoint
from console.domain.money import money, parse_amount
from console.domain.wording import counted
from console.errors import AuthError, NetworkError, RemoteError, UnsupportedVersionError
from console.paths import resource

log = logging.getLogger(__name__)

SYSTEM = "Caselle"
SCHEMA_FILE = resource("graphql", "schema.graphql")
OPERATIONS_DIR = resource("graphql", "operations")
TOKEN_WARNING = dt.timedelta(days=14)

VERSION_2021_02 = "2021.02.160"
VERSION_2021_05 = "2021.05"
_BASE = frozenset({"utility_search", "customer_detail", "adjustments", "create_receipt", "void_receipt",
                   "batches", "update_customer", "paperless"})
#: What each known API version supports (the seed page's table).
FEATURES_BY_VERSION: dict[str, frozenset[str]] = {
    VERSION_2021_02: _BASE,
    VERSION_2021_05: _BASE | {"ach_reject", "set_direct_pay_status"},
}


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.strip().split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def features_for_version(version: str) -> frozenset[str]:
    """What a Caselle Connect version supports, also for versions newer than the table."""
    if version in FEATURES_BY_VERSION:
        return FEATURES_BY_VERSION[version]
    key = _version_key(version)
    if key >= _version_key(VERSION_2021_05):
        return FEATURES_BY_VERSION[VERSION_2021_05]
    if key >= _version_key(VERSION_2021_02):
        return FEATURES_BY_VERSION[VERSION_2021_02]
    return _BASE - {"update_customer", "paperless"}


def capabilities_for_version(version: str) -> Capabilities:
    """Offline capabilities from a configured version (e.g. to disable UI before connecting)."""
    return Capabilities(version, features_for_version(version))


FEATURE_LABELS = {
    "ach_reject": "ACH reject (reversal of a returned payment)",
    "set_direct_pay_status": "AutoPay enrollment changes (set_direct_pay_status)",
    "update_customer": "Paperless, phone and e-mail changes (update_customer)",
    "paperless": "Paperless enrollment",
}


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class AdjustmentRecord(Adjustment):
    """A Caselle adjustment with what the sync needs beyond the domain record."""

    balance_after: Decimal = Decimal("0.00")
    sequence: int = 0
    entered_by: str = ""


@dataclass(frozen=True)
class UsageRecord(UsagePoint):
    """A month of usage plus what that month's bill charged (for the usage-history graph)."""

    billed: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class CustomerRecord(CustomerDetail):
    """CustomerDetail plus Caselle's own fields."""

    sort_name: str = ""
    status: str = ""
    direct_pay_status: str = ""  # ACTIVE | INACTIVE | PENDING
    invoice_number: str = ""
    bill_date: dt.date | None = None


@dataclass(frozen=True)
class SearchResult:
    total_count: int
    accounts: tuple[AccountSummary, ...]

    def __iter__(self) -> Iterator[AccountSummary]:
        return iter(self.accounts)

    def __len__(self) -> int:
        return len(self.accounts)


@dataclass(frozen=True)
class CustomerPage:
    total_count: int
    next_cursor: str | None  # pass as ``after`` for the next page; None on the last page
    customers: tuple[CustomerRecord, ...]


@dataclass(frozen=True)
class Batch:
    batch_id: str
    batch_date: dt.date
    status: str  # OPEN | CLOSED
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None
    receipt_count: int  # not voided
    total: Decimal  # not voided
    voided_count: int
    voided_total: Decimal
    reversed_count: int
    reversed_total: Decimal

    @property
    def is_open(self) -> bool:
        return self.status == "OPEN"


@dataclass(frozen=True)
class CreateReceiptResult:
    receipt: Receipt
    existing: bool  # True: the reference was already posted; nothing new was created


@dataclass(frozen=True)
class VoidResult:
    receipt: Receipt
    already_voided: bool


@dataclass(frozen=True)
class AchRejectResult:
    receipt: Receipt
    already_reversed: bool
    nsf_adjustment: AdjustmentRecord | None


@dataclass(frozen=True)
class Capabilities:
    version: str
    features: frozenset[str]

    def has(self, feature: str) -> bool:
        return feature in self.features

    def explain(self, feature: str) -> str:
        """Why a feature is unavailable ('' when it is available)."""
        if self.has(feature):
            return ""
        label = FEATURE_LABELS.get(feature, feature)
        need = next((v for v, f in FEATURES_BY_VERSION.items() if feature in f), None)
        need_text = f"Caselle Connect API {need} or later" if need else "a later Caselle Connect API version"
        return f"{label} needs {need_text}; this server runs {self.version}."


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: dt.datetime | None = None  # None: does not expire (or unknown)

    def expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and (now or _now()) >= self.expires_at

    def to_json(self) -> str:
        return json.dumps({"token": self.value, "expires_at": _iso(self.expires_at)})

    @classmethod
    def from_secret(cls, text: str) -> AccessToken:
        """A stored secret: JSON ``{"token", "expires_at"}`` or a bare token."""
        try:
            data = json.loads(text)
            if isinstance(data, dict) and "token" in data:
                return cls(data["token"], _parse_dt(data.get("expires_at")))
        except ValueError:
            pass
        return cls(text.strip())


@dataclass(frozen=True)
class TokenStatus:
    state: str  # ok | warn | expired | unknown
    expires_at: dt.datetime | None
    message: str


class CaselleRemoteError(RemoteError):
    """Caselle refused or failed a request; ``code`` is its error code (e.g. BATCH_CLOSED, HTTP_503)."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False, hint: str | None = None):
        super().__init__(message, system=SYSTEM, retryable=retryable, hint=hint)
        self.code = code
        self.outcome_unknown = False


# --------------------------------------------------------------------------- operations
@lru_cache(maxsize=1)
def schema_sdl() -> str:
    return Path(SCHEMA_FILE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _fragments() -> dict[str, Any]:
    path = OPERATIONS_DIR / "_fragments.graphql"
    doc = parse(path.read_text(encoding="utf-8"))
    return {d.name.value: d for d in doc.definitions}


def _spreads(node) -> set[str]:
    names: set[str] = set()

    class _Collect(Visitor):
        def enter_fragment_spread(self, n: FragmentSpreadNode, *_):
            names.add(n.name.value)

    visit(node, _Collect())
    return names


def operation_names() -> list[str]:
    return sorted(p.stem for p in OPERATIONS_DIR.glob("*.graphql") if not p.stem.startswith("_"))


@lru_cache(maxsize=64)
def load_operation(name: str) -> DocumentNode:
    """``operations/<name>.graphql`` plus the shared fragments it uses (transitively)."""
    doc = parse((OPERATIONS_DIR / f"{name}.graphql").read_text(encoding="utf-8"))
    fragments = _fragments()
    needed: dict[str, Any] = {}
    todo = set().union(*(_spreads(d) for d in doc.definitions))
    local = {d.name.value for d in doc.definitions if not isinstance(d, OperationDefinitionNode)}
    while todo:
        n = todo.pop()
        if n in needed or n in local:
            continue
        if n not in fragments:
            raise KeyError(f"operation {name} uses unknown fragment {n}")
        needed[n] = fragments[n]
        todo |= _spreads(fragments[n])
    return DocumentNode(definitions=(*doc.definitions, *needed.values()))


def _is_mutation(doc: DocumentNode) -> bool:
    return any(isinstance(d, OperationDefinitionNode) and d.operation.value == "mutation" for d in doc.definitions)


# --------------------------------------------------------------------------- tokens
def request_token(token_url: str, client_id: str, client_secret: str, *, timeout: float = 15.0,
                  expires_in: int | None = None) -> AccessToken:
    """Client-credentials grant. ``expires_in`` is honoured by the sandbox only (tests)."""
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    if expires_in is not None:
        data["expires_in"] = str(expires_in)
    try:
        r = requests.post(token_url, data=data, timeout=timeout)
    except requests.Timeout as exc:
        raise NetworkError(f"Caselle did not answer the token request within {timeout:g} s", system=SYSTEM) from exc
    except requests.ConnectionError as exc:
        raise NetworkError(f"cannot reach Caselle at {token_url}", system=SYSTEM,
                           hint="check the Caselle Connect URL and the network") from exc
    if r.status_code in (400, 401, 403):
        raise AuthError("Caselle refused the client ID or secret", system=SYSTEM,
                        hint="check the client ID and client secret in the profile")
    if r.status_code >= 500:
        raise CaselleRemoteError(f"Caselle token service failed (HTTP {r.status_code})",
                                 code=f"HTTP_{r.status_code}", retryable=True)
    try:
        body = r.json()
        token = body["access_token"]
    except (ValueError, KeyError) as exc:
        raise CaselleRemoteError("Caselle's token answer has no access_token", code="PROTOCOL") from exc
    expires = _parse_dt(body.get("expires_at"))
    if expires is None and body.get("expires_in") is not None:
        expires = _now() + dt.timedelta(seconds=int(body["expires_in"]))
    return AccessToken(token, expires)


class StoredToken:
    """Token provider over the secret store (``caselle_token``), renewed with the client credentials.

    ``secrets`` needs ``get(name)`` / ``set(name, value)`` (console.secrets.SecretStore). When the
    stored token is missing or expired and a token URL, client ID and client secret are known,
    a new token is requested and stored; otherwise the stored one is returned as is (the
    server then answers TOKEN_EXPIRED, which surfaces as :class:`AuthError`).
    """

    TOKEN = "caselle_token"
    CLIENT_SECRET = "caselle_client_secret"

    def __init__(self, secrets, *, token_url: str | None = None, client_id: str | None = None,
                 client_secret: str | None = None, renew: bool = True, timeout: float = 15.0):
        self.secrets = secrets
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.renew = renew
        self.timeout = timeout
        self._lock = threading.Lock()
        self._cached: AccessToken | None = None  # the keyring is read once, not on every request

    def _secret(self) -> str | None:
        return self.client_secret or self.secrets.get(self.CLIENT_SECRET)

    def current(self) -> AccessToken | None:
        text = self.secrets.get(self.TOKEN)
        return AccessToken.from_secret(text) if text else None

    def forget(self) -> None:
        """Drop the in-memory copy: the next call reads the secret store again."""
        self._cached = None

    @property
    def can_renew(self) -> bool:
        return bool(self.renew and self.token_url and self.client_id and self._secret())

    def refresh(self) -> AccessToken:
        secret = self._secret()
        if not (self.token_url and self.client_id and secret):
            raise AuthError("no Caselle token and no client credentials to get one", system=SYSTEM,
                            hint="enter the Caselle client secret (or a token) in the settings")
        token = request_token(self.token_url, self.client_id, secret, timeout=self.timeout)
        self.secrets.set(self.TOKEN, token.to_json())
        self._cached = token
        return token

    def __call__(self) -> AccessToken:
        with self._lock:
            if self._cached is not None and not self._cached.expired():
                return self._cached
            token = self.current()
            self._cached = token
            if token is not None and not token.expired():
                return token
            if self.renew and self.token_url and self.client_id and self._secret():
                return self.refresh()
            if token is None:
                raise AuthError("no Caselle token is stored", system=SYSTEM,
                                hint="enter the Caselle client secret or token in the settings")
            return token


TokenSource = str | AccessToken | Callable[[], "str | AccessToken"]


# --------------------------------------------------------------------------- the client
class _ValidateOnceClient(Client):
    """gql validates every request against the schema; our documents are fixed per operation
    (cached by :func:`load_operation`), so validate each document once, not on every call."""

    _validated: set[int] = set()
    _validated_lock = threading.Lock()

    def validate(self, request: GraphQLRequest) -> None:
        key = id(request.document)
        if key in self._validated:
            return
        super().validate(request)
        with self._validated_lock:
            self._validated.add(key)


class CaselleClient:
    """Caselle Connect over GraphQL. Thread-safe (one HTTP session per thread)."""

    def __init__(self, url: str, token: TokenSource, *, timeout: float = 20.0, query_retries: int = 2,
                 retry_backoff: float = 0.2, operator: str = "", warn_ahead: dt.timedelta = TOKEN_WARNING):
        self.url = url
        self._token_source = token
        self.timeout = timeout
        self.query_retries = max(0, query_retries)
        self.retry_backoff = retry_backoff
        self.operator = operator
        self.warn_ahead = warn_ahead
        self._local = threading.local()
        self._sessions: list[tuple[Client, Any]] = []
        self._lock = threading.Lock()
        self._capabilities: Capabilities | None = None
        self._server_token_expiry: dt.datetime | None = None

    # ---- plumbing
    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            # retries=0: urllib3 must never re-send a request (a mutation!) on its own
            transport = RequestsHTTPTransport(url=self.url, timeout=self.timeout, retries=0, verify=True)
            client = _ValidateOnceClient(schema=schema_sdl(), transport=transport,
                                         fetch_schema_from_transport=False, execute_timeout=None)
            session = client.connect_sync()
            self._local.session = session
            with self._lock:
                self._sessions.append((client, session))
        return session

    def _token(self) -> AccessToken:
        source = self._token_source
        value = source() if callable(source) else source
        token = value if isinstance(value, AccessToken) else AccessToken(str(value))
        if not token.value:
            raise AuthError("no Caselle token", system=SYSTEM, hint="enter the Caselle token in the settings")
        return token

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._token().value}", "Accept": "application/json"}
        if self.operator:
            headers["X-Caselle-User"] = self.operator
        return headers

    def execute(self, operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``operations/<operation>.graphql``; returns ``data`` or raises a console error."""
        doc = load_operation(operation)
        mutation = _is_mutation(doc)
        attempts = 1 if mutation else 1 + self.query_retries
        renewed = False
        for attempt in range(1, attempts + 1):
            try:
                return self._execute_once(operation, doc, variables, mutation)
            except AuthError:
                # The server checks the token before executing anything, so one retry with a
                # renewed token is safe even for a mutation.
                refresh = getattr(self._token_source, "refresh", None)
                if renewed or not callable(refresh) or not getattr(self._token_source, "can_renew", False):
                    forget = getattr(self._token_source, "forget", None)
                    if callable(forget):
                        forget()  # read the store again next time (the operator may enter a new token)
                    raise
                log.info("Caselle refused the token; renewing it once")
                refresh()
                renewed = True
                return self._execute_once(operation, doc, variables, mutation)
            except (NetworkError, CaselleRemoteError) as exc:
                if attempt >= attempts or not exc.retryable:
                    raise
                log.info("Caselle %s failed (%s); retrying query (%d/%d)", operation, exc, attempt, attempts - 1)
                time.sleep(self.retry_backoff * attempt)
        raise AssertionError("unreachable")

    def _execute_once(self, operation: str, doc: DocumentNode, variables, mutation: bool) -> dict[str, Any]:
        request = GraphQLRequest(doc, variable_values=variables or {}, operation_name=None)
        session = self._session()
        try:
            return session.execute(request, extra_args={"headers": self._headers()})
        except TransportQueryError as exc:
            raise _query_error(operation, exc, mutation) from exc
        except TransportServerError as exc:
            code = exc.code or 0
            if code in (401, 403):
                raise AuthError(f"Caselle refused the token (HTTP {code})", system=SYSTEM,
                                hint="renew the Caselle token in the settings") from exc
            err = CaselleRemoteError(
                f"Caselle failed on {operation} (HTTP {code})", code=f"HTTP_{code}",
                retryable=code >= 500 and not mutation,
                hint="the outcome is unknown: check Caselle for it before sending it again" if mutation else None)
            err.outcome_unknown = mutation and code >= 500  # a 5xx may come after the commit
            raise err from exc
        except TransportConnectionFailed as exc:
            raise _network_error(self, operation, exc, mutation) from exc
        except TransportProtocolError as exc:
            raise CaselleRemoteError(f"Caselle answered {operation} with something that is not GraphQL",
                                     code="PROTOCOL", retryable=False) from exc

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for client, _session in sessions:
            try:
                client.close_sync()
            except Exception:  # noqa: BLE001 - closing must not raise
                pass
        self._local = threading.local()

    def __enter__(self) -> CaselleClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- capabilities and token
    def api_info(self) -> dict[str, Any]:
        info = self.execute("api_info")["apiInfo"]
        self._server_token_expiry = _parse_dt(info.get("tokenExpiresAt"))
        return info

    def server_info(self) -> dict[str, Any]:
        """For diagnostics: version, features, server time and token expiry in one round trip."""
        info = self.api_info()
        self._capabilities = Capabilities(info["version"], frozenset(
            info.get("features") or features_for_version(info["version"])))
        return {"api_version": info["version"], "version": info["version"],
                "features": sorted(self._capabilities.features), "server_time": _parse_dt(info.get("serverTime")),
                "token_expires_at": self._server_token_expiry or self._token().expires_at,
                "sandbox": bool(info.get("sandbox"))}

    @property
    def api_version(self) -> str:
        return self.capabilities().version

    def capabilities(self, *, refresh: bool = False) -> Capabilities:
        if self._capabilities is None or refresh:
            info = self.api_info()
            version = info["version"]
            features = frozenset(info.get("features") or features_for_version(version))
            self._capabilities = Capabilities(version, features)
        return self._capabilities

    def require(self, feature: str) -> None:
        caps = self.capabilities()
        if not caps.has(feature):
            raise UnsupportedVersionError(caps.explain(feature), system=SYSTEM,
                                          hint="the feature stays disabled until Caselle is upgraded")

    @property
    def token_expires_at(self) -> dt.datetime | None:
        token = self._token()
        if token.expires_at is not None:
            return token.expires_at
        if self._server_token_expiry is None:
            try:
                self.api_info()
            except AuthError:
                raise
            except RemoteError:
                return None
        return self._server_token_expiry

    def token_status(self, now: dt.datetime | None = None) -> TokenStatus:
        now = now or _now()
        expires = self.token_expires_at
        if expires is None:
            return TokenStatus("ok", None, "the Caselle token does not expire")
        left = expires - now
        if left <= dt.timedelta(0):
            return TokenStatus("expired", expires, f"the Caselle token expired on {expires:%Y-%m-%d}")
        days = left.days
        if left <= self.warn_ahead:
            return TokenStatus("warn", expires, f"the Caselle token expires in {counted(days, 'day')}, on {expires:%Y-%m-%d}: "
                                                "renew it now")
        return TokenStatus("ok", expires, f"the Caselle token expires on {expires:%Y-%m-%d} ({days} days)")

    # ---- accounts
    def search_accounts(self, text: str, *, by: str = "ANY", limit: int = 50) -> SearchResult:
        data = self.execute("search_accounts", {"text": text, "searchBy": by, "first": limit})["utilitySearch"]
        return SearchResult(data["totalCount"], tuple(
            AccountSummary(a["accountNumber"], a["name"], a["serviceAddress"], a.get("phone") or "",
                           _money(a["balance"])) for a in data["accounts"]))

    def customer_detail(self, account_number: str, *, usage_months: int = 24) -> CustomerRecord | None:
        data = self.execute("customer_detail", {"accountNumber": account_number, "usageMonths": usage_months})
        c = data["customerDetail"]
        return _customer(c) if c is not None else None

    def list_customers(self, *, after: str | None = None, limit: int = 200) -> CustomerPage:
        """One page of every account, in account-number order (data conversions)."""
        data = self.execute("list_customers", {"after": after, "first": limit})["customers"]
        return CustomerPage(int(data["totalCount"]), data.get("nextCursor"),
                            tuple(_customer(c) for c in data["customers"]))

    def iter_customers(self, *, page_size: int = 200) -> Iterator[CustomerRecord]:
        """Every account, a page at a time."""
        after: str | None = None
        while True:
            page = self.list_customers(after=after, limit=page_size)
            yield from page.customers
            if not page.next_cursor:
                return
            after = page.next_cursor

    def adjustments_since(self, since: dt.datetime | None = None, *, after_sequence: int | None = None,
                          limit: int = 500) -> list[AdjustmentRecord]:
        data = self.execute("adjustments_since", {"since": _iso(since), "afterSequence": after_sequence,
                                                  "first": limit})
        return [_adjustment(a) for a in data["adjustments"]]

    def update_customer(self, account_number: str, *, paperless: bool | None = None, phone: str | None = None,
                        email: str | None = None) -> CustomerRecord:
        self.require("update_customer")
        fields: dict[str, Any] = {"accountNumber": account_number}
        for key, value in (("paperless", paperless), ("phone", phone), ("email", email)):
            if value is not None:
                fields[key] = value
        return _customer(self.execute("update_customer", {"input": fields})["update_customer"])

    def set_direct_pay_status(self, account_number: str, status: str | bool) -> CustomerRecord:
        self.require("set_direct_pay_status")
        if isinstance(status, bool):
            status = "ACTIVE" if status else "INACTIVE"
        data = self.execute("set_direct_pay_status", {"accountNumber": account_number, "status": status.upper()})
        return _customer(data["set_direct_pay_status"])

    def create_adjustment(self, account_number: str, amount: Decimal | str, reason: str) -> AdjustmentRecord:
        """Sandbox only: a tester's adjustment on a demo account."""
        data = self.execute("create_adjustment", {"accountNumber": account_number, "amount": _money_text(amount),
                                                  "reason": reason})
        return _adjustment(data["create_adjustment"])

    # ---- receipts
    def create_receipt(self, *, reference: str, account_number: str, amount: Decimal | str, tender: str,
                       receipt_date: dt.date, batch_date: dt.date | None = None, payer_name: str | None = None,
                       memo: str | None = None) -> CreateReceiptResult:
        """Post a receipt, idempotent on ``reference``. Never retried: on :class:`NetworkError`
        the outcome is unknown — call :meth:`find_receipt` before sending it again."""
        fields: dict[str, Any] = {"reference": reference, "accountNumber": account_number,
                                  "amount": _money_text(amount), "tender": tender.upper(),
                                  "receiptDate": receipt_date.isoformat()}
        if batch_date is not None:
            fields["batchDate"] = batch_date.isoformat()
        if payer_name:
            fields["payerName"] = payer_name
        if memo:
            fields["memo"] = memo
        data = self.execute("create_receipt", {"input": fields})["create_receipt"]
        return CreateReceiptResult(_receipt(data["receipt"]), bool(data["existing"]))

    def find_receipt(self, reference: str) -> Receipt | None:
        r = self.execute("find_receipt", {"reference": reference})["receipt"]
        return _receipt(r) if r is not None else None

    def receipt_by_number(self, receipt_number: str) -> Receipt | None:
        r = self.execute("receipt_by_number", {"receiptNumber": receipt_number})["receiptByNumber"]
        return _receipt(r) if r is not None else None

    def batch_receipts(self, batch_id: str) -> list[Receipt]:
        return [_receipt(r) for r in self.execute("batch_receipts", {"batchId": batch_id})["receipts"]]

    def void_receipt(self, receipt_number: str, reason: str) -> VoidResult:
        data = self.execute("void_receipt", {"receiptNumber": receipt_number, "reason": reason})["void_receipt"]
        return VoidResult(_receipt(data["receipt"]), bool(data["alreadyVoided"]))

    def ach_reject(self, reference: str, return_code: str, reason: str,
                   nsf_fee: Decimal | str | None = None) -> AchRejectResult:
        self.require("ach_reject")
        variables = {"reference": reference, "returnCode": return_code, "reason": reason,
                     "nsfFee": _money_text(nsf_fee) if nsf_fee is not None else None}
        data = self.execute("ach_reject", variables)["ach_reject"]
        adj = data.get("nsfAdjustment")
        return AchRejectResult(_receipt(data["receipt"]), bool(data["alreadyReversed"]),
                               _adjustment(adj) if adj else None)

    # ---- batches
    def open_batch(self, batch_date: dt.date) -> Batch:
        return _batch(self.execute("open_batch", {"date": batch_date.isoformat()})["open_batch"])

    def close_batch(self, batch_id: str) -> Batch:
        return _batch(self.execute("close_batch", {"batchId": batch_id})["close_batch"])

    def batch_totals(self, batch_date: dt.date) -> Batch | None:
        b = self.execute("batch_totals", {"date": batch_date.isoformat()})["batch"]
        return _batch(b) if b is not None else None

    def list_batches(self, start: dt.date | None = None, end: dt.date | None = None) -> list[Batch]:
        data = self.execute("list_batches", {"from": start.isoformat() if start else None,
                                             "to": end.isoformat() if end else None})
        return [_batch(b) for b in data["batches"]]


# --------------------------------------------------------------------------- mapping
def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(ts: dt.datetime | None) -> str | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_dt(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _parse_date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _money(text: str | None) -> Decimal:
    return parse_amount(text) if text is not None else Decimal("0.00")


def _money_text(amount: Decimal | str) -> str:
    return str(money(amount))


def _adjustment(a: dict) -> AdjustmentRecord:
    return AdjustmentRecord(
        adjustment_id=a["adjustmentId"], account_number=a["accountNumber"], adjusted_at=_parse_dt(a["adjustedAt"]),
        amount=_money(a["amount"]), reason=a["reason"], balance_after=_money(a["balanceAfter"]),
        sequence=int(a["sequence"]), entered_by=a.get("enteredBy") or "")


def _customer(c: dict) -> CustomerRecord:
    m = c["mailingAddress"]
    mail = "\n".join(x for x in (m["line1"], m.get("line2") or "", f"{m['city']}, {m['state']} {m['zip']}") if x)
    return CustomerRecord(
        account_number=c["accountNumber"], name=c["name"], service_address=c["serviceAddress"], mail_address=mail,
        phone=c.get("phone") or "", email=c.get("email") or "", balance=_money(c["balance"]),
        amount_due=_money(c["amountDue"]), minimum_due=_money(c["minimumDue"]), due_date=_parse_date(c.get("dueDate")),
        bill_expires=_parse_date(c.get("billExpires")), partial_payments_allowed=bool(c["partialPaymentsAllowed"]),
        autopay=bool(c["autopay"]), paperless=bool(c["paperless"]),
        adjustments=tuple(_adjustment(a) for a in c.get("adjustments") or ()),
        usage=tuple(UsageRecord(u["period"], Decimal(u["consumption"]), u["unit"], _money(u["billedAmount"]))
                    for u in c.get("usage") or ()),
        sort_name=c.get("sortName") or "", status=c.get("status") or "", direct_pay_status=c["directPayStatus"],
        invoice_number=c.get("invoiceNumber") or "", bill_date=_parse_date(c.get("billDate")))


def _receipt(r: dict) -> Receipt:
    extra = {k: r.get(k) for k in ("status", "createdAt", "createdBy", "voidedAt", "voidedBy", "payerName", "memo")}
    if r.get("reversal"):
        rev = r["reversal"]
        extra["reversal"] = {"return_code": rev["returnCode"], "reason": rev["reason"],
                             "reversed_at": rev["reversedAt"], "reversed_by": rev["reversedBy"],
                             "nsf_fee": _money(rev["nsfFee"]) if rev.get("nsfFee") else None,
                             "nsf_adjustment_id": rev.get("nsfAdjustmentId")}
    return Receipt(receipt_number=r["receiptNumber"], reference=r["reference"], account_number=r["accountNumber"],
                   amount=_money(r["amount"]), batch_id=r["batchId"], receipt_date=_parse_date(r["receiptDate"]),
                   tender=r["tender"], voided=bool(r["voided"]), void_reason=r.get("voidReason") or "", extra=extra)


def _batch(b: dict) -> Batch:
    return Batch(batch_id=b["batchId"], batch_date=_parse_date(b["batchDate"]), status=b["status"],
                 opened_at=_parse_dt(b.get("openedAt")), closed_at=_parse_dt(b.get("closedAt")),
                 receipt_count=int(b["receiptCount"]), total=_money(b["total"]), voided_count=int(b["voidedCount"]),
                 voided_total=_money(b["voidedTotal"]), reversed_count=int(b["reversedCount"]),
                 reversed_total=_money(b["reversedTotal"]))


def _query_error(operation: str, exc: TransportQueryError, mutation: bool = False) -> RemoteError:
    errors = exc.errors or [{"message": str(exc)}]
    first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
    code = ((first.get("extensions") or {}).get("code") or "").upper()
    message = first.get("message") or str(exc)
    if code in ("UNAUTHENTICATED", "TOKEN_EXPIRED", "FORBIDDEN"):
        what = "the Caselle token has expired" if code == "TOKEN_EXPIRED" else "Caselle refused the token"
        return AuthError(f"{what}: {message}", system=SYSTEM, hint="renew the Caselle token in the settings")
    if code == "NOT_SUPPORTED_IN_VERSION":
        return UnsupportedVersionError(message, system=SYSTEM,
                                       hint="the feature stays disabled until Caselle is upgraded")
    if code == "INTERNAL":  # the server failed: a query may be asked again, a mutation's fate is unknown
        err = CaselleRemoteError(f"Caselle failed on {operation}: {message}", code=code, retryable=not mutation,
                                 hint="the outcome is unknown: check Caselle for it before sending it again"
                                 if mutation else None)
        err.outcome_unknown = mutation
        return err
    return CaselleRemoteError(f"Caselle refused {operation}: {message}", code=code or "GRAPHQL", retryable=False)


def _network_error(client: CaselleClient, operation: str, exc: TransportConnectionFailed,
                   mutation: bool) -> NetworkError:
    cause = exc.__cause__
    if isinstance(cause, requests.Timeout):
        what = f"Caselle did not answer {operation} within {client.timeout:g} s"
        kind = "timeout"
    elif isinstance(cause, requests.ConnectionError) and "refused" in str(cause).lower():
        what = f"cannot connect to Caselle at {client.url} (connection refused)"
        kind = "refused"
    else:
        what = f"the connection to Caselle dropped during {operation}"
        kind = "dropped"
    unknown = mutation and kind != "refused"
    hint = ("the outcome is unknown: check Caselle for it before sending it again" if unknown
            else "check the network and the Caselle Connect URL")
    err = NetworkError(what, system=SYSTEM, hint=hint)
    err.kind = kind  # type: ignore[attr-defined]
    err.outcome_unknown = unknown  # type: ignore[attr-defined]
    err.retryable = not unknown  # a mutation is re-sent only after reconciliation says "not there"
    return err
