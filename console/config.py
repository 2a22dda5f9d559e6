"""Profiles: every setting declared once (key, type, default, label, validation).

A profile is what the console connects to. ``sandbox`` is built in and is the default when
nothing is configured; production profiles live in ``profiles.toml`` in the platform config
directory. Secrets are never part of a profile: they live in the OS keyring
(``console.secrets``). The settings dialog is generated from ``FIELDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets as _secrets
import tomllib
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w

from console.devices import reader_config as _reader
from console.domain import bif as _bif
from console.domain import invoice_types as _types
from console.domain.money import AmountError, money
from console.errors import Problem, ValidationError
from console.paths import Paths

SANDBOX = "sandbox"
API_VERSIONS = ("2021.02.160", "2021.05")
ROLES = ("cashier", "clerk", "supervisor", "support", "automation")
CASELLE_WORKERS = (1, 16)  # bounds of the parallel Caselle calls a posting run makes


def _check_workers(value: Any) -> int:
    lo, hi = CASELLE_WORKERS
    if not lo <= int(value) <= hi:
        raise ValueError(f"must be between {lo} and {hi} (more would flood Caselle)")
    return int(value)


@dataclass(frozen=True)
class Setting:
    """One declared setting: where it lives in the TOML, its type, default and rules."""

    section: str
    key: str
    kind: str  # str | int | bool | money | choice | url | list | path
    default: Any
    label: str
    help: str = ""
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    required_in_production: bool = False
    check: Any = None  # optional rule on the typed value: returns it or raises ValueError (the message)

    @property
    def name(self) -> str:
        return f"{self.section}_{self.key}"


JOURNAL_URL_ENV = "BILLER_CONSOLE_JOURNAL_URL"
JOURNAL_SQLITE = "sqlite"


def check_journal_url(value: str) -> str:
    """``sqlite`` (this PC's file) or a ``postgresql://`` URL without a password (that is kept in the keyring)."""
    from urllib.parse import urlsplit

    value = (value or "").strip() or JOURNAL_SQLITE
    if value == JOURNAL_SQLITE:
        return value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL: {exc}") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("must be sqlite or a postgresql:// URL")
    if parts.password is not None:
        raise ValueError("must not hold the password: enter it as the journal password (kept in the keyring)")
    if not parts.path.strip("/"):
        raise ValueError("must name the database, e.g. postgresql://console@server/office_journal")
    return value


FIELDS: tuple[Setting, ...] = (
    # The journal (docs/journal-postgresql.md)
    Setting("journal", "url", "str", JOURNAL_SQLITE, "Journal",
            "sqlite: this PC's own journal file (one PC); postgresql://user@server/database: one journal "
            "shared by every console of the office (the password is kept in the keyring). "
            "$BILLER_CONSOLE_JOURNAL_URL overrides it.", check=check_journal_url),
    # Caselle Connect
    Setting("caselle", "url", "url", "", "Caselle Connect URL", "GraphQL endpoint, https:// in production",
            required_in_production=True),
    Setting("caselle", "api_version", "choice", "2021.05", "API version", "Features depend on it",
            choices=API_VERSIONS),
    Setting("caselle", "client_id", "str", "", "Client ID", "Third-party access client ID",
            required_in_production=True),
    Setting("caselle", "timeout_s", "int", 20, "Request timeout (s)"),
    Setting("caselle", "workers", "int", 4, "Parallel posting calls",
            "Payments posted at once, 1–16. Several keep a run going while one call waits out its "
            "timeout (a run then takes about the stalls' time divided by this); more would flood Caselle.",
            check=_check_workers),
    # Invoice Cloud
    Setting("invoicecloud", "biller_id", "str", "", "Biller ID", pattern=r"[A-Za-z0-9]{1,10}",
            required_in_production=True),
    Setting("invoicecloud", "api_url", "url", "", "Invoice Cloud API URL", required_in_production=True),
    Setting("invoicecloud", "gateway_url", "url", "", "Card gateway URL", required_in_production=True),
    Setting("invoicecloud", "invoice_type", "int", 42, "Invoice type (utility bills)"),
    Setting("invoicecloud", "virtual_site", "url", "", "Virtual site",
            "The Invoice Cloud site the biller's customers pay at; shown on receipts and the account panel"),
    Setting("invoicecloud", "invoice_layout", "str", "ic-invoice-v1", "Invoice file layout",
            "A layout under resources/layouts or the administrator's layouts folder", pattern=r"[A-Za-z0-9_.-]+"),
    # Transfer (Stratus / SFTP / FTP)
    Setting("transfer", "protocol", "choice", "sftp", "Transfer protocol", "SFTP (Stratus), FTPS or plain FTP",
            choices=("sftp", "ftps", "ftp")),
    Setting("transfer", "host", "str", "", "Host", required_in_production=True),
    Setting("transfer", "port", "int", 22, "Port"),
    Setting("transfer", "user", "str", "", "User name", required_in_production=True),
    Setting("transfer", "auth", "choice", "password", "Authentication", choices=("password", "key")),
    Setting("transfer", "key_file", "path", "", "Private key file", "Only with key authentication"),
    Setting("transfer", "ca_file", "path", "", "FTPS CA certificate file",
            "Trust this CA (or self-signed certificate) instead of the system store; FTPS only"),
    Setting("transfer", "invoice_folder", "str", "/invoices", "Remote folder for invoice files"),
    Setting("transfer", "bills_folder", "str", "/bills", "Remote folder for bill images"),
    Setting("transfer", "lockbox_folder", "str", "/lockbox", "Remote folder for lockbox files"),
    Setting("transfer", "balance_folder", "str", "/balances", "Remote folder for balance updates"),
    # Lockbox (CloudStore)
    Setting("lockbox", "number", "str", "0000001", "Lockbox number", pattern=r"\d{1,7}"),
    Setting("lockbox", "destination", "str", "", "Destination (biller ID in header)", pattern=r"[ -~]{0,10}"),
    Setting("lockbox", "gl_format", "str", r"\d{2}-\d{4}-\d{3}", "GL account format (regex)",
            "e.g. 10-4100-000"),
    Setting("lockbox", "cloudstore_types", "list", [], "CloudStore invoice types",
            "Item codes that go to the lockbox instead of create_receipt"),
    Setting("lockbox", "send_via", "choice", "stratus", "Send lockbox by", choices=("stratus", "email")),
    Setting("lockbox", "email_to", "str", "", "Lockbox e-mail recipient"),
    # E-mail
    Setting("smtp", "host", "str", "", "SMTP host"),
    Setting("smtp", "port", "int", 587, "SMTP port"),
    Setting("smtp", "user", "str", "", "SMTP user"),
    Setting("smtp", "sender", "str", "", "From address"),
    # Biller options (the seed's per-biller settings)
    Setting("biller", "partial_payments", "bool", True, "Allow partial payments"),
    Setting("biller", "minimum_payment", "money", Decimal("0.00"), "Minimum payment"),
    Setting("biller", "expire_bill", "bool", False, "Expire bill for payment after due date"),
    Setting("biller", "batch_auto_close", "bool", True, "Close batches automatically", "The seed: auto close"),
    Setting("biller", "autopay", "bool", True, "AutoPay offered",
            "Off: the account panel shows no AutoPay, and AutoPay change-log rows are reported, not posted"),
    Setting("biller", "paperless", "bool", True, "Paperless offered",
            "Off: the account panel shows no paperless, and paperless change-log rows are reported, not posted"),
    Setting("biller", "usage_graphs", "bool", True, "History usage graphs",
            "Invoice Cloud Advance Setting #109: off hides the usage chart of the account panel"),
    Setting("biller", "nsf_fee", "money", Decimal("0.00"), "NSF fee on ACH rejects", "0 = no fee"),
    Setting("biller", "cashier_voids_own_same_day", "bool", True, "Cashiers may void their own same-day receipts"),
    Setting("biller", "overpayment_limit", "money", Decimal("0.00"), "Overpayment needs confirmation above",
            "0 = any overpayment needs confirmation"),
    # Invoice file options Invoice Cloud sets "via BIF customization" (console/domain/bif.py)
    Setting("bif", "autopay_days_before_due", "int", 3, "AutoPay collection: days before the due date",
            "AutoPay accounts are drafted this many days before the due date (AutoPayDate; 0 = on it)",
            check=_bif.check_days(0, 30)),
    Setting("bif", "notify_days_before_due", "list", ["10", "3"], "E-mail notifications: days before the due date",
            "Up to three, e.g. 10, 3 (NotifyDate1…3)", check=_bif.check_notify_days),
    Setting("bif", "expire_days_after_due", "int", 30, "Bill expires: days after the due date",
            "With \"Expire bill for payment after due date\" on (BillExpires)", check=_bif.check_days(1, 365)),
    # Cash drawer (counter sessions, close-out, deposit slip)
    Setting("cash", "reason_threshold", "money", Decimal("1.00"), "Over/short needs a reason above",
            "A drawer close-out whose cash or checks are over or short by more than this needs a reason"),
    Setting("cash", "countersign_threshold", "money", Decimal("20.00"), "Over/short needs a supervisor above",
            "Above this a supervisor countersigns the close-out (ID and PIN)"),
    Setting("cash", "blind_count", "bool", False, "Blind count",
            "The cashier enters the count before the expected figures are shown"),
    Setting("cash", "cash_bank_account", "str", "General fund", "Bank account for cash",
            "Named on the deposit slip"),
    Setting("cash", "check_bank_account", "str", "General fund", "Bank account for checks",
            "Named on the deposit slip"),
    Setting("cash", "ic_bank_account", "str", "General fund", "Bank account for Invoice Cloud settlements",
            "Where Invoice Cloud deposits the net of card and ACH payments (the Day Close's expected deposit)"),
    # Confirmation before anything leaves the office (console/services/confirm.py)
    Setting("confirm", "typed_amount_over", "money", Decimal("10000.00"), "Type the total to send above",
            "Production: a file whose total is above this is sent only after the operator types the total"),
    Setting("confirm", "typed_count_over", "int", 500, "Type the count to send above",
            "Production: a file without a total (bill images, conversions) with more items than this is sent "
            "only after the operator types the count"),
    # Bill images
    Setting("bills", "mode", "choice", "images", "Bill presentment", "PDF images, or Invoice Cloud's own template",
            choices=("images", "ic_template")),
    Setting("bills", "naming", "str", "{account}_{invoice}.pdf", "Bill image file name",
            "{account} and {invoice}; {account}.pdf is used when no invoice file is loaded"),
    Setting("bills", "template", "path", "", "Account-number template (TOML)"),
    Setting("bills", "templates_by_type", "list", [], "Templates by invoice type",
            "TYPE=template.toml, e.g. 42=utility.toml, 801=ar-invoice.toml: utility bills and CloudStore / AR "
            "invoices differ; a batch uses the template of its invoices' type", check=_types.check_type_map),
    # Account sync
    Setting("sync", "adjustments_via", "choice", "api", "Send balance updates by", choices=("api", "file")),
    # Card reader (IDTech SREDKey keyboard wedge): must match how the reader itself is set up
    Setting("reader", "preamble", "str", "", "Preamble",
            "Characters the reader types before each card read, as set on the reader (up to 15). "
            "Text as is; \\xHH for one character by its hex code (\\x02 = STX, typed as Ctrl+B); "
            "\\\\ for a backslash. Empty = none. A read without it is refused.",
            check=_reader.check_preamble),
    Setting("reader", "postamble", "str", "", "Postamble",
            "Characters the reader types after each card read (same notation as the preamble). "
            "Enter is not part of it: see Terminator. Empty = none.", check=_reader.check_postamble),
    Setting("reader", "terminator", "choice", "enter", "Terminator",
            "enter: the reader presses Enter after each read (the SREDKey default; that Enter is "
            "swallowed); none: it does not (an Enter right after a read is then the cashier's)",
            choices=_reader.TERMINATORS),
    Setting("reader", "max_gap_ms", "int", 55, "Burst threshold (ms)",
            "Longest pause between two characters of one card read, 5–250. Must be above the "
            "reader's character delay (1.2 ms default; 2, 5, 10, 20 or 50 ms when set) and below a "
            "person's typing (about 80 ms). The Reader test shows the delays it measures.",
            check=_reader.check_max_gap),
    Setting("reader", "frame_timeout_ms", "int", 600, "Frame timeout (ms)",
            "A card read that stops arriving is given up (swipe again) after this long, 200–5000",
            check=_reader.check_frame_timeout),
    Setting("reader", "expected_serial", "str", "", "Expected reader serial",
            "The counter reader's serial number (shown by the Reader test), e.g. T134000064. When "
            "set, a card read by another reader is refused, so a swapped reader is noticed. Empty = any.",
            check=_reader.check_serial),
    Setting("reader", "ksn_days", "int", 30, "Remember card reads (days)",
            "A card read's KSN is kept this long (1–365; nothing else of the read) so a replayed "
            "read is refused, also after a restart", check=_reader.check_ksn_days),
    # Journal backups (console.services.journal_backup)
    Setting("journal", "backup_folder", "path", "", "Daily journal backup folder",
            "A copy of the journal is made here once a day (at start and before posting or taking a "
            "payment). Best on another drive or a network share. Empty = 'backups' in the data folder"),
    Setting("journal", "backup_keep", "int", 14, "Daily backups kept",
            "How many daily copies are kept (1–366); older ones are deleted", check=lambda v: _backup_keep(v)),
)


def _backup_keep(value: int) -> int:
    if not 1 <= int(value) <= 366:
        raise ValueError("keep between 1 and 366 daily backups")
    return int(value)

def _check_actions(value: list[str]) -> list[str]:
    from console.services.operators import ACTIONS  # the one declaration of protected actions

    unknown = [a for a in value if a not in ACTIONS]
    if unknown:
        what = "unknown action" if len(unknown) == 1 else "unknown actions"
        raise ValueError(f"{what} {', '.join(unknown)}; known: {', '.join(ACTIONS)}")
    return value


def _role_settings() -> tuple[Setting, ...]:
    """Per role, the actions the profile allows: empty = the role's default (see
    ``console.services.operators.PERMISSIONS``); a list can only narrow it. The automation role
    (unattended jobs) may do exactly what its list names."""
    out = [Setting("roles", f"{role}_actions", "list", [], f"{role.title()} may",
                   "Protected actions (e.g. post, send_invoices). " +
                   ("Exactly these; empty = nothing" if role == "automation"
                    else "Empty = the role's default; a list narrows the default"), check=_check_actions)
           for role in ROLES]
    out.append(Setting("roles", "automation_operator", "str", "", "Automation operator ID",
                       "The operator (role automation) unattended jobs act as when no --operator is given; "
                       "its secret is in the keyring (Credentials)", pattern=r"[A-Za-z0-9_.@-]{0,40}"))
    return tuple(out)


FIELDS = FIELDS + _role_settings()

_BY_NAME = {s.name: s for s in FIELDS}


@dataclass(frozen=True)
class Operator:
    operator_id: str
    name: str
    role: str  # one of ROLES
    pin_hash: str = ""  # "pbkdf2_sha256$iterations$salt_hex$hash_hex"; never the PIN itself

    def check_pin(self, pin: str) -> bool:
        return bool(self.pin_hash) and verify_pin(pin, self.pin_hash)


@dataclass(frozen=True)
class Profile:
    """A named set of settings. ``values`` holds every declared setting by ``Setting.name``."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    gl_map: dict[str, str] = field(default_factory=dict)
    operators: tuple[Operator, ...] = ()

    @property
    def is_sandbox(self) -> bool:
        return self.name == SANDBOX

    @property
    def training(self) -> bool:
        """The sandbox doubles as training mode: marked TRAINING everywhere."""
        return self.is_sandbox

    def get(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        return _BY_NAME[name].default

    def __getattr__(self, name: str) -> Any:  # profile.caselle_url, profile.biller_nsf_fee …
        if name in _BY_NAME:
            return self.get(name)
        raise AttributeError(name)

    def with_values(self, **changes: Any) -> Profile:
        unknown = set(changes) - set(_BY_NAME)
        if unknown:
            raise KeyError(f"unknown settings: {sorted(unknown)}")
        return replace(self, values={**self.values, **changes})

    def operator(self, operator_id: str) -> Operator | None:
        return next((o for o in self.operators if o.operator_id == operator_id), None)


def sandbox_profile() -> Profile:
    """The built-in training profile; its URLs are filled in when the sandbox starts."""
    return Profile(
        name=SANDBOX,
        values={
            "caselle_client_id": "sandbox-client",
            "invoicecloud_biller_id": "DEMO01",
            "lockbox_destination": "DEMO01",
            "lockbox_cloudstore_types": ["801", "802", "803", "804", "805"],
            "transfer_user": "demo",
            "biller_nsf_fee": Decimal("25.00"),
            "biller_minimum_payment": Decimal("1.00"),
        },
        gl_map={"801": "10-4100-000", "802": "10-4200-000", "803": "10-4300-000",
                "804": "20-4400-000", "805": "20-4500-000"},
        # Demo PINs (training only): cashier 1111, clerk 2222, supervisor 9999, support 3333.
        operators=(
            Operator("cashier1", "Casey Cashier", "cashier", 'pbkdf2_sha256$200000$2ee237310100627d8991946950b7bc52$7546fe94a9dc3bf75125f7648b1afba15237986bffcbe097bccfb7596f1e6642'),
            Operator("clerk1", "Blair Clerk", "clerk", 'pbkdf2_sha256$200000$a047a2ece068c499d349f67c70258d05$5ef9fde46af28206ceba6422bbae6fcfb0d4e6620070f1380329913ae0225778'),
            Operator("super1", "Sam Supervisor", "supervisor", 'pbkdf2_sha256$200000$6e23ca4ef3b7d513acefc7534098e7a7$e5763f207fe2ca7b891f586573e1575290e28760169ac1cc532d0aaea6ce83c7'),
            Operator("support1", "Pat Support", "support", 'pbkdf2_sha256$200000$730b1bb53a458ccfb4848b1dd4d8c902$9879a3066493752579adef68d95f8a62c778bdfff5b2961d0ed356b617cb86ce'),
        ),
    )


# ---- validation -----------------------------------------------------------------------

_URL_RE = re.compile(r"https?://[^\s/$.?#][^\s]*", re.I)


def coerce(setting: Setting, raw: Any) -> Any:
    """Turn a TOML / dialog value into the setting's type; ValueError names the rule."""
    value = _coerce_kind(setting, raw)
    return setting.check(value) if setting.check is not None else value


def _coerce_kind(setting: Setting, raw: Any) -> Any:
    k = setting.kind
    if k in ("str", "url", "path", "choice"):
        value = "" if raw is None else str(raw).strip()
        if k == "choice" and value not in setting.choices:
            raise ValueError(f"must be one of {', '.join(setting.choices)}")
        if k == "url" and value and not _URL_RE.fullmatch(value):
            raise ValueError("must be an http(s) URL")
        if setting.pattern and value and not re.fullmatch(setting.pattern, value):
            raise ValueError(f"does not match the format {setting.pattern}")
        return value
    if k == "int":
        if isinstance(raw, bool) or not str(raw).strip().lstrip("-").isdigit():
            raise ValueError("must be a whole number")
        return int(raw)
    if k == "bool":
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("y", "yes", "true", "1"):
            return True
        if str(raw).lower() in ("n", "no", "false", "0"):
            return False
        raise ValueError("must be yes or no")
    if k == "money":
        try:
            value = money(str(raw))
        except (AmountError, ValueError) as exc:
            raise ValueError("must be an amount like 25.00") from exc
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if k == "list":
        if isinstance(raw, str):
            return [p.strip() for p in raw.split(",") if p.strip()]
        return [str(p).strip() for p in (raw or []) if str(p).strip()]
    raise ValueError(f"unknown setting kind {k}")


def validate(profile: Profile) -> list[Problem]:
    """Every broken rule of a profile, naming the setting. Empty list = valid."""
    problems: list[Problem] = []
    for s in FIELDS:
        value = profile.get(s.name)
        try:
            coerce(s, value)
        except ValueError as exc:
            problems.append(Problem(None, s.name, "setting", f"{s.label}: {exc}"))
            continue
        if s.required_in_production and not profile.is_sandbox and not value:
            problems.append(Problem(None, s.name, "required", f"{s.label} is required"))
    if not profile.is_sandbox:
        for s in (_BY_NAME["caselle_url"], _BY_NAME["invoicecloud_api_url"], _BY_NAME["invoicecloud_gateway_url"]):
            url = str(profile.get(s.name))
            if url and not url.lower().startswith("https://"):
                problems.append(Problem(None, s.name, "tls", f"{s.label} must use https:// in production"))
    problems += _naming_problems(profile)
    gl_format = str(profile.get("lockbox_gl_format"))
    try:
        gl_re = re.compile(gl_format)
    except re.error as exc:
        problems.append(Problem(None, "lockbox_gl_format", "regex", f"GL account format is not a valid pattern: {exc}"))
        gl_re = None
    if gl_re is not None:
        for item, gl in sorted(profile.gl_map.items()):
            if not gl_re.fullmatch(gl):
                problems.append(Problem(None, f"gl_map.{item}", "gl_format",
                                        f"GL account {gl!r} for item {item} does not match {gl_format}"))
    automation = str(profile.get("roles_automation_operator") or "")
    if automation:
        op = profile.operator(automation)
        if op is None or op.role != "automation":
            problems.append(Problem(None, "roles_automation_operator", "automation",
                                    f"{automation!r} is not an operator with the role automation"))
    seen: set[str] = set()
    for op in profile.operators:
        if op.role not in ROLES:
            problems.append(Problem(None, f"operators.{op.operator_id}", "role", f"unknown role {op.role!r}"))
        if op.operator_id in seen:
            problems.append(Problem(None, f"operators.{op.operator_id}", "unique", "operator ID used twice"))
        seen.add(op.operator_id)
    return problems


def _naming_problems(profile: Profile) -> list[Problem]:
    """The bill naming setting, by the same check ``bills split --naming`` uses."""
    from console.bills.naming import check_naming

    s = _BY_NAME["bills_naming"]
    naming = str(profile.get(s.name) or "")
    if not naming:  # the default is used
        return []
    try:
        check_naming(naming, option=f"{s.label} (bills.naming)")
    except ValidationError as exc:
        return [Problem(None, s.name, "naming", exc.message)]
    return []


# ---- PINs: salted slow hash only -------------------------------------------------------

_PIN_ITERATIONS = 200_000


def hash_pin(pin: str, *, iterations: int = _PIN_ITERATIONS) -> str:
    salt = _secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        algo, iterations, salt_hex, hash_hex = stored.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt_hex), int(iterations))
    return hmac.compare_digest(digest.hex(), hash_hex)


