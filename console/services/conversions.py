"""Data conversions: an ``ic-conversion-v1`` file of paperless, AutoPay and registration data.

Used once, when a biller moves to Invoice Cloud (the seed's "Data Conversions: Paperless,
AutoPay and Customer Registration"). The rows come from Caselle: every account, a page at a
time (``customers`` query), one row per account (file-layouts.md §7):

==============  ================================================================================
column          from Caselle
==============  ================================================================================
AccountNumber   the account number
CustomerName    the customer name
Email           the e-mail on file
Phone           the phone on file
Paperless       ``paperless``
AutoPay         ``directPayStatus`` ACTIVE (PENDING — pre-note not cleared — goes as N, warned)
Registered      Y when the customer is enrolled in paperless or AutoPay (both need an online
                registration); Caselle keeps no other registration fact
EffectiveDate   the date the build is for (default today)
==============  ================================================================================

Final-billed accounts (status FINAL) are left out unless asked for (a warning counts them).

Checks, every one an error naming the account and its line in the file: the layout's rules
(account number pattern, unique account, e-mail and phone format, the flags) and **Paperless Y
needs an e-mail address**. A build with any error is previewed but not written. A written
file is read back with the layout before it is sent through the transfer service like an
invoice file (journaled, fingerprinted, refused the second time unless a supervisor overrides).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.domain.wording import counted
from console.errors import Cancelled, NotPermitted, Problem, ValidationError

log = logging.getLogger(__name__)

LAYOUT = "ic-conversion-v1"
TRANSFER_KIND = "invoices"  # sent to Invoice Cloud like invoice files
PAGE_SIZE = 200

ProgressFn = Callable[..., None]


@dataclass(frozen=True)
class ConversionRow:
    line: int  # physical line in the file (header = 1)
    account: str
    name: str
    email: str
    phone: str
    paperless: bool
    autopay: bool
    registered: bool
    effective_date: dt.date | None
    status: str = ""  # Caselle's ACTIVE / FINAL
    autopay_pending: bool = False

    def values(self) -> dict[str, Any]:
        return {"AccountNumber": self.account, "CustomerName": self.name, "Email": self.email or None,
                "Phone": self.phone or None, "Paperless": self.paperless, "AutoPay": self.autopay,
                "Registered": self.registered, "EffectiveDate": self.effective_date}


@dataclass
class ConversionBuild:
    rows: list[ConversionRow]
    text: str  # the file, as it would be written
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    skipped_final: int = 0
    effective_date: dt.date | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def problems_by_line(self) -> dict[int, list[Problem]]:
        out: dict[int, list[Problem]] = {}
        for p in self.errors + self.warnings:
            if p.line is not None:
                out.setdefault(p.line, []).append(p)
        return out

    def counts(self) -> dict[str, int]:
        c = Counter()
        for r in self.rows:
            c["accounts"] += 1
            c["paperless"] += r.paperless
            c["autopay"] += r.autopay
            c["registered"] += r.registered
        return {k: c.get(k, 0) for k in ("accounts", "paperless", "autopay", "registered")}

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts(), "skipped_final": self.skipped_final,
                "effective_date": self.effective_date.isoformat() if self.effective_date else None,
                "errors": [p.as_dict() for p in self.errors], "warnings": [p.as_dict() for p in self.warnings]}


class ConversionService:
    def __init__(self, caselle, *, transfer=None, audit=None, outbox_dir: Path | None = None,
                 today: Callable[[], dt.date] | None = None, profile=None):
        self.profile = profile  # whose roles decide who may write and send (none: nobody may)
        self._caselle = caselle  # a client or a zero-argument factory
        self._transfer = transfer
        self.audit = audit
        self.outbox_dir = Path(outbox_dir) if outbox_dir else None
        self._today = today or dt.date.today

    @property
    def caselle(self):
        if callable(self._caselle) and not hasattr(self._caselle, "list_customers"):
            self._caselle = self._caselle()
        return self._caselle

    @property
    def transfer(self):
        if callable(self._transfer) and not hasattr(self._transfer, "send_file"):
            self._transfer = self._transfer()
        if self._transfer is None:
            raise ValidationError("No file transfer is configured for sending conversion files")
        return self._transfer

    # ---- reading Caselle
    def customers(self, progress: ProgressFn | None = None, cancel=None) -> list:
        out: list = []
        after: str | None = None
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled("conversion build cancelled")
            page = self.caselle.list_customers(after=after, limit=PAGE_SIZE)
            out.extend(page.customers)
            if progress is not None:
                progress(len(out), page.total_count, f"read {len(out)} of {page.total_count} accounts…")
            if not page.next_cursor:
                return out
            after = page.next_cursor

    # ---- building
    def build(self, *, effective_date: dt.date | None = None, include_final: bool = False,
              progress: ProgressFn | None = None, cancel=None) -> ConversionBuild:
        """Rows for every account, checked (errors name the account and line). Writes nothing."""
        return build_rows(self.customers(progress, cancel), effective_date=effective_date or self._today(),
                          include_final=include_final)

    def _require(self, operator: str) -> None:
        from console.services.operators import require

        if self.profile is None:
            raise NotPermitted("This conversion service has no profile to check who may build files")
        require(self.profile, operator, "conversions", self.audit)

    def write(self, build: ConversionBuild, path: Path, *, operator: str) -> Path:
        """Write a clean build atomically; a build with errors writes nothing."""
        self._require(operator)
        if not build.ok:
            raise ValidationError(f"The conversion has {counted(len(build.errors), 'error')}: nothing was written", build.errors)
        from console.services.account_sync import write_atomically

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomically(path, build.text)

    def default_path(self) -> Path:
        folder = self.outbox_dir or Path.cwd()
        # letters between the numbers: a long digit run could pass for a card number in the journal
        return folder / f"ic-conversion-{dt.datetime.now():%Y%m%dT%H%M%S}.csv"

    def check_file(self, path: Path):
        """Read a conversion file back with the layout (ValidationError when it breaks a rule)."""
        from console.files.reader import read_file

        result = read_file(Path(path), LAYOUT)
        if result.errors:
            raise ValidationError(f"{Path(path).name} has {counted(len(result.errors), 'error')}: it was not sent",
                                  result.errors)
        return result

    def send(self, path: Path, *, operator: str, override: bool = False, override_by=None,
             progress: ProgressFn | None = None, cancel=None):
        """Check the file, then send it through the transfer service like an invoice file."""
        self._require(operator)
        result = self.check_file(path)
        sent = self.transfer.send_file(Path(path), kind=TRANSFER_KIND, operator=operator, override=override,
                                       override_by=override_by, expected_sha256=result.fingerprint or None,
                                       progress=progress, cancel=cancel)
        if self.audit is not None:
            self.audit.record(operator, "conversion.send", Path(path).name, remote_path=sent.remote_path,
                              records=len(result), override=override)
        return sent


def build_rows(customers, *, effective_date: dt.date | None, include_final: bool = False) -> ConversionBuild:
    """The conversion rows for ``customers`` (CustomerDetail-like records), checked."""
    from console.files.layouts import load_layout
    from console.files.reader import read_bytes
    from console.files.writer import write_delimited

    rows: list[ConversionRow] = []
    warnings: list[Problem] = []
    skipped = 0
    for c in customers:
        status = str(getattr(c, "status", "") or "").upper()
        if status == "FINAL" and not include_final:
            skipped += 1
            continue
        direct = str(getattr(c, "direct_pay_status", "") or ("ACTIVE" if c.autopay else "INACTIVE")).upper()
        autopay = direct == "ACTIVE"
        paperless = bool(c.paperless)
        rows.append(ConversionRow(line=len(rows) + 2, account=str(c.account_number).strip(),
                                  name=" ".join(str(c.name or "").split()), email=str(c.email or "").strip(),
                                  phone=str(c.phone or "").strip(), paperless=paperless, autopay=autopay,
                                  registered=paperless or autopay, effective_date=effective_date, status=status,
                                  autopay_pending=direct == "PENDING"))
    layout = load_layout(LAYOUT)
    text = write_delimited([r.values() for r in rows], layout)
    by_line = {r.line: r for r in rows}
    errors: list[Problem] = []
    result = read_bytes(text.encode("utf-8"), layout, name="conversion")
    for p in result.errors:
        r = by_line.get(p.line) if p.line is not None else None
        message = f"account {r.account}: {p.message}" if r is not None else p.message
        rule = p.rule
        if r is not None and r.paperless and not r.email and (p.column or "").casefold() == "email":
            rule, message = "paperless_needs_email", f"account {r.account}: Paperless is Y but there is no e-mail " \
                                                     "address (add one in Caselle or turn paperless off)"
        errors.append(Problem(p.line, p.column, rule, message))
    for r in rows:
        if r.autopay_pending:
            warnings.append(Problem(r.line, "AutoPay", "autopay_pending",
                                    f"account {r.account}: AutoPay enrollment is pending (pre-note not cleared): "
                                    "sent as N", "warning"))
    if skipped:
        warnings.append(Problem(None, None, "final_billed", f"{counted(skipped, 'final-billed account')} left out",
                                "warning"))
    errors.sort(key=lambda p: (p.line or 0, p.column or ""))
    return ConversionBuild(rows=rows, text=text, errors=errors, warnings=warnings, skipped_final=skipped,
                           effective_date=effective_date)


def build_conversion_service(services) -> ConversionService:
    return ConversionService(lambda: services.caselle, transfer=lambda: services.transfer, audit=services.audit,
                             outbox_dir=services.paths.data_dir / "outbox" / "conversions", profile=services.profile)
