"""Invoice Cloud data API client (requests; TLS verified; timeouts on every call).

Fetches payments, ACH rejects and the change log in the file layouts (CSV), so the posting
service reads and checks fetched data exactly like a file. The web-service key travels in the
``X-IC-WebServiceKey`` header and never reaches a log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from console.errors import AuthError, NetworkError, RemoteError

log = logging.getLogger(__name__)

SYSTEM = "Invoice Cloud"
KEY_HEADER = "X-IC-WebServiceKey"
PATHS = {"payments": "/api/v1/payments", "rejects": "/api/v1/ach-rejects", "changes": "/api/v1/changes"}


@dataclass(frozen=True)
class Fetched:
    kind: str
    data: bytes  # the CSV in the kind's layout
    url: str  # without the key


class InvoiceCloudClient:
    def __init__(self, base_url: str, web_service_key: str, *, timeout: float = 20.0, verify: bool = True):
        if not base_url:
            raise RemoteError("No Invoice Cloud API URL is configured", system=SYSTEM,
                              hint="set it in Settings (Invoice Cloud API URL)")
        self.base_url = base_url.rstrip("/")
        self._key = web_service_key
        self.timeout = timeout
        self.verify = verify
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def _get(self, path: str, params: dict[str, Any]) -> requests.Response:
        if not self._key:
            raise AuthError("No Invoice Cloud web-service key is stored", system=SYSTEM,
                            hint="enter it in Settings; it is kept in the keyring")
        url = f"{self.base_url}{path}"
        try:
            resp = self._session.get(url, params=params, headers={KEY_HEADER: self._key}, timeout=self.timeout,
                                     verify=self.verify)
        except requests.Timeout as exc:
            raise NetworkError(f"Invoice Cloud did not answer within {self.timeout:g} s", system=SYSTEM) from exc
        except requests.ConnectionError as exc:
            raise NetworkError(f"Cannot reach Invoice Cloud at {self.base_url}", system=SYSTEM) from exc
        if resp.status_code in (401, 403):
            raise AuthError("Invoice Cloud refused the web-service key", system=SYSTEM,
                            hint="check the key in Settings")
        if resp.status_code >= 500:
            raise RemoteError(f"Invoice Cloud failed (HTTP {resp.status_code})", system=SYSTEM, retryable=True)
        if resp.status_code >= 400:
            try:
                msg = resp.json().get("error", resp.text[:200])
            except ValueError:
                msg = resp.text[:200]
            raise RemoteError(f"Invoice Cloud refused the request: {msg}", system=SYSTEM)
        return resp

    def fetch_csv(self, kind: str, **params: Any) -> Fetched:
        """The ``kind`` data (payments | rejects | changes) as CSV bytes in its file layout."""
        if kind not in PATHS:
            raise ValueError(f"unknown kind {kind!r}")
        query = {k: v for k, v in params.items() if v is not None}
        query["format"] = "csv"
        resp = self._get(PATHS[kind], query)
        return Fetched(kind, resp.content, resp.url)

    def fetch_json(self, kind: str, **params: Any) -> dict[str, Any]:
        query = {k: v for k, v in params.items() if v is not None}
        return self._get(PATHS[kind], query).json()

    # ---- balance updates (account sync)
    def put_balance(self, row: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Send one ``ic-balance-v1`` row (JSON, amounts as strings), idempotent on the key (the
        AdjustmentId). Returns the stored update; ``replayed`` is True when the key was sent
        before. Never retried: on an unknown outcome call :meth:`find_balance` first."""
        resp = _call(self, "PUT", BALANCES_PATH, body=row, headers={"Idempotency-Key": idempotency_key},
                     mutation=True)
        return resp.json()  # type: ignore[union-attr]

    def find_balance(self, adjustment_id: str) -> dict[str, Any] | None:
        """The update Invoice Cloud holds under ``adjustment_id``, or None (ask before a re-send)."""
        resp = _call(self, "GET", f"{BALANCES_PATH}/{requests.utils.quote(adjustment_id, safe='')}",
                     allow_404=True)
        return resp.json() if resp is not None else None

    def account_balance(self, account: str) -> dict[str, Any]:
        """What Invoice Cloud shows for ``account`` (``ACCOUNT_NOT_REGISTERED`` when it does not know it)."""
        resp = _call(self, "GET", f"/api/v1/accounts/{requests.utils.quote(account, safe='')}/balance")
        return resp.json()  # type: ignore[union-attr]


    # ---- conveyances (a property changed hands)
    def post_conveyance(self, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Release the old owner's registration, AutoPay and paperless and flag the final bill,
        idempotent on the key. Never retried: on an unknown outcome call :meth:`find_conveyance`."""
        resp = _call(self, "POST", CONVEYANCES_PATH, body=body, headers={"Idempotency-Key": idempotency_key},
                     mutation=True)
        return resp.json()  # type: ignore[union-attr]

    def find_conveyance(self, idempotency_key: str) -> dict[str, Any] | None:
        """The conveyance Invoice Cloud holds under the key, or None (ask before a re-send)."""
        resp = _call(self, "GET", f"{CONVEYANCES_PATH}/{requests.utils.quote(idempotency_key, safe='')}",
                     allow_404=True)
        return resp.json() if resp is not None else None

    def registration(self, account: str) -> dict[str, Any]:
        """Registered, AutoPay, paperless and final-bill flags Invoice Cloud holds for ``account``."""
        resp = _call(self, "GET", f"/api/v1/accounts/{requests.utils.quote(account, safe='')}/registration")
        return resp.json()  # type: ignore[union-attr]


class InvoiceCloudRemoteError(RemoteError):
    """Invoice Cloud refused or failed a request; ``code`` is its error code (ACCOUNT_NOT_REGISTERED…)."""

    def __init__(self, message: str, *, code: str = "", status: int = 0, retryable: bool = False,
                 hint: str | None = None):
        super().__init__(message, system=SYSTEM, retryable=retryable, hint=hint)
        self.code = code
        self.status = status
        self.outcome_unknown = False


BALANCES_PATH = "/api/v1/balances"
CONVEYANCES_PATH = "/api/v1/conveyances"


def _call(client: InvoiceCloudClient, method: str, path: str, *, body: Any = None, headers: dict | None = None,
          mutation: bool = False, allow_404: bool = False) -> requests.Response | None:
    """One request for the balance calls. A mutation is never retried here: after a timeout, a
    dropped connection or a 5xx its outcome is unknown (``outcome_unknown``): look it up by key
    (:meth:`InvoiceCloudClient.find_balance`) before sending it again."""
    if not client._key:
        raise AuthError("No Invoice Cloud web-service key is stored", system=SYSTEM,
                        hint="enter it in Settings; it is kept in the keyring")
    url = f"{client.base_url}{path}"
    hint_unknown = "the outcome is unknown: look it up in Invoice Cloud before sending it again"
    try:
        resp = client._session.request(method, url, json=body, headers={KEY_HEADER: client._key, **(headers or {})},
                                       timeout=client.timeout, verify=client.verify)
    except requests.Timeout as exc:
        err = NetworkError(f"Invoice Cloud did not answer within {client.timeout:g} s", system=SYSTEM,
                           hint=hint_unknown if mutation else None)
        err.outcome_unknown = mutation  # type: ignore[attr-defined]
        raise err from exc
    except requests.ConnectionError as exc:
        refused = "refused" in str(exc).lower()
        what = (f"Cannot reach Invoice Cloud at {client.base_url}" if refused
                else "The connection to Invoice Cloud dropped before its answer")
        err = NetworkError(what, system=SYSTEM, hint=hint_unknown if mutation and not refused else None)
        err.outcome_unknown = mutation and not refused  # type: ignore[attr-defined]
        raise err from exc
    if resp.status_code in (401, 403):
        raise AuthError("Invoice Cloud refused the web-service key", system=SYSTEM, hint="check the key in Settings")
    try:
        data = resp.json() if resp.content else {}
    except ValueError:
        data = {}
    code = str(data.get("code") or "") if isinstance(data, dict) else ""
    message = str(data.get("error") or resp.text[:200]) if isinstance(data, dict) else resp.text[:200]
    if resp.status_code >= 500:
        err = InvoiceCloudRemoteError(f"Invoice Cloud failed (HTTP {resp.status_code})", code=code or
                                      f"HTTP_{resp.status_code}", status=resp.status_code, retryable=True,
                                      hint=hint_unknown if mutation else None)
        err.outcome_unknown = mutation
        raise err
    if resp.status_code == 404 and allow_404 and code in ("", "NOT_FOUND"):
        return None
    if resp.status_code >= 400:
        raise InvoiceCloudRemoteError(f"Invoice Cloud refused the request: {message}", code=code or
                                      f"HTTP_{resp.status_code}", status=resp.status_code)
    return resp


def client_from_services(services) -> InvoiceCloudClient:
    """The client for a profile: URL from the endpoints, key from the keyring (or the sandbox)."""
    from console.secrets import IC_WEB_SERVICE_KEY

    ep = services.endpoints
    key = services.secrets.get(IC_WEB_SERVICE_KEY) or ep.get("ic_web_service_key") or ""
    timeout = float(services.profile.get("caselle_timeout_s") or 20)
    return InvoiceCloudClient(ep.get("ic_api_url") or services.profile.get("invoicecloud_api_url"), key,
                              timeout=timeout)