# ---- the profiles file ---------------------------------------------------------------

class ProfileStore:
    """Reads and writes ``profiles.toml``. The sandbox profile is built in and never written."""

    def __init__(self, paths: Paths):
        self.path = paths.profiles_file

    def _load_raw(self) -> dict:
        if not self.path.exists():
            return {}
        try:
            return tomllib.loads(self.path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(f"{self.path} is not valid TOML: {exc}",
                                  [Problem(None, None, "toml", str(exc))]) from exc

    def names(self) -> list[str]:
        return [SANDBOX, *sorted(self._load_raw().get("profiles", {}))]

    def default_name(self) -> str:
        env = os.environ.get("BILLER_CONSOLE_PROFILE")
        if env:
            return env
        return str(self._load_raw().get("default", SANDBOX)) or SANDBOX

    def load(self, name: str | None = None) -> Profile:
        name = name or self.default_name()
        if name == SANDBOX:
            return sandbox_profile()
        raw = self._load_raw().get("profiles", {}).get(name)
        if raw is None:
            raise ValidationError(f"No profile named {name!r} in {self.path}",
                                  [Problem(None, "profile", "exists", f"unknown profile {name!r}")],
                                  hint="choose one in Settings or run with --profile sandbox")
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        for s in FIELDS:
            section = raw.get(s.section, {})
            if s.key in section:
                try:
                    values[s.name] = coerce(s, section[s.key])
                except ValueError as exc:
                    problems.append(Problem(None, s.name, "setting", f"[{s.section}] {s.key}: {exc}"))
        if problems:
            raise ValidationError(f"Profile {name!r} has invalid settings", problems)
        operators = tuple(
            Operator(str(o.get("id", "")), str(o.get("name", "")), str(o.get("role", "cashier")),
                     str(o.get("pin_hash", "")))
            for o in raw.get("operators", [])
        )
        gl_map = {str(k): str(v) for k, v in raw.get("gl_map", {}).items()}
        return Profile(name=name, values=values, gl_map=gl_map, operators=operators)

    def save(self, profile: Profile, *, make_default: bool = False) -> None:
        """Write one production profile (atomically). Refuses invalid profiles."""
        if profile.is_sandbox:
            raise ValidationError("The sandbox profile is built in and cannot be changed")
        problems = validate(profile)
        if problems:
            raise ValidationError(f"Profile {profile.name!r} is not valid", problems)
        raw = self._load_raw()
        sections: dict[str, dict[str, Any]] = {}
        for s in FIELDS:
            if s.name in profile.values:
                v = profile.values[s.name]
                sections.setdefault(s.section, {})[s.key] = str(v) if isinstance(v, Decimal) else v
        sections["gl_map"] = dict(profile.gl_map)
        sections["operators"] = [  # type: ignore[assignment]
            {"id": o.operator_id, "name": o.name, "role": o.role, "pin_hash": o.pin_hash} for o in profile.operators
        ]
        raw.setdefault("profiles", {})[profile.name] = sections
        if make_default:
            raw["default"] = profile.name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(tomli_w.dumps(raw), encoding="utf-8")
        os.replace(tmp, self.path)


def field_names() -> list[str]:
    return [f.name for f in fields(Profile)]


def setting(name: str) -> Setting:
    return _BY_NAME[name]


def resolve_path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None
