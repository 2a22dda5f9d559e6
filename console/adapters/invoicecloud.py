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


def client_from_services(services) -> InvoiceCloudClient:
    """The client for a profile: URL from the endpoints, key from the keyring (or the sandbox)."""
    from console.secrets import IC_WEB_SERVICE_KEY

    ep = services.endpoints
    key = services.secrets.get(IC_WEB_SERVICE_KEY) or ep.get("ic_web_service_key") or ""
    timeout = float(services.profile.get("caselle_timeout_s") or 20)
    return InvoiceCloudClient(ep.get("ic_api_url") or services.profile.get("invoicecloud_api_url"), key,
                              timeout=timeout)
