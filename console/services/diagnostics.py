"""Diagnostics: each check says pass / warn / fail, what it found and how to fix it.

GUI-free; used by the Diagnostics tab, ``biller-console diagnose`` and the support bundle.
The Caselle checks share one probe (one round trip): reachability, the server's ``Date``
header (clock check), authentication, token expiry and the API version.
"""

from __future__ import annotations

import logging
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from console import __version__
from console.config import API_VERSIONS, validate
from console.domain.wording import agree, counted
from console.errors import AuthError, ConsoleError, NetworkError, UnsupportedVersionError, UserFacingError
from console.formatting import format_date, format_datetime
from console.services import diagnostics_journal
from console.services.diagnostics_integration import (
    NOT_SUPPORTED_TITLE,
    READERS_TITLE,
    check_card_readers,
    check_not_supported,
)
from console.services.diagnostics_journal_server import (
    check_journal_server,
    check_shared_ksns,
    uses_journal_server,
)

log = logging.getLogger(__name__)

PASS, WARN, FAIL = "pass", "warn", "fail"
_RANK = {PASS: 0, WARN: 1, FAIL: 2}

TOKEN_WARN_DAYS = 30  # tokens expire after 6 months by default: warn a month ahead
CLOCK_WARN_S = 60
CLOCK_FAIL_S = 300
DISK_WARN_BYTES = 1_000_000_000
DISK_FAIL_BYTES = 200_000_000

# Short names for the operator; the feature tables themselves live in the Caselle adapter.
FEATURE_NAMES = {
    "utility_search": "Account search", "customer_detail": "Customer detail", "adjustments": "Adjustments",
    "create_receipt": "Receipts (create_receipt)", "void_receipt": "Voids (void_receipt)",
    "batches": "Batches", "update_customer": "Phone / e-mail changes (update_customer)",
    "paperless": "Paperless enrollment", "ach_reject": "ACH rejects",
    "set_direct_pay_status": "AutoPay enrollment changes (set_direct_pay_status)",
}


def version_key(version: str) -> tuple[int, ...]:
    parts = []
    for p in str(version).split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _features_by_version() -> dict[str, frozenset[str]]:
    from console.adapters.caselle import FEATURES_BY_VERSION

    return FEATURES_BY_VERSION


def features_for(version: str, features: frozenset[str] | set[str] | None = None) -> list[tuple[str, bool, str]]:
    """(feature, enabled, explanation) for an API version (or for the features a server reports)."""
    by_version = _features_by_version()
    if features is None:
        features = by_version.get(version)
    if features is None:  # an unknown version: everything its known predecessors have
        features = frozenset().union(*(f for v, f in by_version.items() if version_key(v) <= version_key(version)))
    needs: dict[str, str] = {}
    for v in sorted(by_version, key=version_key):
        for f in by_version[v]:
            needs.setdefault(f, v)
    out = []
    for f in sorted(needs, key=lambda f: (version_key(needs[f]), FEATURE_NAMES.get(f, f))):
        name = FEATURE_NAMES.get(f, f.replace("_", " "))
        enabled = f in features
        out.append((name, enabled, f"enabled on {version}" if enabled else f"disabled on {version} — needs {needs[f]}"))
    return out


@dataclass
class Check:
    key: str
    title: str
    state: str
    summary: str
    hint: str = ""
    details: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DiagnosticsReport:
    checks: list[Check]
    profile: str
    started_at: str
    duration_ms: int
    version: str = __version__

    @property
    def overall(self) -> str:
        return max((c.state for c in self.checks), key=_RANK.__getitem__, default=PASS)

    @property
    def failed(self) -> bool:
        return any(c.state == FAIL for c in self.checks)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.checks if c.state == s) for s in (PASS, WARN, FAIL)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "console_version": self.version,
            "profile": self.profile,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "overall": self.overall,
            "counts": self.counts(),
            "environment": environment(),
            "checks": [c.as_dict() for c in self.checks],
        }


def environment() -> dict[str, str]:
    return {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine()}


# ---- the Caselle probe ------------------------------------------------------------------

