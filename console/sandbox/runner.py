"""The sandbox runner: starts every stand-in part (Caselle, Invoice Cloud, SFTP, SMTP...).

Parts are plain modules listed in :data:`PARTS`, each with ``start(ctx) -> RunningPart``.
A part that cannot be imported yet is skipped with a log line, so the runner works while
other parts are being built. ``ctx.port_for(i)`` gives part *i* its port: free ports by
default, ``N, N+1, ...`` when the sandbox runs with ``--port N``.

Two ways to run it:
- ``biller-console sandbox`` runs it in the foreground and writes ``running.json`` (pid and
  URLs) in the sandbox data directory while it runs;
- :func:`ensure_sandbox` (the console and CLI with the ``sandbox`` profile) uses that running
  sandbox when its pid is alive and its port answers, else starts one embedded in this
  process (threads) and stops it at exit.

URL and info keys are flat and unique across parts (``caselle_url``, ``ic_api_url``...):
:meth:`SandboxEndpoints.as_dict` merges them for the composition root.
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.paths import Paths
from console.processes import pid_alive

log = logging.getLogger(__name__)

#: Modules with ``start(ctx) -> RunningPart``, in port order. Other helpers append theirs.
PARTS = [
    "console.sandbox.caselle_server",
    "console.sandbox.smtp_sink",
    "console.sandbox.sftp_server",
    "console.sandbox.invoicecloud_server",
]

STATE_FILE = "running.json"
DEFAULT_SEED = 20210216


@dataclass
class SandboxOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = free ports; N = the Caselle port, other parts N+1, N+2...
    api_version: str = "2021.05"
    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    drop_after_commit_rate: float = 0.0
    seed: int = DEFAULT_SEED  # fault-injection RNG (and anything else a part randomises)
    timeout_sleep_s: float = 35.0  # how long a "timeout" fault stalls before closing the connection
    token_lifetime_s: int | None = None  # Caselle tokens: None = 6 months; negative = already expired


@dataclass
class SandboxContext:
    data_dir: Path
    options: SandboxOptions = field(default_factory=SandboxOptions)

    def port_for(self, index: int) -> int:
        """The port part ``index`` should listen on (0 = let the OS pick a free one)."""
        return 0 if not self.options.port else self.options.port + index


@dataclass
class RunningPart:
    name: str
    urls: dict[str, str]
    info: dict[str, str]  # demo credentials, host key fingerprint...
    stop: Callable[[], None]
    handle: Any = None  # the part's server object, for tests


@dataclass
class SandboxEndpoints:
    """What a running sandbox offers: URLs and info of every part."""

    urls: dict[str, str]
    info: dict[str, str]
    pid: int
    embedded: bool
    failed: dict[str, str] = field(default_factory=dict)  # part module -> why it did not start
    reseeded: str | None = None  # the notice when its stored demo data was reseeded at start

    def as_dict(self) -> dict[str, Any]:
        return {**self.info, **self.urls, "sandbox_pid": self.pid, "sandbox_embedded": self.embedded,
                "sandbox_failed_parts": dict(self.failed), "sandbox_reseeded": self.reseeded}


def default_data_dir() -> Path:
    return Paths.default().sandbox_dir


class Sandbox:
    """Every importable part, started together. A context manager."""

    def __init__(self, options: SandboxOptions | None = None, *, data_dir: Path | None = None,
                 parts: list[str] | None = None, strict: bool = False):
        self.ctx = SandboxContext(Path(data_dir) if data_dir else default_data_dir(), options or SandboxOptions())
        self.part_modules = list(PARTS if parts is None else parts)
        self.strict = strict  # True: a part that fails to start stops everything (foreground run)
        self.running: list[RunningPart] = []
        self.skipped: dict[str, str] = {}  # not importable yet
        self.failed: dict[str, str] = {}  # importable, but start() failed (non-strict only)
        self.reseeded: str | None = None  # why the stored demo data was reseeded at start (None: kept)

    def start(self) -> Sandbox:
        self.ctx.data_dir.mkdir(parents=True, exist_ok=True)
        self._refresh_data()
        try:
            for index, module_name in enumerate(self.part_modules):
                try:
                    module = importlib.import_module(module_name)
                except ImportError as exc:
                    log.info("sandbox part %s skipped: %s", module_name, exc)
                    self.skipped[module_name] = str(exc)
                    continue
                part_ctx = _IndexedContext(self.ctx, index)
                try:
                    self.running.append(module.start(part_ctx))
                except Exception as exc:
                    if self.strict:
                        raise
                    log.exception("sandbox part %s failed to start; the others run without it", module_name)
                    self.failed[module_name] = f"{type(exc).__name__}: {exc}"
        except BaseException:
            self.stop()
            raise
        return self

    def _refresh_data(self) -> None:
        """Reseed stored demo data made by an older generator or gone stale (:mod:`.freshness`)."""
        from console.sandbox import freshness

        try:
            self.reseeded = freshness.refresh(self.ctx.data_dir)
        except Exception:
            if self.strict:
                raise
            log.exception("could not check the sandbox's stored demo data; it is used as it is")

    def stop(self) -> None:
        while self.running:
            part = self.running.pop()
            try:
                part.stop()
            except Exception:  # noqa: BLE001 - stop the others regardless
                log.exception("stopping sandbox part %s failed", part.name)

    def part(self, name: str) -> RunningPart:
        return next(p for p in self.running if p.name == name)

    def endpoints(self) -> dict[str, Any]:
        urls: dict[str, str] = {}
        info: dict[str, str] = {}
        for p in self.running:
            urls.update(p.urls)
            info.update(p.info)
        return {"urls": urls, "info": info}

    def as_endpoints(self, *, embedded: bool) -> SandboxEndpoints:
        e = self.endpoints()
        return SandboxEndpoints(e["urls"], e["info"], os.getpid(), embedded, dict(self.failed), self.reseeded)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _IndexedContext(SandboxContext):
    """The context a part sees: ``port_for(0)`` is its own port, ``port_for(k)`` its k-th extra one."""

    def __init__(self, ctx: SandboxContext, index: int):
        super().__init__(ctx.data_dir, ctx.options)
        self._base = index

    def port_for(self, index: int) -> int:
        return 0 if not self.options.port else self.options.port + self._base + index


# --------------------------------------------------------------------------- running.json
def state_file(data_dir: Path) -> Path:
    return Path(data_dir) / STATE_FILE


def write_state(data_dir: Path, endpoints: SandboxEndpoints) -> None:
    path = state_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": endpoints.pid, "urls": endpoints.urls, "info": endpoints.info,
                               "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2),
                   encoding="utf-8")
    os.replace(tmp, path)


def remove_state(data_dir: Path, pid: int | None = None) -> None:
    path = state_file(data_dir)
    try:
        if pid is not None and json.loads(path.read_text(encoding="utf-8")).get("pid") != pid:
            return  # another process owns it now
        path.unlink()
    except (OSError, ValueError):
        pass


def _port_answers(url: str, timeout: float = 1.0) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout):
            return True
    except OSError:
        return False


def running_sandbox(data_dir: Path) -> SandboxEndpoints | None:
    """The foreground sandbox recorded in ``running.json`` if its pid lives and its port answers."""
    try:
        state = json.loads(state_file(data_dir).read_text(encoding="utf-8"))
        pid, urls = int(state["pid"]), dict(state["urls"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not pid_alive(pid):
        return None
    probe = urls.get("caselle_url") or next(iter(urls.values()), None)
    if probe is None or not _port_answers(probe):
        return None
    return SandboxEndpoints(urls, dict(state.get("info", {})), pid, embedded=False)


# --------------------------------------------------------------------------- embedded
_embedded_lock = threading.Lock()
_embedded: dict[Path, tuple[Sandbox, SandboxEndpoints]] = {}


def ensure_sandbox(paths: Paths | None = None, options: SandboxOptions | None = None) -> SandboxEndpoints:
    """A sandbox to talk to: the running foreground one, else one embedded in this process."""
    data_dir = (paths or Paths.default()).sandbox_dir
    found = running_sandbox(data_dir)
    if found is not None:
        return found
    with _embedded_lock:
        key = Path(os.path.abspath(data_dir))
        if key in _embedded:
            return _embedded[key][1]
        sandbox = Sandbox(options, data_dir=data_dir).start()
        endpoints = sandbox.as_endpoints(embedded=True)
        _embedded[key] = (sandbox, endpoints)
        atexit.register(stop_embedded)
        log.info("embedded sandbox started: %s", endpoints.urls)
        return endpoints


def stop_embedded() -> None:
    """Stop every sandbox :func:`ensure_sandbox` started in this process."""
    with _embedded_lock:
        while _embedded:
            _, (sandbox, _) = _embedded.popitem()
            sandbox.stop()
