"""Secrets through the OS keyring only, with a loud, memory-only fallback.

keyring is initialised with its *recommended* backends only, so a plaintext file backend
(``keyrings.alt``) is never picked silently. When no secure backend exists the store says so
(``secure`` is False, ``backend_description`` explains) and keeps secrets for this session in
memory only; the UI asks for them per session (the CLI: ``console.cli.session_secrets``).

Every value set or read is also added to the store's *redaction set*
(``redaction_values``), which the log filter reads on each record: the filter never calls
the keyring, so a record logged while a keyring backend loads (inside this store's lock)
cannot re-enter the store and hang.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

SERVICE = "biller-console"

# Secret names, per profile: "<profile>/<name>"
CASELLE_CLIENT_SECRET = "caselle_client_secret"
CASELLE_TOKEN = "caselle_token"
IC_WEB_SERVICE_KEY = "ic_web_service_key"
TRANSFER_PASSWORD = "transfer_password"
TRANSFER_KEY_PASSPHRASE = "transfer_key_passphrase"
SMTP_PASSWORD = "smtp_password"
JOURNAL_PASSWORD = "journal_password"  # the PostgreSQL journal's (profile setting journal_url)
#: The audit chain's HMAC key: one per data folder (every profile writes the same journal), so it
#: is kept under the scope "journal", not a profile's name (console.services.audit_anchor).
AUDIT_KEY = "audit_chain_key"
JOURNAL_SCOPE = "journal"
AUTOMATION_SECRET = "automation_secret"  # the PIN of the profile's automation operator (unattended jobs)
ALL = (CASELLE_CLIENT_SECRET, CASELLE_TOKEN, IC_WEB_SERVICE_KEY, TRANSFER_PASSWORD,
       TRANSFER_KEY_PASSPHRASE, SMTP_PASSWORD, AUTOMATION_SECRET,
       JOURNAL_PASSWORD)
LABELS = {
    CASELLE_CLIENT_SECRET: "Caselle client secret", CASELLE_TOKEN: "Caselle OAuth token",
    IC_WEB_SERVICE_KEY: "Invoice Cloud web-service key", TRANSFER_PASSWORD: "Transfer (SFTP/FTP) password",
    TRANSFER_KEY_PASSPHRASE: "Transfer key passphrase", SMTP_PASSWORD: "SMTP password",
    AUTOMATION_SECRET: "Automation operator secret",
    JOURNAL_PASSWORD: "PostgreSQL journal password",
}

# (profile name, secret name) -> the value the operator gives for this session, or None
SessionSource = Callable[[str, str], "str | None"]
_session_source: SessionSource | None = None


def use_session_source(source: SessionSource | None) -> Callable[[], None]:
    """Where a store asks for a secret it does not have (the command line: a terminal prompt or
    ``--secrets-fd``; see ``console.cli.session_secrets``). The GUI asks in its own dialog and
    installs none. Returns a function that puts the previous source back."""
    global _session_source  # noqa: PLW0603 - one per process, installed by the CLI's main only
    previous, _session_source = _session_source, source
    return lambda: use_session_source(previous)


class SecretStore:
    """get/set/delete secrets for one profile. Values never reach logs or files."""

    _UNSET = object()

    def __init__(self, profile_name: str, backend=None):
        self.profile_name = profile_name
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        # values for the log filter: replaced whole (never mutated), so reading needs no lock
        self._redaction: frozenset[str] = frozenset()
        self._redaction_lock = threading.Lock()  # serialises writers only
        self._asked: set[str] = set()  # secrets the session source was asked for (once each)
        # Finding the keyring backend costs ~0.15 s (D-Bus probing): done on first use, not at start-up.
        self._backend_value = backend if backend is not None else self._UNSET

    @property
    def _backend(self):
        if self._backend_value is self._UNSET:
            with self._lock:
                if self._backend_value is self._UNSET:
                    self._backend_value = _recommended_backend()
        return self._backend_value

    @_backend.setter
    def _backend(self, backend) -> None:
        self._backend_value = backend

    @property
    def secure(self) -> bool:
        return self._backend is not None

    @property
    def backend_description(self) -> str:
        if self._backend is None:
            return ("No secure keyring is available: secrets are kept in memory for this session only "
                    "and must be entered again next time")
        b = self._backend
        return f"{type(b).__module__}.{type(b).__name__}"

    def shared(self) -> SecretStore:
        """The store for the data folder's own secrets (the audit chain's key), on the same backend."""
        store = SecretStore(JOURNAL_SCOPE)
        store._backend_value = self._backend_value
        return store

    def _key(self, name: str) -> str:
        return f"{self.profile_name}/{name}"

    def get(self, name: str) -> str | None:
        """The secret from this session's memory, else the keyring, else (command line) what the
        operator gives for this session."""
        return self._lookup(name, ask=True)

    def stored(self, name: str) -> str | None:
        """The secret from memory or the keyring only: never asked of the operator (the audit
        chain's key is made by the console, not typed)."""
        return self._lookup(name, ask=False)

    def _lookup(self, name: str, *, ask: bool) -> str | None:
        with self._lock:
            if name in self._memory:
                return self._memory[name]
        value = None
        if self._backend is not None:
            try:
                value = self._backend.get_password(SERVICE, self._key(name))
            except Exception as exc:  # keyring backends raise their own types
                log.warning("keyring read failed for %s: %s", name, type(exc).__name__)
        if not value:
            return self._from_session(name) if ask else None
        self._remember(value)
        return value

    def _from_session(self, name: str) -> str | None:
        """A secret the operator gives for this session (prompt or file descriptor), asked for
        once; kept in memory only (never in the keyring, a file or the journal)."""
        source = _session_source
        if source is None or name in self._asked:
            return None
        self._asked.add(name)
        value = source(self.profile_name, name)
        if not value:
            return None
        self.set(name, value, session_only=True)
        return value

    def set(self, name: str, value: str, *, session_only: bool = False) -> None:
        self._remember(value)  # before anything can log it
        if session_only or self._backend is None:
            with self._lock:
                self._memory[name] = value
            return
        self._backend.set_password(SERVICE, self._key(name), value)
        with self._lock:
            self._memory.pop(name, None)

    def delete(self, name: str) -> None:
        with self._lock:
            self._memory.pop(name, None)
        if self._backend is not None:
            try:
                self._backend.delete_password(SERVICE, self._key(name))
            except Exception:  # noqa: BLE001 - absent is fine
                pass

    def _remember(self, value: str | None) -> None:
        if value and value not in self._redaction:
            with self._redaction_lock:
                self._redaction = self._redaction | {value}

    def redaction_values(self) -> frozenset[str]:
        """Every secret value set or read so far in this process, for the log redaction filter.
        Never touches the keyring or the store's lock (safe while a backend is loading)."""
        return self._redaction

    def known_values(self) -> list[str]:
        """Every secret value stored now (reads the keyring, asks no one: for the support
        bundle's scan; never from inside a log filter, which reads ``redaction_values``)."""
        values = []
        for name in ALL:
            v = self._lookup(name, ask=False)
            if v:
                values.append(v)
        return values


def _recommended_backend():
    """The best keyring backend of 'recommended' priority, or None: never a plaintext one."""
    try:
        import keyring.backend
        import keyring.core
    except ImportError:  # pragma: no cover - keyring is a hard dependency
        return None
    try:
        backend = keyring.core._detect_backend(limit=keyring.core.recommended)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        backend = None
    if backend is None:
        return None
    name = type(backend).__name__.lower()
    module = type(backend).__module__.lower()
    if "fail" in name or "null" in name or "plaintext" in name or "keyrings.alt" in module:
        return None
    try:
        if backend.priority < 1:  # type: ignore[attr-defined]
            return None
    except Exception:  # noqa: BLE001
        return None
    return backend


class MemoryBackend:
    """A keyring-shaped in-memory backend for tests and the sandbox's demo credentials."""

    priority = 1

    def __init__(self):
        self._data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._data.pop((service, username), None)