@dataclass
class CaselleProbe:
    """What one round trip to Caselle Connect told us."""

    configured: bool = True
    url: str = ""
    reachable: bool = False
    auth_ok: bool | None = None  # None: not checked (unreachable)
    api_version: str | None = None  # what the server reports
    features: frozenset[str] | None = None  # what the server reports
    server_date: datetime | None = None
    token_expires: datetime | None = None
    latency_ms: int | None = None
    sandbox: bool | None = None
    error: BaseException | None = None
    note: str = ""


def _to_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None


def caselle_client(services, timeout: float) -> tuple[Any, bool]:
    """(client, owned): the composition root's ``services.caselle`` when it has one, else a
    client built from the profile's endpoints and the keyring (owned: close it after use)."""
    if hasattr(type(services), "caselle"):
        return services.caselle, False
    from console.adapters.caselle import CaselleClient, StoredToken

    ep = services.endpoints
    token = StoredToken(services.secrets, token_url=ep.get("caselle_token_url"),
                        client_id=ep.get("caselle_client_id") or services.profile.caselle_client_id,
                        client_secret=ep.get("caselle_client_secret"), timeout=timeout)
    return CaselleClient(ep["caselle_url"], token, timeout=timeout, query_retries=0,
                         operator=getattr(services, "operator_id", "")), True


