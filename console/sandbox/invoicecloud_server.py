"""Invoice Cloud stand-in: a small real HTTP server with a pluggable route table.

Serves the data the console fetches from Invoice Cloud, generated deterministically from the
demo customers (:mod:`console.sandbox.exports`): payments, ACH rejects and the change log, as
JSON or in the same CSV layouts as the files (``?format=csv``). Every ``/api/`` request needs
the web-service key header ``X-IC-WebServiceKey`` (the demo key is in the part's info as
``ic_web_service_key``).

Routes (query parameters: ``count``, ``seed``, ``format=json|csv``; payments also
``receipts_only=1``):

- ``GET /health`` (no key)
- ``GET /api/v1/payments``
- ``GET /api/v1/ach-rejects``
- ``GET /api/v1/changes``

Other parts of the sandbox (the card gateway…) add routes with :func:`route` — a
``(method, path regex, handler)`` registry; a handler gets a :class:`Request` and returns a
:class:`Response`. The key check applies to every path under ``/api/`` unless the route was
registered with ``auth=False``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from console.sandbox import exports

log = logging.getLogger(__name__)

DEMO_WEB_SERVICE_KEY = "sandbox-ic-web-service-key"
KEY_HEADER = "X-IC-WebServiceKey"
MAX_COUNT = 200_000


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    match: re.Match | None = None
    server: InvoiceCloudServer | None = None

    def int_arg(self, name: str, default: int, *, low: int = 0, high: int = MAX_COUNT) -> int:
        raw = self.query.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise HttpError(400, f"{name} must be a whole number") from None
        if not low <= value <= high:
            raise HttpError(400, f"{name} must be between {low} and {high}")
        return value

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise HttpError(400, "the body is not JSON") from None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(data, default=_json_default).encode("utf-8"))

    @classmethod
    def csv(cls, text: str, filename: str) -> Response:
        return cls(200, text.encode("utf-8"), "text/csv; charset=utf-8",
                   {"Content-Disposition": f'attachment; filename="{filename}"'})


class DropConnection(Exception):  # noqa: N818 - an instruction, not an error
    """Raised by a handler to close the connection without answering (sandbox fault injection)."""


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Callable[[Request], Response]
    auth: bool = True


#: The route table. Other parts add theirs with :func:`route` before the server starts.
ROUTES: list[Route] = []


def route(method: str, pattern: str, *, auth: bool = True):
    """Decorator / registrar: ``@route("GET", r"/api/v1/thing/(?P<id>\\w+)")``."""
    def register(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        compiled = re.compile(pattern + r"\Z")
        ROUTES[:] = [r for r in ROUTES if not (r.method == method.upper() and r.pattern.pattern == compiled.pattern)]
        ROUTES.append(Route(method.upper(), compiled, handler, auth))
        return handler
    return register


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


# --------------------------------------------------------------------------- data routes
#: kind -> functions (server) -> extra rows appended to that export (the card gateway adds the
#: counter's card payments to the payments export, as Invoice Cloud's biller portal does).
EXTRA_ROWS: dict[str, list[Callable[[Any], list[dict]]]] = {}


def extra_rows(kind: str):
    def register(fn: Callable[[Any], list[dict]]) -> Callable[[Any], list[dict]]:
        EXTRA_ROWS.setdefault(kind, []).append(fn)
        return fn
    return register


def _data(kind: str, default_count: int):
    def handler(req: Request) -> Response:
        count = req.int_arg("count", default_count)
        seed = req.int_arg("seed", 1, high=2**31)
        kw = {}
        if kind == "payments" and req.query.get("receipts_only") in ("1", "true", "yes"):
            kw["receipts_only"] = True
        rows = exports.GENERATORS[kind](count, seed, **kw)
        for more in EXTRA_ROWS.get(kind, ()):
            rows = rows + more(req.server)
        fmt = req.query.get("format", "json").lower()
        if fmt == "csv":
            return Response.csv(exports.to_csv(kind, rows), f"{kind}-{seed}-{count}.csv")
        if fmt != "json":
            raise HttpError(400, "format must be json or csv")
        total = sum((r.get("Amount", Decimal("0")) for r in rows), Decimal("0.00"))
        return Response.json({"kind": kind, "layout": exports.LAYOUTS[kind], "count": len(rows),
                              "control_total": str(total), "records": rows})
    return handler


route("GET", r"/api/v1/payments")(_data("payments", 200))
route("GET", r"/api/v1/ach-rejects")(_data("rejects", 200))
route("GET", r"/api/v1/changes")(_data("changes", 50))


@route("GET", r"/health", auth=False)
def _health(req: Request) -> Response:
    return Response.json({"ok": True, "service": "invoicecloud-sandbox"})


# --------------------------------------------------------------------------- server
class _Handler(BaseHTTPRequestHandler):
    server_version = "InvoiceCloudSandbox/1"
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # to the logger, never stderr
        log.debug("ic sandbox: " + fmt, *args)

    def _dispatch(self, method: str) -> None:
        app: InvoiceCloudServer = self.server.app  # type: ignore[attr-defined]
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        req = Request(method, parts.path, query, {k: v for k, v in self.headers.items()}, body, server=app)
        try:
            resp = app.handle(req)
        except HttpError as exc:
            resp = Response.json({"error": exc.message}, exc.status)
        except DropConnection:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        except Exception:  # noqa: BLE001 - a stand-in must answer, not die
            log.exception("ic sandbox handler failed for %s %s", method, parts.path)
            resp = Response.json({"error": "internal error"}, 500)
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. a stalled answer)
            log.debug("ic sandbox: the client closed the connection before the answer to %s", parts.path)
            self.close_connection = True

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")


class InvoiceCloudServer:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, web_service_key: str = DEMO_WEB_SERVICE_KEY,
                 routes: list[Route] | None = None):
        self.web_service_key = web_service_key
        self.routes = routes if routes is not None else ROUTES
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.app = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def handle(self, req: Request) -> Response:
        allowed = []
        for r in self.routes:
            m = r.pattern.match(req.path)
            if m is None:
                continue
            if r.method != req.method:
                allowed.append(r.method)
                continue
            if r.auth or req.path.startswith("/api/"):
                key = req.headers.get(KEY_HEADER) or next(
                    (v for k, v in req.headers.items() if k.lower() == KEY_HEADER.lower()), "")
                if not hmac.compare_digest(key.encode(), self.web_service_key.encode()):
                    raise HttpError(401, f"missing or wrong {KEY_HEADER} header")
            req.match = m
            return r.handler(req)
        if allowed:
            raise HttpError(405, f"use {', '.join(sorted(set(allowed)))}")
        raise HttpError(404, f"no route for {req.path}")

    def start(self) -> InvoiceCloudServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="ic-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> InvoiceCloudServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start(ctx) -> Any:
    """Runner part."""
    import console.sandbox.ic_conveyance  # noqa: F401 - registers the conveyance routes
    import console.sandbox.ic_gateway  # noqa: F401 - registers the card gateway's routes
    from console.sandbox import ic_balances  # registers the balance routes (account sync)
    from console.sandbox.runner import RunningPart

    server = InvoiceCloudServer(host=ctx.options.host, port=ctx.port_for(0))
    ic_balances.attach(server, ctx)
    server.start()

    def stop() -> None:
        server.stop()
        ic_balances.close(server)

    return RunningPart(name="invoicecloud", urls={"ic_api_url": server.url, "ic_gateway_url": server.url},
                       info={"ic_web_service_key": server.web_service_key}, stop=stop, handle=server)
