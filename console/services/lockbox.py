"""CloudStore lockbox: preview → build (verified) → check → send (Stratus or e-mail) → summary sheet.

Which payments go into the lockbox file
---------------------------------------
A payment in an ``ic-payments-v1`` file is a **CloudStore** (misc AR) payment when its
``InvoiceType`` is *not* the utility-bill type (the profile's ``invoicecloud_invoice_type``,
42): utility bills post through ``create_receipt`` and are skipped here (counted, not listed).
A CloudStore payment's ``InvoiceType`` is its CloudStore item code; it must have a GL account
in the map in use (the ``--gl-map`` CSV, else the profile's map) — the known CloudStore codes
are the map's item codes plus the profile's ``lockbox_cloudstore_types``. A CloudStore payment
whose code has no GL account **blocks the file**, and every such payment is listed. ``VOIDED``
payments never go into a file (a void of a payment that is already in a released lockbox file
is reported so the clerk reverses it in Caselle by hand).

Item fields: customer / AR reference = AccountNumber, item code = InvoiceType, amount =
Amount (the convenience fee is never included), confirmation = ConfirmationNumber, payer =
PayerName, memo = InvoiceNumber, deposit date = SettlementDate (else the payment's date).

Duplicates
----------
An item whose confirmation number or PaymentId is in a lockbox file that was already
*released* (sent, e-mailed, or marked as handed over) is flagged and left out, unless a
supervisor overrides. Items in a built file that never left the console only get a warning.
Sending re-checks this for the file as a whole, and a file is delivered once per channel
(journaled; a second send needs a supervisor).
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from console.domain.money import format_money
from console.domain.wording import agree, counted
from console.errors import (
    NotPermitted,
    Problem,
    UserFacingError,
    ValidationError,
)
from console.formatting import format_datetime
from console.lockbox.format import (
    FileHeader,
    LockboxFile,
    LockboxItem,
    build_lockbox,
    plan_batches,
    read_lockbox,
    write_lockbox,
)
from console.lockbox.glmap import GlFormat, GlMap, check_entry, load_gl_map_csv, save_gl_map_csv
from console.lockbox.layout import DEFAULT_LAYOUT, FixedLayout, load_lockbox_layout
from console.lockbox.registry import (
    EMAILED,
    HANDED_OVER,
    SENT,
    LockboxRegistry,
    PriorItem,
    RegisteredFile,
    RegistryItem,
    now_iso,
)
from console.lockbox.summary import GlTotal, Summary, summarize, summary_text, write_summary_pdf
from console.services.gl_mapping import (  # noqa: F401 - re-exported: the Lockbox tab and tests use them
    AUDIT_GL_MAP,
    require_supervisor,
    sandbox_gl_map_file,
    save_profile_gl_map,
    stored_gl_map,
)

log = logging.getLogger(__name__)

ProgressFn = Callable[..., None]

INCLUDED = "included"
DUPLICATE = "duplicate"  # in a released lockbox file: excluded unless a supervisor overrides
UNMAPPED = "unmapped"  # no GL account: blocks the file
VOIDED = "voided"  # never in a lockbox file
INVALID = "invalid"  # a value that cannot be written (blocks the file)

AUDIT_BUILD = "lockbox.build"
AUDIT_SEND = "lockbox.send"
AUDIT_HANDED_OVER = "lockbox.handed_over"
AUDIT_DUPLICATE_OVERRIDE = "lockbox.duplicate_override"
EMAIL_KIND = "lockbox.email"


# ---- settings ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LockboxSettings:
    """What the lockbox needs from a profile (built by :meth:`from_profile`)."""

    destination: str
    lockbox_number: int
    gl_map: GlMap
    gl_format: GlFormat = field(default_factory=GlFormat)
    origin: str = "INVCLOUD"
    cloudstore_types: frozenset[str] = frozenset()
    utility_type: str = "42"
    send_via: str = "stratus"
    email_to: tuple[str, ...] = ()
    layout: str = DEFAULT_LAYOUT
    training: bool = False

    @classmethod
    def from_profile(cls, profile: Any, *, gl_map: GlMap | None = None) -> LockboxSettings:
        number = str(profile.get("lockbox_number") or "0").strip()
        return cls(
            destination=str(profile.get("lockbox_destination") or profile.get("invoicecloud_biller_id") or ""),
            lockbox_number=int(number) if number.isdigit() else 0,
            gl_map=gl_map if gl_map is not None else GlMap(dict(profile.gl_map), source=f"profile {profile.name}"),
            gl_format=GlFormat(str(profile.get("lockbox_gl_format") or "")),
            cloudstore_types=frozenset(str(t) for t in profile.get("lockbox_cloudstore_types") or ()),
            utility_type=str(profile.get("invoicecloud_invoice_type") or "42"),
            send_via=str(profile.get("lockbox_send_via") or "stratus"),
            email_to=tuple(a.strip() for a in str(profile.get("lockbox_email_to") or "").split(",") if a.strip()),
            training=bool(getattr(profile, "training", False)),
        )

    def with_gl_map(self, gl_map: GlMap) -> LockboxSettings:
        from dataclasses import replace

        return replace(self, gl_map=gl_map)


# ---- source payments --------------------------------------------------------------------

@dataclass(frozen=True)
class SourcePayment:
    line: int | None
    payment_id: str
    confirmation: str
    account: str
    invoice_number: str
    invoice_type: str
    payer_name: str
    amount: Decimal
    payment_date: datetime | None
    settlement_date: date | None
    status: str

    @property
    def deposit_date(self) -> date | None:
        if self.settlement_date is not None:
            return self.settlement_date
        return self.payment_date.date() if self.payment_date else None


@dataclass
class PaymentSource:
    """Payments from one source (a payments file; later the posting queue)."""

    name: str
    payments: list[SourcePayment]
    fingerprint: str = ""
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _text(v: Any) -> str:
    return "" if v is None else str(v).strip()


def load_payments_file(path: Path, *, progress: ProgressFn | None = None, cancel=None) -> PaymentSource:
    """Read an ``ic-payments-v1`` file with the shared layout reader (errors are kept, not raised)."""
    from console.files.layouts import load_layout
    from console.files.reader import read_file

    res = read_file(path, load_layout("ic-payments-v1"), progress=progress, cancel=cancel)
    zero = Decimal("0.00")

    def col(name: str) -> list:
        return res.column(name)

    payments = [
        SourcePayment(line=line, payment_id=_text(pid), confirmation=_text(conf), account=_text(acct),
                      invoice_number=_text(inv), invoice_type=_text(itype), payer_name=_text(payer),
                      amount=amount if isinstance(amount, Decimal) else zero, payment_date=paid,
                      settlement_date=settled, status=_text(status).upper())
        for line, pid, conf, acct, inv, itype, payer, amount, paid, settled, status in zip(
            res.lines, col("PaymentId"), col("ConfirmationNumber"), col("AccountNumber"), col("InvoiceNumber"),
            col("InvoiceType"), col("PayerName"), col("Amount"), col("PaymentDate"), col("SettlementDate"),
            col("Status"), strict=True)
    ]
    return PaymentSource(name=Path(path).name, payments=payments, fingerprint=res.fingerprint,
                         errors=list(res.errors), warnings=list(res.warnings))


QUEUE_KIND = "lockbox_item"  # journal entries the posting service queues for the lockbox


def _iso_date(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def load_posting_queue(journal: Any) -> PaymentSource:
    """CloudStore payments the posting service queued (journal kind ``lockbox_item``, pending)."""
    from console.domain.money import AmountError, parse_amount

    payments, errors = [], []
    for e in journal.entries(kinds=[QUEUE_KIND], states=["pending"]):
        p = e.payload
        try:
            amount = parse_amount(str(p.get("amount", "")))
        except AmountError:
            errors.append(Problem(e.line, "Amount", "amount", f"queued payment {e.key} has no valid amount"))
            continue
        paid = _iso_date(p.get("payment_date"))
        payments.append(SourcePayment(
            line=e.line, payment_id=_text(p.get("payment_id")), confirmation=_text(p.get("confirmation")),
            account=_text(p.get("account")), invoice_number=_text(p.get("invoice_number")),
            invoice_type=_text(p.get("item_code")), payer_name=_text(p.get("payer_name")), amount=amount,
            payment_date=datetime.combine(paid, datetime.min.time()) if paid else None,
            settlement_date=_iso_date(p.get("settlement_date")), status="APPROVED"))
    return PaymentSource(name="posting queue", payments=payments, errors=errors)


# ---- preview ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PreviewLine:
    payment: SourcePayment
    gl_account: str
    status: str
    note: str = ""
    prior: tuple[PriorItem, ...] = ()


@dataclass(frozen=True)
class BatchPlan:
    number: int
    deposit_date: date | None
    items: int
    total: Decimal


@dataclass
class LockboxPreview:
    source: PaymentSource
    lines: list[PreviewLine]
    items: list[LockboxItem]
    errors: list[Problem]
    warnings: list[Problem]
    batches: list[BatchPlan]
    gl_totals: list[GlTotal]
    total: Decimal
    skipped_utility: int = 0
    outside_dates: int = 0
    date_from: date | None = None
    date_to: date | None = None
    duplicates_overridden_by: str = ""
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)  # confirmation -> (batch, item)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.items)

    def count(self, status: str) -> int:
        return sum(1 for x in self.lines if x.status == status)

    def as_dict(self) -> dict:
        return {
            "source": self.source.name, "source_fingerprint": self.source.fingerprint,
            "items": len(self.items), "total": str(self.total),
            "batches": [{"batch": b.number, "deposit_date": b.deposit_date.isoformat() if b.deposit_date else None,
                         "items": b.items, "total": str(b.total)} for b in self.batches],
            "gl_totals": [{"gl_account": g.gl_account, "items": g.items, "total": str(g.total)}
                          for g in self.gl_totals],
            "excluded": {"duplicate": self.count(DUPLICATE), "voided": self.count(VOIDED),
                         "utility": self.skipped_utility, "outside_dates": self.outside_dates},
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
        }


@dataclass(frozen=True)
class BuildResult:
    path: Path
    file: LockboxFile  # as read back from disk
    summary: Summary
    warnings: list[Problem]

    @property
    def fingerprint(self) -> str:
        return self.file.fingerprint


@dataclass(frozen=True)
class CheckResult:
    path: Path
    file: LockboxFile
    registered: RegisteredFile | None
    released_elsewhere: list[PriorItem]  # items of this file in another released lockbox file

    @property
    def ok(self) -> bool:
        return self.file.ok


@dataclass(frozen=True)
class SendOutcome:
    path: Path
    via: str
    fingerprint: str
    destination: str  # remote path or recipients
    reference: str  # journal key
    status: str  # e.g. "awaiting pickup", "delivered", "sent"
    reconciled: bool = False
    override: bool = False
    warnings: tuple[str, ...] = ()


# ---- the service ------------------------------------------------------------------------

class AlreadyReleased(UserFacingError):
    """The file was already e-mailed (or sent) once; only a supervisor may send it again."""


def _operator_name() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name on this system
        return "cli"


class LockboxService:
    """Plain service; the Lockbox tab and ``biller-console lockbox`` both call it."""

    def __init__(self, settings: LockboxSettings, registry: LockboxRegistry, *, journal: Any = None,
                 audit: Any = None, transfer: Callable[[], Any] | None = None,
                 mailer: Callable[[], Any] | None = None, sender: str = "",
                 clock: Callable[[], datetime] = datetime.now, layout: FixedLayout | None = None,
                 profile: Any = None):
        self.settings = settings
        self.profile = profile  # whose roles decide who may build and send (none: nobody may)
        self.registry = registry
        self.journal = journal
        self.audit = audit
        self._transfer = transfer  # () -> console.services.transfer.TransferService
        self._mailer = mailer  # () -> console.adapters.mail.Mailer
        self.sender = sender
        self.clock = clock
        self.layout = layout or load_lockbox_layout(settings.layout)

    def _require(self, operator: str, action: str) -> None:
        from console.services.operators import require

        if self.profile is None:
            raise NotPermitted("This lockbox service has no profile to check who may build and send")
        require(self.profile, operator, action, self.audit)

    # -- audit
    def _audit(self, operator: str, action: str, subject: str, **details: Any) -> None:
        details = {k: _no_digit_runs(v) for k, v in details.items()}
        if self.audit is None:
            log.info("audit (none wired): %s %s %s %s", operator, action, subject, details)
            return
        self.audit.record(operator, action, subject, **details)

    # -- GL map
    def gl_problems(self, gl_map: GlMap | None = None) -> list[Problem]:
        gl_field = self.layout.record("detail").field("gl_account")
        return (gl_map or self.settings.gl_map).problems(self.settings.gl_format,
                                                        gl_width=gl_field.width if gl_field else 20)

    def load_gl_map(self, path: Path) -> GlMap:
        return load_gl_map_csv(path, self.settings.gl_format)

    def use_gl_map(self, gl_map: GlMap) -> None:
        self.settings = self.settings.with_gl_map(gl_map)

    def check_gl_entry(self, code: str, account: str) -> list[Problem]:
        return check_entry(code, account, self.settings.gl_format)

    def export_gl_map(self, path: Path) -> None:
        save_gl_map_csv(path, self.settings.gl_map)

    # -- preview
    def preview(self, source: PaymentSource, *, date_from: date | None = None, date_to: date | None = None,
                override_duplicates_by: Any = None, progress: ProgressFn | None = None,
                cancel=None) -> LockboxPreview:
        """Which payments go into the file, with GL accounts, totals per GL and per batch."""
        s = self.settings
        errors = list(source.errors)
        warnings = list(source.warnings)
        overrider = require_supervisor(override_duplicates_by, "Including duplicate items") \
            if override_duplicates_by is not None else ""
        candidates: list[SourcePayment] = []
        utility = outside = 0
        for p in source.payments:
            if p.invoice_type == s.utility_type:
                utility += 1
                continue
            day = p.payment_date.date() if isinstance(p.payment_date, datetime) else p.payment_date
            if (date_from and day and day < date_from) or (date_to and day and day > date_to):
                outside += 1
                continue
            candidates.append(p)
        if progress:
            progress(0, len(candidates), "checking earlier lockbox files")
        priors = self.registry.find(confirmations=[p.confirmation for p in candidates],
                                    payment_ids=[p.payment_id for p in candidates])
        by_conf: dict[str, list[PriorItem]] = {}
        by_pid: dict[str, list[PriorItem]] = {}
        for pr in priors:
            by_conf.setdefault(pr.confirmation, []).append(pr)
            if pr.payment_id:
                by_pid.setdefault(pr.payment_id, []).append(pr)
        lines: list[PreviewLine] = []
        items: list[LockboxItem] = []
        seen_conf: dict[str, int | None] = {}
        widths = _field_widths(self.layout)
        # an Amount the file reader already refused is not refused again as "0.00"
        bad_amounts = {e.line for e in source.errors if e.column == "Amount"}
        dup_by_file: dict[str, list[SourcePayment]] = {}
        unsent_by_file: dict[str, list[SourcePayment]] = {}
        for p in candidates:
            if cancel is not None and cancel.is_set():
                from console.errors import Cancelled

                raise Cancelled("preview cancelled")
            found = {(x.file.fingerprint, x.confirmation): x
                     for x in by_conf.get(p.confirmation, []) + by_pid.get(p.payment_id, [])}
            released = tuple(x for x in found.values() if x.file.released)
            unreleased = tuple(x for x in found.values() if not x.file.released)
            gl = s.gl_map.account(p.invoice_type) or ""
            if p.status == "VOIDED":
                note = "voided: never put in a lockbox file"
                if released:
                    note = f"voided, but already {released[0].describe()}: reverse it in Caselle by hand"
                    warnings.append(Problem(p.line, "Status", "void_after_lockbox", f"payment {p.payment_id} {note}"))
                lines.append(PreviewLine(p, gl, VOIDED, note, released))
                continue
            if not gl:
                known = p.invoice_type in s.cloudstore_types
                msg = (f"payment {p.payment_id}: CloudStore item code {p.invoice_type!r} has no GL account "
                       f"in the {s.gl_map.source} map" + ("" if known else " (not a known CloudStore type)"))
                errors.append(Problem(p.line, "InvoiceType", "unmapped", msg))
                lines.append(PreviewLine(p, "", UNMAPPED, "no GL account for this item code", released))
                continue
            if released and not overrider:
                lines.append(PreviewLine(p, gl, DUPLICATE, f"already {released[0].describe()}", released))
                dup_by_file.setdefault(released[0].file.name, []).append(p)
                continue
            note = ""
            if released:
                note = f"included by supervisor {overrider}; already {released[0].describe()}"
            elif unreleased:
                note = f"also {unreleased[0].describe()}"
                unsent_by_file.setdefault(unreleased[0].file.name, []).append(p)
            if p.confirmation in seen_conf:
                errors.append(Problem(p.line, "ConfirmationNumber", "unique",
                                      f"confirmation {p.confirmation} is also on line {seen_conf[p.confirmation]}"))
                lines.append(PreviewLine(p, gl, INVALID, "confirmation number used twice", released))
                continue
            seen_conf[p.confirmation] = p.line
            if p.line in bad_amounts:  # already an error of the file: listed once, left out
                lines.append(PreviewLine(p, gl, INVALID, "the amount is not valid (see the file's errors)", released))
                continue
            problem = _field_problem(p, gl, widths)
            if problem is not None:
                errors.append(problem)
                lines.append(PreviewLine(p, gl, INVALID, problem.message, released))
                continue
            lines.append(PreviewLine(p, gl, INCLUDED, note, released))
            items.append(LockboxItem(
                payment_id=p.payment_id, confirmation=p.confirmation, reference=p.account,
                item_code=p.invoice_type, gl_account=gl, amount=p.amount, payer_name=p.payer_name,
                invoice_number=p.invoice_number, deposit_date=p.deposit_date, source_line=p.line))
        # one warning per earlier file (each line of the preview carries its own note)
        for name, ps in dup_by_file.items():
            warnings.append(Problem(ps[0].line, "ConfirmationNumber", "duplicate",
                                    f"{counted(len(ps), 'payment')} left out: already in the released lockbox file {name} "
                                    f"(lines {_lines(ps)})"))
        for name, ps in unsent_by_file.items():
            warnings.append(Problem(ps[0].line, "ConfirmationNumber", "in_unsent_file",
                                    f"{counted(len(ps), 'payment')} {agree(len(ps), 'is')} also in {name}, built but not sent (lines {_lines(ps)})"))
        if not items and not errors:
            errors.append(Problem(None, None, "empty", "no CloudStore payments to put in a lockbox file"
                                  + (f" ({counted(utility, 'utility payment')} skipped)" if utility else "")))
        batches = []
        positions: dict[str, tuple[int, int]] = {}
        for n, group in enumerate(plan_batches(items, self.layout.max_items_per_batch), start=1):
            batches.append(BatchPlan(n, group[0].deposit_date, len(group),
                                     sum((i.amount for i in group), Decimal("0.00"))))
            positions.update((it.confirmation, (n, k)) for k, it in enumerate(group, start=1))
        gl_acc: dict[str, list] = {}
        for it in items:
            slot = gl_acc.setdefault(it.gl_account, [0, Decimal("0.00")])
            slot[0] += 1
            slot[1] += it.amount
        if progress:
            progress(len(candidates), len(candidates), "preview ready")
        return LockboxPreview(
            source=source, lines=lines, items=items, errors=errors, warnings=warnings, batches=batches,
            gl_totals=[GlTotal(g, n, t) for g, (n, t) in sorted(gl_acc.items())],
            total=sum((i.amount for i in items), Decimal("0.00")), skipped_utility=utility, outside_dates=outside,
            date_from=date_from, date_to=date_to, duplicates_overridden_by=overrider, positions=positions)

    # -- build
    def header(self, created: datetime | None = None) -> FileHeader:
        created = (created or self.clock()).replace(second=0, microsecond=0)
        return FileHeader(destination=self.settings.destination, lockbox_number=self.settings.lockbox_number,
                          created=created, origin=self.settings.origin)

    def build(self, preview: LockboxPreview, out_path: Path, *, operator: str = "", overwrite: bool = False,
              created: datetime | None = None, progress: ProgressFn | None = None, cancel=None) -> BuildResult:
        """Write the file (atomically, verified by reading it back) and register it. Nothing on error."""
        self._require(operator, "build_lockbox")
        if preview.errors:
            raise ValidationError(f"The lockbox file cannot be built: {counted(len(preview.errors), 'problem')}",
                                  preview.errors)
        if not preview.items:
            raise ValidationError("There are no items for a lockbox file",
                                  [Problem(None, None, "empty", "no items")])
        operator = operator or _operator_name()
        built = build_lockbox(preview.items, self.header(created), self.layout, progress=progress, cancel=cancel)
        if not built.ok:
            raise ValidationError(f"The lockbox file cannot be built: {counted(len(built.errors), 'problem')}", built.errors)
        if progress:
            progress(len(preview.items), len(preview.items), "writing and verifying")
        back = write_lockbox(Path(out_path), built, self.layout, overwrite=overwrite)
        by_conf = {i.confirmation: i for i in preview.items}
        self.registry.record_build(
            RegisteredFile(fingerprint=back.fingerprint, name=Path(out_path).name, built_at=now_iso(),
                           operator=operator, destination=back.destination, items=len(back.items),
                           batches=len(back.batches), total=str(back.total), status="built"),
            [RegistryItem(i.confirmation, by_conf[i.confirmation].payment_id if i.confirmation in by_conf else "",
                          i.batch, i.item, str(i.amount)) for i in back.items])
        self._audit(operator, AUDIT_BUILD, Path(out_path).name, fingerprint=back.fingerprint,
                    items=len(back.items), batches=len(back.batches), total=str(back.total),
                    source=preview.source.name, source_fingerprint=preview.source.fingerprint)
        if preview.duplicates_overridden_by:
            included = [x.payment.payment_id for x in preview.lines if x.status == INCLUDED and x.prior]
            self._audit(preview.duplicates_overridden_by, AUDIT_DUPLICATE_OVERRIDE, Path(out_path).name,
                        requested_by=operator, fingerprint=back.fingerprint, payments=included[:200],
                        count=len(included))
        warnings = list(preview.warnings) + list(built.warnings)
        return BuildResult(Path(out_path), back, self.summary(back, Path(out_path).name, prepared_by=operator),
                           warnings)

    # -- check an existing file
    def check(self, path: Path) -> CheckResult:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UserFacingError(f"Cannot read {path}: {exc.strerror}") from exc
        f = read_lockbox(data, self.layout)
        registered = self.registry.file(f.fingerprint)
        elsewhere = [p for p in self.registry.find(confirmations=[i.confirmation for i in f.items])
                     if p.file.released and p.file.fingerprint != f.fingerprint]
        return CheckResult(path, f, registered, elsewhere)

    def summary(self, file: LockboxFile, name: str, *, prepared_by: str = "") -> Summary:
        reg = self.registry.file(file.fingerprint)
        status = ""
        if reg is not None:
            status = {"built": "built, not sent yet", SENT: "sent through Stratus", EMAILED: "e-mailed",
                      HANDED_OVER: "handed over by hand"}.get(reg.status, reg.status)
            if reg.released_at:
                status += f" on {reg.released_at[:16].replace('T', ' ')} UTC by {reg.released_by}"
        return summarize(file, name, prepared_by=prepared_by or (reg.operator if reg else ""), status=status,
                         training=self.settings.training)

    def summary_text(self, path: Path) -> str:
        c = self.check(path)
        self._require_valid(c)
        return summary_text(self.summary(c.file, c.path.name))

    def summary_pdf(self, path: Path, out: Path) -> Path:
        c = self.check(path)
        self._require_valid(c)
        return write_summary_pdf(self.summary(c.file, c.path.name), out)

    @staticmethod
    def _require_valid(c: CheckResult) -> None:
        if not c.ok:
            raise ValidationError(f"{c.path.name} is not a valid lockbox file", c.file.errors)

    # -- release
    def _prepare_release(self, path: Path, operator: str, override_by: Any) -> tuple[CheckResult, str]:
        c = self.check(path)
        self._require_valid(c)
        if c.registered is None:  # a file built elsewhere: register it now, items by confirmation
            self.registry.record_build(
                RegisteredFile(c.file.fingerprint, c.path.name, now_iso(), operator, c.file.destination,
                               len(c.file.items), len(c.file.batches), str(c.file.total), "built"),
                [RegistryItem(i.confirmation, "", i.batch, i.item, str(i.amount)) for i in c.file.items])
        supervisor = ""
        if c.released_elsewhere:
            if override_by is None:
                first = c.released_elsewhere[0]
                raise ValidationError(
                    f"{counted(len(c.released_elsewhere), 'item')} of {c.path.name} {agree(len(c.released_elsewhere), 'is')} already in a released lockbox file",
                    [Problem(None, None, "duplicate", f"confirmation {p.confirmation} is {p.describe()}")
                     for p in c.released_elsewhere[:50]],
                    hint=f"e.g. {first.confirmation}; rebuild without them, or a supervisor may override")
            supervisor = require_supervisor(override_by, "Sending items that are already in another lockbox file")
            self._audit(supervisor, AUDIT_DUPLICATE_OVERRIDE, c.path.name, requested_by=operator,
                        fingerprint=c.file.fingerprint, count=len(c.released_elsewhere))
        return c, supervisor

    def send(self, path: Path, *, via: str | None = None, operator: str = "", override_by: Any = None,
             progress: ProgressFn | None = None, cancel=None) -> SendOutcome:
        """Send a built file through Stratus (SFTP) or by e-mail, exactly once per channel."""
        via = via or self.settings.send_via
        operator = operator or _operator_name()
        self._require(operator, "send_lockbox")
        c, _ = self._prepare_release(path, operator, override_by)
        reg = self.registry.file(c.file.fingerprint)
        if reg is not None and reg.released:
            if override_by is None:  # any second delivery, whatever the channel, may be imported twice
                how = {SENT: "sent through Stratus", EMAILED: "e-mailed", HANDED_OVER: "handed over"}[reg.status]
                raise AlreadyReleased(
                    f"{c.path.name} was already {how} on {format_datetime(reg.released_at)} by "
                    f"{reg.released_by}", hint="a supervisor may override to send it again")
            require_supervisor(override_by, "Sending a lockbox file again")
        if via == "stratus":
            outcome = self._send_stratus(c, operator, override_by, progress, cancel)
            self.registry.mark_released(c.file.fingerprint, status=SENT, operator=operator, via="stratus",
                                        remote_ref=outcome.destination)
        elif via == "email":
            outcome = self._send_email(c, operator, override_by, progress, cancel)
            self.registry.mark_released(c.file.fingerprint, status=EMAILED, operator=operator, via="email",
                                        remote_ref=outcome.destination)
        else:
            raise UserFacingError(f"Unknown way to send a lockbox file: {via!r} (stratus or email)")
        self._finish_queue(c, operator)
        self._audit(operator, AUDIT_SEND, c.path.name, via=via, fingerprint=c.file.fingerprint,
                    destination=outcome.destination, key=outcome.reference, status=outcome.status,
                    items=len(c.file.items), total=str(c.file.total))
        return outcome

    def mark_handed_over(self, path: Path, *, operator: str = "", note: str = "",
                         override_by: Any = None) -> RegisteredFile:
        """Record that the file left the console another way (USB stick, manual upload)."""
        operator = operator or _operator_name()
        self._require(operator, "send_lockbox")
        c, _ = self._prepare_release(path, operator, override_by)
        current = self.registry.file(c.file.fingerprint)
        if current is not None and current.released:
            return current  # already released: nothing more to record
        reg = self.registry.mark_released(c.file.fingerprint, status=HANDED_OVER, operator=operator,
                                          via="by hand", remote_ref=note)
        self._finish_queue(c, operator)
        self._audit(operator, AUDIT_HANDED_OVER, c.path.name, fingerprint=c.file.fingerprint, note=note,
                    items=len(c.file.items), total=str(c.file.total))
        return reg

    def _finish_queue(self, c: CheckResult, operator: str) -> int:
        """Queued CloudStore payments (posting journal) that this released file holds are done."""
        if self.journal is None:
            return 0
        from console.adapters import journal as jr

        reg_items = self.registry.items(c.file.fingerprint)
        pids = {i.payment_id for i in reg_items if i.payment_id}
        confs = {i.confirmation for i in reg_items}
        keys = [e.key for e in self.journal.entries(kinds=[QUEUE_KIND], states=[jr.PENDING])
                if e.payload.get("payment_id") in pids or e.payload.get("confirmation") in confs]
        done = 0
        owner = jr.lease_owner_id()
        for start in range(0, len(keys), 500):
            chunk = keys[start: start + 500]
            for e in self.journal.claim(owner, [QUEUE_KIND], keys=chunk, limit=len(chunk)):
                if self.journal.finish(e.key, owner, jr.DONE, outcome="in_lockbox", remote_ref=c.path.name,
                                       detail=f"released by {operator}"):
                    done += 1
        return done

    def _send_stratus(self, c: CheckResult, operator: str, override_by: Any, progress, cancel) -> SendOutcome:
        if self._transfer is None:
            raise UserFacingError("Sending through Stratus is not set up for this profile")
        svc = self._transfer()
        res = svc.send_file(c.path, kind="lockbox", operator=operator, override=override_by is not None,
                            override_by=override_by, progress=progress, cancel=cancel)
        return SendOutcome(c.path, "stratus", res.fingerprint, res.remote_path, res.key, str(res.status),
                           reconciled=res.reconciled, override=res.override, warnings=tuple(res.warnings))

    def _send_email(self, c: CheckResult, operator: str, override_by: Any, progress, cancel) -> SendOutcome:
        from console.adapters import journal as jr
        from console.adapters.mail import MailOutcomeUnknown, build_message

        if self._mailer is None or self.journal is None:
            raise UserFacingError("Sending by e-mail is not set up for this profile")
        to = list(self.settings.email_to)
        if not to:
            raise UserFacingError("No lockbox e-mail recipient is configured",
                                  hint="set it in Settings → Lockbox")
        sha = c.file.fingerprint
        registry_fp = f"emailed:{sha}"
        base_key = f"{EMAIL_KIND}:{sha}:{','.join(sorted(to))}"
        history = [e for e in self.journal.entries(fingerprint=registry_fp) if e.kind == EMAIL_KIND]
        delivered = [e for e in history if e.state == jr.DONE]
        open_entries = [e for e in history if e.state != jr.DONE]
        override = override_by is not None
        previous_state = ""
        if open_entries:
            entry = open_entries[-1]
            previous_state = entry.state
            if entry.state == jr.IN_FLIGHT and entry.lease_expires > datetime.now().timestamp():
                raise UserFacingError(f"{c.path.name} is being e-mailed right now from another window")
            if entry.state in (jr.NEEDS_REVIEW, jr.IN_FLIGHT):
                if not override:
                    raise UserFacingError(
                        f"An earlier e-mail of {c.path.name} may have been delivered (it stopped while sending)",
                        hint="ask the recipient; a supervisor may override to send it again")
                require_supervisor(override_by, "Sending a lockbox e-mail again")
            if entry.state in (jr.REJECTED, jr.NEEDS_REVIEW, jr.REPORTED):
                self.journal.reopen([entry.key], operator=operator)
        elif delivered and not override:
            prev = delivered[-1]
            raise AlreadyReleased(f"{c.path.name} was already e-mailed on {prev.updated_at[:16].replace('T', ' ')} "
                                  f"UTC by {prev.operator} to {', '.join(prev.payload.get('to', []))}",
                                  hint="a supervisor may override to send it again")
        else:
            if delivered:
                require_supervisor(override_by, "E-mailing a lockbox file again")
            key = base_key if not history else f"{base_key}#send-{len(history) + 1}"
            self.journal.add_entries(
                [jr.NewEntry(key, EMAIL_KIND, {"file": c.path.name, "sha256": grouped_fingerprint(sha), "to": to,
                                               "items": len(c.file.items), "total": str(c.file.total)})],
                operator=operator, fingerprint=registry_fp, file_name=c.path.name, file_kind=EMAIL_KIND,
                records=1, total=str(c.file.total), override=bool(history))
            entry = self.journal.get(key)
        owner = jr.lease_owner_id()
        claimed = self.journal.claim(owner, [EMAIL_KIND], keys=[entry.key], lease_s=300.0)
        if not claimed:
            raise UserFacingError(f"Could not start the e-mail of {c.path.name}; try again")
        entry = claimed[0]
        # Only a send that surely never reached the server (refused or cancelled before the data)
        # may go again without a supervisor: SMTP cannot be asked whether a message arrived.
        if entry.attempts > 1 and previous_state != jr.REJECTED and not override:
            self.journal.finish(entry.key, owner, jr.NEEDS_REVIEW, outcome="outcome_unknown",
                                detail="an earlier attempt stopped while sending; ask the recipient")
            raise UserFacingError(f"An earlier e-mail of {c.path.name} stopped half-way and may have arrived",
                                  hint="ask the recipient; a supervisor may override to send it again")
        message_id = f"<lockbox-{sha[:16]}-{entry.id}.{entry.attempts}@biller-console>"
        s = self.settings
        body = summary_text(self.summary(c.file, c.path.name))
        msg = build_message(
            sender=self.sender or "biller-console@localhost", to=to,
            subject=f"{'[TRAINING] ' if s.training else ''}CloudStore lockbox {c.path.name}: "
                    f"{len(c.file.items):,} items, {format_money(c.file.total)}",
            body=body, message_id=message_id, attachments=[(c.path.name, c.file.data)])
        if progress:
            progress(0, 1, f"E-mailing {c.path.name}")
        if cancel is not None and cancel.is_set():
            from console.errors import Cancelled

            self.journal.finish(entry.key, owner, jr.REJECTED, outcome="cancelled", detail=f"cancelled by {operator}")
            raise Cancelled("e-mail cancelled")
        try:
            receipt = self._mailer().send(msg)
        except MailOutcomeUnknown as exc:
            self.journal.finish(entry.key, owner, jr.NEEDS_REVIEW, outcome="outcome_unknown", detail=str(exc))
            raise
        except BaseException as exc:
            self.journal.finish(entry.key, owner, jr.REJECTED, outcome="refused", detail=str(exc) or type(exc).__name__)
            raise
        self.journal.finish(entry.key, owner, jr.DONE, outcome="sent", remote_ref=receipt.message_id,
                            detail=f"accepted by {receipt.server} for {', '.join(receipt.recipients)}")
        if progress:
            progress(1, 1, f"E-mailed {c.path.name}")
        return SendOutcome(c.path, "email", sha, ", ".join(receipt.recipients), entry.key, "sent",
                           override=bool(delivered) and override)

    # -- history
    def files(self, limit: int = 200) -> list[RegisteredFile]:
        return self.registry.files(limit)

    def close(self) -> None:
        self.registry.close()


def _lines(ps: list[SourcePayment], limit: int = 8) -> str:
    shown = ", ".join(str(p.line) for p in ps[:limit])
    return shown + (f", … {len(ps) - limit} more" if len(ps) > limit else "")


_WIDTH_FIELDS = (("reference", "AccountNumber"), ("confirmation", "ConfirmationNumber"),
                 ("item_code", "InvoiceType"), ("gl_account", "GLAccount"))


def _field_widths(layout: FixedLayout) -> list[tuple[str, str, int]]:
    detail = layout.record("detail")
    out = []
    for name, column in _WIDTH_FIELDS:
        f = detail.field(name)
        if f is not None:
            out.append((column, f.column, f.width))
    return out


def _field_problem(p: SourcePayment, gl: str, widths: list[tuple[str, str, int]]) -> Problem | None:
    """A value that cannot be written into the detail record (checked before the build)."""
    values = {"AccountNumber": p.account, "ConfirmationNumber": p.confirmation, "InvoiceType": p.invoice_type,
              "GLAccount": gl}
    for column, where, width in widths:
        value = values[column]
        if len(value) > width:
            return Problem(p.line, column, "width", f"payment {p.payment_id}: {column} {value!r} is longer than "
                                                    f"the {width} characters of the lockbox field {where}")
    if not p.confirmation:
        return Problem(p.line, "ConfirmationNumber", "required", f"payment {p.payment_id} has no confirmation number")
    if p.amount <= 0:
        return Problem(p.line, "Amount", "amount", f"payment {p.payment_id}: amount {p.amount} must be above 0")
    return None


_HEX64 = re.compile(r"[0-9a-f]{64}")


def grouped_fingerprint(sha: str) -> str:
    """``1a2b3c4d:…`` — a SHA-256 in groups of 8, as kept in the audit log and journal payloads.

    A plain hex digest can hold a run of 13+ digits that passes the Luhn check, which the
    journal's card-data guard (rightly) refuses; groups of 8 never can.
    """
    return ":".join(sha[i: i + 8] for i in range(0, len(sha), 8))


def _no_digit_runs(value: Any) -> Any:
    if isinstance(value, str):
        return _HEX64.sub(lambda m: grouped_fingerprint(m.group()), value)
    if isinstance(value, list):
        return [_no_digit_runs(v) for v in value]
    return value


def default_file_name(created: datetime, destination: str = "") -> str:
    stem = "".join(c for c in destination if c.isalnum()) or "lockbox"
    return f"{stem}-lockbox-{created:%Y%m%d-%H%M}.txt"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- sandbox demo data ----------------------------------------------------------------------

def write_sandbox_payments(path: Path, profile: Any, *, count: int = 48, day: date | None = None) -> Path:
    """A training payments file: CloudStore payments for the profile's item codes, a few utility
    payments (skipped by the lockbox) and one void, deterministic for a given day."""
    import csv
    import io
    import random

    day = day or date.today()
    codes = sorted(profile.get("lockbox_cloudstore_types") or profile.gl_map or ["801"])
    rnd = random.Random(day.toordinal())
    names = ["NGUYỄN VAN AN", "BJÖRK ÅSA", "O'NEIL SEAN", "SMITH JOHN", "DUBOIS RENÉE", "LOPEZ MARIA",
             "GARCÍA-MÁRQUEZ ISABEL CRISTINA"]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["PaymentId", "ConfirmationNumber", "AccountNumber", "InvoiceNumber", "InvoiceType", "PayerName",
                "Tender", "CardLast4", "Amount", "ConvenienceFee", "PaymentDate", "SettlementDate", "Status"])
    total = Decimal("0.00")
    stamp = day.strftime("%y%m%d")
    for i in range(1, count + 1):
        utility = i % 12 == 0
        card = rnd.random() < 0.6
        amount = Decimal(rnd.randint(500, 250_000)).scaleb(-2)
        total += amount
        w.writerow([f"SBX{stamp}{i:04d}", f"S{stamp}{i:04d}{rnd.randint(10, 99)}",
                    f"{rnd.randint(100000, 999999)}-{rnd.randint(0, 99):02d}" if utility else f"AR-{rnd.randint(1000, 9999)}",
                    f"CS{stamp}{i:04d}", str(profile.get("invoicecloud_invoice_type") or 42) if utility
                    else rnd.choice(codes), rnd.choice(names), "CARD" if card else "ACH",
                    f"{rnd.randint(0, 9999):04d}" if card else "", f"{amount:.2f}", "2.95" if card else "0.00",
                    f"{day:%m/%d/%Y} {8 + i % 9:02d}:{i % 60:02d}:00",
                    f"{date.fromordinal(day.toordinal() + 1):%m/%d/%Y}", "VOIDED" if i == 7 else "APPROVED"])
    buf.write(f"TRAILER,{count},{total}\r\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return path


# ---- composition --------------------------------------------------------------------------

def profile_gl_map(profile: Any, paths: Any) -> GlMap:
    """The stored GL mapping (``console.services.gl_mapping``: one store for every view)."""
    return stored_gl_map(profile, paths)


def build_lockbox_service(services: Any, *, gl_map: GlMap | None = None) -> LockboxService:
    """The service for a ``console.app.Services`` object (GUI, CLI)."""
    from console.lockbox.registry import SqliteLockboxRegistry

    profile, paths = services.profile, services.paths
    settings = LockboxSettings.from_profile(profile, gl_map=gl_map or profile_gl_map(profile, paths))
    if profile.is_sandbox and not settings.email_to:
        from dataclasses import replace

        settings = replace(settings, email_to=("caselle-import@sandbox.test",))
    journal = getattr(services, "journal", None)
    audit = getattr(services, "audit", None)

    def transfer() -> Any:
        existing = getattr(services, "transfer", None)
        if existing is not None:
            return existing
        from console.services.transfer import build_transfer_service

        return build_transfer_service(profile, services.secrets, paths, journal, endpoints=services.endpoints,
                                      audit=audit)

    def mailer() -> Any:
        from console.adapters.mail import Mailer

        return Mailer(smtp_settings(profile, services.secrets, services.endpoints))

    sender = str(profile.get("smtp_sender") or "") or ("clerk@sandbox.test" if profile.is_sandbox else "")
    return LockboxService(settings, SqliteLockboxRegistry(paths.journal_file), journal=journal, audit=audit,
                          transfer=transfer, mailer=mailer, sender=sender, profile=profile)


def smtp_settings(profile: Any, secrets: Any, endpoints: dict[str, Any] | None) -> Any:
    """SMTP settings of a profile; the sandbox's come from its running SMTP sink."""
    from console.adapters.mail import SmtpSettings
    from console.secrets import SMTP_PASSWORD

    e = endpoints or {}
    if profile.is_sandbox:
        if not e.get("smtp_port"):
            raise UserFacingError("The sandbox has no SMTP sink running")
        return SmtpSettings(host=str(e["smtp_host"]), port=int(e["smtp_port"]), user=str(e.get("smtp_user", "")),
                            sender=str(profile.get("smtp_sender") or "clerk@sandbox.test"),
                            password=str(e.get("smtp_password", "")),
                            ca_file=Path(e["smtp_ca_file"]) if e.get("smtp_ca_file") else None, timeout=10.0)
    return SmtpSettings(host=str(profile.get("smtp_host") or ""), port=int(profile.get("smtp_port") or 587),
                        user=str(profile.get("smtp_user") or ""), sender=str(profile.get("smtp_sender") or ""),
                        password=secrets.get(SMTP_PASSWORD))


__all__ = [
    "AlreadyReleased", "DUPLICATE", "INCLUDED", "INVALID", "UNMAPPED", "VOIDED", "BatchPlan", "BuildResult", "CheckResult",
    "LockboxPreview", "LockboxService", "LockboxSettings", "PaymentSource", "PreviewLine", "SendOutcome",
    "SourcePayment", "build_lockbox_service", "default_file_name", "load_payments_file", "profile_gl_map",
    "load_posting_queue", "save_profile_gl_map", "smtp_settings", "write_sandbox_payments",
]