def _http_probe(url: str, timeout: float) -> tuple[bool, datetime | None, int | None, str]:
    """A plain GET of the endpoint: (answered, its Date header, latency ms, error text).

    Used when the API could not be asked (e.g. no token yet): any HTTP answer proves the
    server is reachable, and its Date header still allows the clock check.
    """
    import requests

    started = time.monotonic()
    try:
        resp = requests.get(url, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - requests raises its own hierarchy
        return False, None, None, f"{type(exc).__name__}"
    latency = int((time.monotonic() - started) * 1000)
    return True, _to_datetime(resp.headers.get("Date")), latency, ""


def probe_caselle(services, *, timeout: float | None = None) -> CaselleProbe:
    """Ask Caselle Connect once (``apiInfo``) and record what it says. Never raises."""
    profile = services.profile
    timeout = float(timeout or profile.caselle_timeout_s or 20)
    probe = CaselleProbe()
    try:
        url = str(services.endpoints.get("caselle_url") or "")
    except Exception as exc:  # noqa: BLE001 - e.g. the sandbox failed to start
        log.exception("Caselle endpoints unavailable")
        probe.error = exc
        return probe
    probe.url = url
    if not url:
        probe.configured = False
        return probe
    client = owned = None
    started = time.monotonic()
    try:
        client, owned = caselle_client(services, timeout)
        info = client.api_info()
        probe.latency_ms = int((time.monotonic() - started) * 1000)
        probe.reachable = probe.auth_ok = True
        probe.api_version = str(info.get("version") or "") or None
        probe.features = frozenset(info.get("features") or ()) or None
        probe.server_date = _to_datetime(info.get("serverTime"))
        probe.sandbox = info.get("sandbox")
        probe.token_expires = _to_datetime(client.token_expires_at)
    except AuthError as exc:
        answered, probe.server_date, probe.latency_ms, why = _http_probe(url, timeout)
        if answered:
            probe.reachable, probe.auth_ok, probe.error = True, False, exc
        else:
            probe.error = NetworkError(f"cannot connect to Caselle at {url} ({why})", system="Caselle")
            probe.note = f"no sign-in was possible either: {_message(exc)}"
    except NetworkError as exc:
        probe.error = exc
    except ConsoleError as exc:  # answered, but with an error (5xx, protocol, GraphQL)
        probe.reachable, probe.error = True, exc
    except Exception as exc:  # noqa: BLE001 - a diagnostic must report, not crash
        log.exception("Caselle probe failed")
        probe.error = exc
    finally:
        if owned and client is not None:
            client.close()
    return probe


# ---- the checks -------------------------------------------------------------------------

class _Run:
    def __init__(self, services, now: datetime, caselle_probe: Callable[[], CaselleProbe], *, thorough: bool = False):
        self.services = services
        self.now = now
        self.thorough = thorough  # SQLite's full integrity_check instead of quick_check
        self._probe_fn = caselle_probe
        self._probe: CaselleProbe | None = None

    @property
    def probe(self) -> CaselleProbe:
        if self._probe is None:
            self._probe = self._probe_fn()
        return self._probe


def check_profile(run: _Run) -> Check:
    profile = run.services.profile
    problems = validate(profile)
    if problems:
        return Check("profile", "Profile settings", FAIL, f"Profile {profile.name!r} has {counted(len(problems), 'problem')}",
                     "Open File › Settings… and correct the settings marked in red",
                     [str(p) for p in problems])
    kind = "built-in training profile" if profile.is_sandbox else "production profile"
    details = [f"{counted(len(profile.operators), 'operator')}", f"{counted(len(profile.gl_map), 'GL mapping')}"]
    details += [f"GL mapping: item {code} → {account}" for code, account in sorted(profile.gl_map.items())[:50]]
    if not any(o.role == "supervisor" and o.pin_hash for o in profile.operators):
        return Check("profile", "Profile settings", WARN,
                     f"{profile.name!r} has no supervisor with a PIN: voids and overrides are refused",
                     "A supervisor adds operators in File › Settings › Operators", details)
    return Check("profile", "Profile settings", PASS, f"{profile.name!r} ({kind}) is valid", "", details)


def check_keyring(run: _Run) -> Check:
    store = run.services.secrets
    if store.secure:
        return Check("keyring", "Secret storage", PASS, "Secrets are kept in the system keyring",
                     details=[store.backend_description])
    if run.services.profile.is_sandbox:
        return Check("keyring", "Secret storage", PASS,
                     "Training profile needs no keyring (note: this PC has no secure keyring, so production "
                     "secrets would be kept for one session only)",
                     details=[store.backend_description])
    return Check("keyring", "Secret storage", WARN, "No secure keyring: secrets are kept in memory for this session only",
                 "Install and unlock a keyring (Windows Credential Manager, GNOME Keyring / KWallet); "
                 "until then secrets must be entered each session",
                 [store.backend_description])


def required_secrets(profile) -> list[tuple[str, str]]:
    """(secret name, label) a production profile cannot work without. The Caselle client
    secret is optional: the OAuth token is what every request carries."""
    from console import secrets as s

    needed = [(s.CASELLE_TOKEN, "Caselle OAuth token"), (s.IC_WEB_SERVICE_KEY, "Invoice Cloud web-service key")]
    if profile.transfer_auth == "password":
        needed.append((s.TRANSFER_PASSWORD, "Transfer (SFTP/FTP) password"))
    if profile.smtp_host and profile.smtp_user:
        needed.append((s.SMTP_PASSWORD, "SMTP password"))
    return needed


def check_secrets(run: _Run) -> Check:
    profile = run.services.profile
    if profile.is_sandbox:
        return Check("secrets", "Credentials", PASS, "Training profile: the sandbox provides demo credentials")
    missing = [label for name, label in required_secrets(profile) if not run.services.secrets.get(name)]
    if missing:
        return Check("secrets", "Credentials", FAIL, f"{counted(len(missing), 'credential')} not entered",
                     "Enter them in File › Settings… (they are stored in the keyring only)", missing)
    return Check("secrets", "Credentials", PASS, "Every credential this profile needs is present")


def check_caselle_reachable(run: _Run) -> Check:
    p = run.probe
    title = "Caselle Connect reachable"
    if not p.configured:
        return Check("caselle_reachable", title, FAIL, "No Caselle Connect URL configured",
                     "Enter the Caselle Connect URL in File › Settings… › Caselle")
    if not p.reachable:
        hint = ("The sandbox could not start: see the log, or run `biller-console sandbox` in a terminal"
                if run.services.profile.is_sandbox and not p.url else
                "Check the URL, the network and any proxy or firewall between this PC and the server")
        return Check("caselle_reachable", title, FAIL, f"Caselle Connect did not answer: {_message(p.error)}",
                     hint, ([p.url] if p.url else []) + ([p.note] if p.note else []))
    answered = f"answered in {p.latency_ms} ms" if p.latency_ms is not None else "answered"
    details = [p.url, answered] + ([p.note] if p.note else [])
    return Check("caselle_reachable", title, PASS, f"Caselle Connect {answered}", "", details)


def _message(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


def check_caselle_auth(run: _Run) -> Check:
    p = run.probe
    title = "Caselle sign-in and token"
    if not p.reachable:
        return Check("caselle_auth", title, WARN, "Not checked: Caselle Connect is not reachable",
                     "Fix the connection first")
    if p.auth_ok is False:
        return Check("caselle_auth", title, FAIL, f"Caselle refused the credentials: {_message(p.error)}",
                     "Create a new token in Caselle (third-party access) and enter it in File › Settings… › Caselle")
    if p.error is not None:
        return Check("caselle_auth", title, FAIL, f"Caselle Connect returned an error: {_message(p.error)}",
                     "See the log for details; check the API version and client ID in Settings")
    if p.token_expires is None:
        return Check("caselle_auth", title, PASS, "Signed in; the token has no expiry date",
                     details=["Non-expiring token (automatic authorization)"])
    left = p.token_expires - run.now
    when = format_date(p.token_expires)
    if left <= timedelta(0):
        return Check("caselle_auth", title, FAIL, f"The Caselle token expired on {when}",
                     "Create a new token in Caselle (third-party access) and enter it in Settings")
    days = left.days
    if days < TOKEN_WARN_DAYS:
        return Check("caselle_auth", title, WARN, f"The Caselle token expires in {counted(days, 'day')}, on {when}",
                     "Renew the token in Caselle before it expires, then enter it in File › Settings… › Caselle")
    return Check("caselle_auth", title, PASS, f"Signed in; the token is valid until {when} ({days} days)")


def check_api_version(run: _Run) -> Check:
    configured = str(run.services.profile.caselle_api_version)
    p = run.probe
    reported = p.api_version
    version = reported or configured
    feats = features_for(version, p.features)
    details = [f"{name}: {why}" for name, _ok, why in feats]
    title = "Caselle API version and features"
    if version_key(version) < version_key(min(API_VERSIONS, key=version_key)):
        return Check("api_version", title, FAIL, f"API version {version} is older than the oldest supported "
                     f"({min(API_VERSIONS, key=version_key)})", "Have Caselle upgraded", details)
    if reported and version_key(reported) < version_key(configured):
        off = [n for n, ok, _ in feats if not ok]
        return Check("api_version", title, WARN,
                     f"The server runs {reported} but the profile says {configured}"
                     + (f": {', '.join(off)} disabled" if off else ""),
                     f"Set the API version to {reported} in File › Settings… › Caselle, or have Caselle "
                     "upgraded; features the server lacks stay disabled with an explanation", details)
    source = "reported by the server" if reported else "from the profile; the server was not asked"
    disabled = [(n, why) for n, ok, why in feats if not ok]
    if disabled:
        needs = max((why.rsplit(" ", 1)[-1] for _n, why in disabled), key=version_key)
        return Check("api_version", title, WARN, f"API {version} ({source}): {counted(len(disabled), 'feature')} disabled",
                     f"{', '.join(n for n, _ in disabled)} need {needs}: ask Caselle about the upgrade; until "
                     "then those actions stay disabled with an explanation", details)
    if reported and version_key(reported) > version_key(configured):
        return Check("api_version", title, WARN, f"The server runs {reported}; the profile still says {configured}",
                     f"Set the API version to {reported} in File › Settings… › Caselle", details)
    return Check("api_version", title, PASS, f"API {version} ({source}): every feature is available", "", details)


def check_clock(run: _Run) -> Check:
    p = run.probe
    title = "Clock"
    local = run.now
    if p.server_date is None:
        return Check("clock", title, WARN if not run.services.profile.is_sandbox else PASS,
                     f"Local time {format_datetime(local, seconds=True)}; the server's time is not "
                     "available to compare", "Check the PC's clock is synchronised (Windows Time / NTP)")
    skew = (local - p.server_date).total_seconds()
    where = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} Caselle Connect"
    if abs(skew) >= CLOCK_FAIL_S:
        return Check("clock", title, FAIL, f"This PC's clock is {where}",
                     "Correct the PC's date and time (enable automatic time); receipt dates and token "
                     "checks depend on it")
    if abs(skew) >= CLOCK_WARN_S:
        return Check("clock", title, WARN, f"This PC's clock is {where}", "Enable automatic time synchronisation")
    return Check("clock", title, PASS, f"In step with Caselle Connect (within {max(1, round(abs(skew)))} s)")


def check_disk(run: _Run) -> Check:
    data = run.services.paths.data_dir
    usage = shutil.disk_usage(data)
    free_gb = usage.free / 1e9
    summary = f"{free_gb:.1f} GB free on the data drive"
    if usage.free < DISK_FAIL_BYTES:
        return Check("disk", "Disk space", FAIL, summary, "Free disk space: the journal and logs need room", [str(data)])
    if usage.free < DISK_WARN_BYTES:
        return Check("disk", "Disk space", WARN, summary, "Free some disk space soon", [str(data)])
    return Check("disk", "Disk space", PASS, summary, "", [str(data)])


def _writable(folder: Path) -> str | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-", delete=True) as fh:
            fh.write(b"ok")
            fh.flush()
        return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"


def check_journal(run: _Run) -> Check:
    if uses_journal_server(run.services):
        return check_journal_server(run)
    path = run.services.paths.journal_file
    error = _writable(path.parent)
    if error:
        return Check("journal", "Journal location", FAIL, f"Cannot write to {path.parent}: {error}",
                     "The journal records every posting: give this user write access to the folder", [str(path)])
    state = f"{path.stat().st_size / 1e6:.1f} MB" if path.exists() else "not created yet"
    details = [str(path)]
    services = run.services
    if hasattr(type(services), "journal") and path.exists():
        counts = services.journal.counts()
        details.append(", ".join(f"{n} {state_.replace('_', ' ')}" for state_, n in counts.items()))
        review = counts.get("needs_review", 0)
        if review:
            return Check("journal", "Journal location", WARN,
                         f"Writable ({state}); {counted(review, 'posting')} {agree(review, 'needs')} review",
                         "Open the Posting tab and resolve them (a supervisor decides): the console did not "
                         "learn whether Caselle has them", details)
    return Check("journal", "Journal location", PASS, f"Writable ({state})", "", details)


KSN_TITLE = "Card reader duplicate-swipe memory"
_KSN_FIX_ACCESS = ("Give this user write access to the data folder and the file (read-only folders, "
                   "synced or redirected folders and antivirus locks are the usual causes); until then a "
                   "replayed card read is refused only until the console closes")


def _ksn_retention(profile) -> tuple[int, str]:
    """(days, note): the profile's ``reader_ksn_days``, or the default when it is not valid."""
    from console.devices.reader_config import ReaderSettings, check_ksn_days

    try:
        return check_ksn_days(profile.get("reader_ksn_days")), ""
    except (TypeError, ValueError):
        days = ReaderSettings().ksn_days
        return days, f"the profile's retention is not valid (see Profile settings): {days} days assumed"


def _ksn_stats(path: Path) -> list[str]:
    """Details about the remembered reads — when, and by which reader; never a KSN itself."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return []
    try:
        oldest, newest = conn.execute("SELECT MIN(seen_at), MAX(seen_at) FROM seen_ksns").fetchone()
        readers = conn.execute("SELECT serial, COUNT(*) FROM seen_ksns GROUP BY serial "
                               "ORDER BY COUNT(*) DESC, serial LIMIT 6").fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()
    if oldest is None:
        return []

    def when(ts: float) -> str:
        return format_datetime(datetime.fromtimestamp(ts, UTC))

    shown = ", ".join(f"{serial or 'no serial (keyed)'}: {n}" for serial, n in readers[:5])
    more = " …" if len(readers) > 5 else ""
    return [f"oldest remembered read {when(oldest)}, newest {when(newest)}", f"reads by reader: {shown}{more}"]


def check_reader_ksns(run: _Run) -> Check:
    """Open the duplicate-swipe memory (``reader_ksns.sqlite3``) read/write as the counter does:
    schema checked, expired reads pruned — nothing is added, so no read counts as a swipe."""
    from console.adapters.journal import JournalError
    from console.devices.ksn_memory import FILE_NAME, KsnStore

    folder = run.services.paths.data_dir
    path = folder / FILE_NAME
    days, note = _ksn_retention(run.services.profile)
    if uses_journal_server(run.services):
        return check_shared_ksns(run, KSN_TITLE, days)
    details = [str(path), f"retention {days} days"] + ([note] if note else [])
    error = _writable(folder)
    if error:
        return Check("reader_ksns", KSN_TITLE, FAIL, f"Cannot write to {folder}: {error}", _KSN_FIX_ACCESS, details)
    created = not path.exists()  # made now, as the console makes it when it starts
    try:
        store = KsnStore(path, days=days)
    except JournalError as exc:  # the schema is newer than this program
        return Check("reader_ksns", KSN_TITLE, FAIL,
                     f"{FILE_NAME} was written by a newer version of the console: {exc}",
                     "Update this console to the version the other PCs on this data folder use. Do not delete "
                     "the file: it is what refuses a replayed card read", details)
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return Check("reader_ksns", KSN_TITLE, WARN, f"{FILE_NAME} is busy: {text}",
                         "Run the checks again; if it stays busy, close other programs or consoles using the "
                         "data folder", details)
        return Check("reader_ksns", KSN_TITLE, FAIL, f"Cannot write {FILE_NAME}: {text}", _KSN_FIX_ACCESS, details)
    except sqlite3.DatabaseError as exc:
        return Check("reader_ksns", KSN_TITLE, FAIL, f"{FILE_NAME} is damaged: {exc}",
                     "Close the console, rename the file (keep it for support) and start the console again: it "
                     "makes a new one. Card reads taken before then are not recognised as duplicates", details)
    try:
        count = store.count()
    finally:
        store.close()
    if not count:
        return Check("reader_ksns", KSN_TITLE, PASS,
                     f"Ready: no card read remembered yet (each read is kept {days} days)", "",
                     details + (["the file was created by this check"] if created else []))
    details += _ksn_stats(path)
    return Check("reader_ksns", KSN_TITLE, PASS,
                 f"Remembers {counted(count, 'card read')} for {days} days; a replay is refused, also after a restart",
                 "", details)


def check_logs(run: _Run) -> Check:
    paths = run.services.paths
    error = _writable(paths.log_dir)
    if error:
        return Check("logs", "Log location", WARN, f"Cannot write logs to {paths.log_dir}: {error}",
                     "Give this user write access to the log folder (support needs the logs)", [str(paths.log_file)])
    files = sorted(paths.log_dir.glob(paths.log_file.name + "*"))
    size = sum(f.stat().st_size for f in files)
    return Check("logs", "Log location", PASS, f"Writable ({counted(len(files), 'file')}, {size / 1e6:.1f} MB)", "",
                 [str(paths.log_file)])


def check_transfer(run: _Run) -> Check | None:
    """Log in to the transfer server (Stratus / SFTP) and look at every folder; None when this
    build has no transfer service."""
    services = run.services
    if not hasattr(type(services), "transfer") and "transfer" not in getattr(services, "overrides", {}):
        return None
    title = "Transfer server (Stratus)"
    report = services.transfer.test_connection()
    state = getattr(report, "state", "")
    details = [report.destination] if getattr(report, "destination", "") else []
    if getattr(report, "fingerprint", ""):
        details.append(f"host key {report.fingerprint}")
    for f in getattr(report, "folders", ()):
        details.append(f"{f.folder}: " + (f"{f.awaiting_pickup} waiting for pickup, {f.delivered} delivered"
                                          if f.exists else f"missing or unreadable {f.error}".strip()))
    hint = getattr(report, "hint", "") or ""
    if state == "connected":
        missing = [f.folder for f in report.folders if not f.exists]
        if missing:
            return Check("transfer", title, WARN, report.message, hint or "Check the remote folders in Settings",
                         details)
        return Check("transfer", title, PASS, report.message, "", details)
    if state == "host key unknown":
        return Check("transfer", title, WARN, report.message,
                     hint or "Compare the fingerprint with the provider's and trust it in the transfer panel",
                     details)
    if getattr(report, "insecure", False):
        details.append("plain FTP: credentials travel unencrypted")
    return Check("transfer", title, FAIL, report.message or state,
                 hint or "Check the transfer host, port, user and password in Settings", details)


CHECKS: tuple[tuple[str, Callable[[_Run], Check | None]], ...] = (
    ("Profile settings", check_profile),
    ("Secret storage", check_keyring),
    ("Credentials", check_secrets),
    ("Caselle Connect reachable", check_caselle_reachable),
    ("Caselle sign-in and token", check_caselle_auth),
    ("Caselle API version and features", check_api_version),
    ("Clock", check_clock),
    ("Transfer server (Stratus)", check_transfer),
    ("Disk space", check_disk),
    ("Journal location", check_journal),
    (KSN_TITLE, check_reader_ksns),
    (diagnostics_journal.INTEGRITY_TITLE, diagnostics_journal.check_integrity),
    (diagnostics_journal.AUDIT_TITLE, diagnostics_journal.check_audit),
    (diagnostics_journal.BACKUP_TITLE, diagnostics_journal.check_backups),
    ("Log location", check_logs),
    (READERS_TITLE, check_card_readers),
    (NOT_SUPPORTED_TITLE, check_not_supported),
)


def _audit_or_none(services):
    """The audit log for the permission check; None when the journal server is away or the local
    journal is damaged (Diagnostics must still run then, to say so; the refusal goes unaudited)."""
    from console.adapters.journal import JournalError

    try:
        return getattr(services, "audit", None)
    except (JournalError, UserFacingError):
        return None


def run_checks(services, *, operator, progress=None, cancel=None, now: datetime | None = None,
               caselle_probe: Callable[[], CaselleProbe] | None = None, thorough: bool = False) -> DiagnosticsReport:
    """Run every check in order; a check that crashes is reported as failed, never raised.
    ``operator`` must be allowed ``diagnostics`` (the command line's ``diagnose`` runs as
    ``operators.COMMAND_LINE_READ_ONLY``); ``thorough`` adds SQLite's full ``integrity_check``."""
    from console.errors import Cancelled
    from console.services.operators import require

    require(services.profile, operator, "diagnostics", _audit_or_none(services))

    started = time.monotonic()
    started_at = datetime.now(UTC)
    run = _Run(services, now or datetime.now(UTC), caselle_probe or (lambda: probe_caselle(services)), thorough=thorough)
    checks: list[Check] = []
    total = len(CHECKS)
    for i, (title, fn) in enumerate(CHECKS):
        if cancel is not None and cancel.is_set():
            raise Cancelled("diagnostics cancelled")
        if progress:
            progress(i, total, title)
        try:
            check = fn(run)
            if check is not None:  # None: does not apply to this build or profile
                checks.append(check)
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            log.exception("diagnostic check %s crashed", title)
            checks.append(Check(fn.__name__.removeprefix("check_"), title, FAIL,
                                f"The check itself failed: {type(exc).__name__}: {exc}",
                                "Export a support bundle and send it to support"))
    if progress:
        progress(total, total, "done")
    return DiagnosticsReport(checks, services.profile.name, started_at.isoformat(timespec="seconds"),
                             int((time.monotonic() - started) * 1000))


# ---- the status bar's connection state -------------------------------------------------

@dataclass(frozen=True)
class ConnectionStatus:
    state: str  # "connected" | "unreachable" | "auth failed" | "not configured" | "error"
    api_version: str
    detail: str = ""
    token_warning: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "connected"


def connection_status(services, *, now: datetime | None = None) -> ConnectionStatus:
    """One probe summarised for the status bar (API version falls back to the profile's)."""
    p = probe_caselle(services)
    version = p.api_version or str(services.profile.caselle_api_version)
    if not p.configured:
        return ConnectionStatus("not configured", version, "No Caselle Connect URL in the profile")
    if not p.reachable:
        return ConnectionStatus("unreachable", version, _message(p.error))
    if p.auth_ok is False:
        return ConnectionStatus("auth failed", version, _message(p.error))
    if isinstance(p.error, UnsupportedVersionError):
        return ConnectionStatus("error", version, _message(p.error))
    if p.error is not None:
        return ConnectionStatus("error", version, _message(p.error))
    warning = ""
    if p.token_expires is not None:
        days = (p.token_expires - (now or datetime.now(UTC))).days
        if days < TOKEN_WARN_DAYS:
            warning = "token expired" if days < 0 else f"token expires in {counted(days, 'day')}"
    return ConnectionStatus("connected", version, p.url, warning)
