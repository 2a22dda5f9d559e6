"""Posting: Invoice Cloud payments, voids, ACH rejects and change logs into Caselle, exactly once.

Two steps, both resumable:

1. ``import_file`` (or ``preview_file`` + ``import_plan``) reads a file with its layout. A file
   with ANY error journals nothing. Posting-level rules are checked on top of the layout's
   (fingerprint registry, a PaymentId journaled before with other content, a reject amount that
   differs from the payment's, the API version gate). Then every effect becomes one journal
   entry, all in ONE transaction (write-ahead: nothing is sent that is not journaled):

   ============  ==========================  =========================================================
   kind          key                         effect
   ============  ==========================  =========================================================
   receipt       ``<PaymentId>``             ``create_receipt`` (amount without the convenience fee)
   void          ``void:<PaymentId>``        ``void_receipt`` of the receipt posted for that PaymentId
   ach_reject    ``reject:<PaymentId>``      ``ach_reject`` (return code as reason, NSF fee per profile)
   change        ``change:<ChangeId>``       ``set_direct_pay_status`` / ``update_customer``
   lockbox_item  ``lockbox:<PaymentId>``     nothing here: queued for the lockbox file (see below)
   ============  ==========================  =========================================================

2. ``post_pending`` claims due entries and executes them. EXACTLY ONCE: an entry whose
   earlier claim may have reached Caselle (``Entry.needs_reconcile``: a crash, a timeout, a
   dropped connection, a 5xx) is reconciled first by asking Caselle for its reference
   (``find_receipt``; for changes ``customer_detail``). A mutation is never retried blindly:
   after an unknown outcome the entry goes back to pending with a backoff and the next claim
   reconciles before any re-send. Permanent refusals become ``rejected`` (an operator may retry
   them), things that need no call are ``reported`` (void of a payment never posted, no-op
   change, superseded change), and contradictions (a receipt under our reference with another
   amount or account) are ``needs_review`` with the evidence.

Batches: a receipt goes into the batch for its payment date, opened when first needed. When
that date's batch is already closed (a late file), the receipt keeps its payment date as the
receipt date and goes into today's batch. Auto close (``profile.biller_batch_auto_close``, the
seed's "auto close"): after each run, the batches this console opened for dates before today
are closed once no receipt for that date is still pending. Today's batch stays open for the
rest of the day's files and is closed by the first run on a later day. Opening and closing a
batch are Caselle changes too: journaled first (``batch_open`` ``batch-open:<date>``,
``batch_close`` ``batch-close:<batch ID>``) and, after an unknown outcome, reconciled by asking
Caselle for the date's batch (``batch_totals``) before anything is sent again.

``lockbox_item`` payload (for the lockbox helper: claim kind ``lockbox_item`` from the journal
and ``finish`` it done with the lockbox file name as ``remote_ref``)::

    {"payment_id", "confirmation", "account", "invoice_number", "item_code" (the CloudStore
     invoice type), "gl_account" (from the profile's GL map, "" when unmapped), "payer_name",
     "tender", "amount" (string, no fee), "convenience_fee", "payment_date" (ISO),
     "settlement_date" (ISO or "")}
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from console.adapters.journal import (
    DONE,
    IN_FLIGHT,
    NEEDS_REVIEW,
    PENDING,
    REJECTED,
    REPORTED,
    DuplicateFileError,
    Entry,
    FileRecord,
    Journal,
    NewEntry,
    lease_owner_id,
)
from console.config import Profile
from console.domain.models import CustomerDetail, Receipt
from console.domain.wording import counted
from console.errors import (
    AuthError,
    Cancelled,
    NetworkError,
    NotPermitted,
    Problem,
    RemoteError,
    UnsupportedVersionError,
    ValidationError,
)
from console.services.operators import can, refusal, require
from console.services.posting_run import ClaimLoop
from console.services.posting_run import RunAborted as _Abort

log = logging.getLogger(__name__)

RECEIPT = "receipt"
VOID = "void"
ACH_REJECT = "ach_reject"
CHANGE = "change"
LOCKBOX_ITEM = "lockbox_item"
MANUAL_VOID = "manual_void"
BATCH_OPEN = "batch_open"  # key "batch-open:<YYYY-MM-DD>" ("#2"… when Caselle lost the batch)
BATCH_CLOSE = "batch_close"  # key "batch-close:<batch ID>"
CLOSE_ATTEMPTS = 6  # closing a batch after a run: attempts when Caselle's answer is lost
POSTED_KINDS = (RECEIPT, VOID, ACH_REJECT, CHANGE, MANUAL_VOID)  # what post_pending executes
ALL_KINDS = (*POSTED_KINDS, LOCKBOX_ITEM)

NOT_OFFERED_SETTING = {"AUTOPAY": "biller_autopay", "PAPERLESS": "biller_paperless"}  # off: rows reported
FILE_KINDS = {"payments": "ic-payments-v1", "rejects": "ic-ach-rejects-v1", "changes": "ic-changes-v1"}
KIND_OF_FILE = {"payments": (RECEIPT, VOID, LOCKBOX_ITEM), "rejects": (ACH_REJECT,), "changes": (CHANGE,)}

V_2021_05 = "2021.05"
#: Reasons an operator picks for a manual void (code -> label); a comment is always required too.
VOID_REASONS: dict[str, str] = {
    "DUPLICATE": "Duplicate payment",
    "WRONG_ACCOUNT": "Applied to the wrong account",
    "WRONG_AMOUNT": "Wrong amount keyed",
    "WRONG_TENDER": "Wrong tender type",
    "CUSTOMER_REQUEST": "Customer request / refund",
    "RETURNED_CHECK": "Returned check",
    "OTHER": "Other (see comment)",
}
AUTOPAY_STATUS = {"ENROLLED": "ACTIVE", "UNENROLLED": "INACTIVE"}

ProgressFn = Callable[..., None]


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


# --------------------------------------------------------------------------- the Caselle port
class CasellePort(Protocol):
    """The Caselle Connect calls posting needs (console.adapters.caselle implements them)."""

    def find_receipt(self, reference: str) -> Receipt | None: ...
    def receipt_by_number(self, receipt_number: str) -> Receipt | None: ...
    def create_receipt(self, *, reference: str, account_number: str, amount: Decimal, tender: str,
                       receipt_date: dt.date, batch_date: dt.date, payer_name: str = "",
                       memo: str = "") -> Any: ...  # a Receipt or a result with .receipt
    def void_receipt(self, receipt_number: str, reason: str) -> Any: ...
    def open_batch(self, batch_date: dt.date) -> Any: ...
    def close_batch(self, batch_id: str) -> Any: ...
    def batch_totals(self, batch_date: dt.date) -> Any: ...  # the date's batch (.batch_id, .status) or None
    def ach_reject(self, reference: str, return_code: str, reason: str,
                   nsf_fee: Decimal | None = None) -> Any: ...
    def set_direct_pay_status(self, account_number: str, status: str) -> Any: ...
    def update_customer(self, account_number: str, **changes: Any) -> Any: ...
    def customer_detail(self, account_number: str) -> CustomerDetail | None: ...
    def require(self, feature: str) -> None: ...


def receipt_status(r: Receipt) -> str:
    """POSTED | VOIDED | REVERSED, from a domain Receipt."""
    status = str(r.extra.get("status", "") or "").upper() if r.extra else ""
    if status:
        return status
    return "VOIDED" if r.voided else "POSTED"


# --------------------------------------------------------------------------- records
@dataclass(slots=True)
class PlanRow:
    """One row of the preview: what an entry will do."""

    line: int | None
    key: str
    kind: str
    action: str  # "post receipt", "void receipt", "queue for lockbox", "reverse (R01)", "set PAPERLESS=Y" …
    account: str
    amount: Decimal | None
    tender: str
    batch_date: str  # ISO date of the batch the receipt goes to ("" when not a receipt)
    state: str = PENDING  # what the journal says (or will say)
    outcome: str = ""
    detail: str = ""


@dataclass
class Plan:
    """A read, validated file and the entries it will journal (nothing written yet)."""

    kind: str  # payments | rejects | changes
    name: str
    fingerprint: str
    records: int
    control_total: Decimal
    rows: list[PlanRow]
    entries: list[NewEntry]
    warnings: list[Problem] = field(default_factory=list)
    watermarks: dict[str, str] = field(default_factory=dict)
    already_imported: FileRecord | None = None

    def totals(self) -> dict[tuple[str, str], tuple[int, Decimal]]:
        """(kind, tender) -> (count, amount) for the preview's totals."""
        out: dict[tuple[str, str], list] = {}
        for r in self.rows:
            acc = out.setdefault((r.kind, r.tender), [0, Decimal("0.00")])
            acc[0] += 1
            acc[1] += r.amount or 0
        return {k: (v[0], v[1]) for k, v in out.items()}


@dataclass
class ImportResult:
    plan: Plan
    import_id: int
    added: int
    already_journaled: list[str]
    override: bool


@dataclass
class RunResult:
    """What one ``post_pending`` run did."""

    outcomes: Counter = field(default_factory=Counter)  # "posted", "already_there", "void_not_posted" …
    states: Counter = field(default_factory=Counter)  # terminal states reached in this run
    processed: int = 0
    cancelled: bool = False
    aborted: str = ""  # why the run stopped early (remote unreachable, auth …)
    batches_closed: list[str] = field(default_factory=list)
    remaining: int = 0  # entries still pending / in flight for the kinds run
    spare_workers: int = 0  # workers started while calls stalled (see posting_run)
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.remaining and not self.aborted and not self.cancelled


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 0.5
    cap_s: float = 30.0
    max_attempts: int = 12  # after this many claims the entry goes to review
    max_consecutive_network: int = 40  # this many unknown outcomes in a row: Caselle is down, stop
    max_wait_s: float = 120.0  # a run waits at most this long for backed-off entries

    def delay(self, attempts: int) -> float:
        d = min(self.cap_s, self.base_s * (2 ** max(0, attempts - 1)))
        return d * (0.5 + random.random() / 2)


# --------------------------------------------------------------------------- helpers
def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _iso(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _get(values: dict, name: str) -> Any:
    if name in values:
        return values[name]
    folded = name.casefold()
    for k, v in values.items():
        if str(k).casefold() == folded:
            return v
    return None


def _text(values: dict, name: str) -> str:
    v = _get(values, name)
    return "" if v is None else str(v).strip()


def _money(v: Any) -> Decimal:
    if isinstance(v, Decimal):
        return v.quantize(Decimal("0.01"))
    if v in (None, ""):
        return Decimal("0.00")
    return Decimal(str(v)).quantize(Decimal("0.01"))


def _fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_layout_file(path: Path, kind: str, progress: ProgressFn | None = None, cancel: CancelFlag | None = None):
    """Read ``path`` with the layout of ``kind`` (the layout helper's reader)."""
    from console.files import reader as file_reader
    from console.files.layouts import load_layout

    layout = load_layout(FILE_KINDS[kind])
    kwargs: dict[str, Any] = {}
    if progress is not None:
        kwargs["progress"] = progress
    if cancel is not None:
        kwargs["cancel"] = cancel
    return file_reader.read_file(Path(path), layout, **kwargs)


# --------------------------------------------------------------------------- the service
class PostingService:
    """Import files into the journal and post journaled entries to Caselle, exactly once."""

    def __init__(self, journal: Journal, caselle: CasellePort | Callable[[], CasellePort], profile: Profile,
                 audit=None, *, retry: RetryPolicy | None = None, lease_s: float | None = None,
                 workers: int | None = None, today: Callable[[], dt.date] | None = None,
                 inbox_dir: Path | None = None,
                 chunk: int = 64):
        self.journal = journal
        self.inbox_dir = inbox_dir
        self._caselle = caselle
        self.profile = profile
        self.audit = audit
        self.retry = retry or RetryPolicy()
        timeout = float(profile.get("caselle_timeout_s") or 20)
        # long enough for a reconciliation query with its retries plus one send, renewed per chunk
        self.lease_s = lease_s if lease_s is not None else max(300.0, 10 * timeout)
        #: parallel workers (default: the profile's ``caselle_workers``): a call that stalls until
        #: its timeout holds one worker, not the run
        self.workers = max(1, int(workers if workers is not None else profile.get("caselle_workers") or 1))
        #: a call running longer than this counts as stalled and a spare worker starts (None: a
        #: quarter of the timeout, see posting_run.stall_after)
        self.stall_s: float | None = None
        #: entries claimed per transaction; their outcomes are recorded per chunk too (a crash
        #: in between only means those entries are reconciled — asked for — before any re-send)
        self.chunk = chunk
        self._local = threading.local()
        self._today = today or dt.date.today
        self._batch_lock = threading.Lock()  # guards the two dicts below, never held over a call
        self._batch_for: dict[dt.date, dt.date] = {}
        self._day_locks: dict[dt.date, threading.Lock] = {}  # one batch date opened by one worker at a time
        #: handlers for entry kinds journaled by other services (see :meth:`register_handler`)
        self._handlers: dict[str, Callable[[Entry, str, str], str]] = {}
        #: the remote named in run-level messages (account sync's runs say "Invoice Cloud")
        self.remote_name = "Caselle"
        #: called before an import and before each run (the journal guard: raises when the
        #: journal or its audit log is not what it must be); None = no guard (tests, tools)
        self.preflight: Callable[[], None] | None = None

    @property
    def caselle(self) -> CasellePort:
        if callable(self._caselle) and not hasattr(self._caselle, "create_receipt"):
            self._caselle = self._caselle()
        return self._caselle  # type: ignore[return-value]

    # ================================================================== import
    def preview_file(self, path: Path, kind: str, *, progress: ProgressFn | None = None,
                     cancel: CancelFlag | None = None) -> Plan:
        """Read and check a file, and plan its entries. Raises ValidationError (line / column /
        rule) when anything is wrong; journals nothing."""
        if kind not in FILE_KINDS:
            raise ValidationError(f"Unknown file kind {kind!r}",
                                  [Problem(None, None, "kind", f"use one of {', '.join(FILE_KINDS)}")])
        path = Path(path)
        if not path.is_file():
            raise ValidationError(f"No file {path}", [Problem(None, None, "exists", f"{path} does not exist")])
        if kind == "rejects":
            self._gate_rejects()
        result = read_layout_file(path, kind, progress, cancel)
        errors = [p for p in result.errors if getattr(p, "severity", "error") == "error"]
        if errors or not result.ok:
            more = int(getattr(result, "problems_not_listed", 0) or 0)
            total = len(errors) + more
            listed = f" ({len(errors)} listed)" if more else ""
            raise ValidationError(f"{path.name} has {counted(total, 'error')}{listed}: nothing was imported", errors)
        fingerprint = getattr(result, "fingerprint", "") or _fingerprint(path)
        warnings = list(getattr(result, "warnings", []) or [])
        with _gc_paused():
            records = [(rec.line, rec.values) for rec in result.records]
        return self.plan_records(kind, records, name=path.name, fingerprint=fingerprint, warnings=warnings,
                                 progress=progress)

    def fetch_and_preview(self, kind: str, client, *, progress: ProgressFn | None = None,
                          cancel: CancelFlag | None = None, **params: Any) -> Plan:
        """Fetch ``kind`` from the Invoice Cloud API (console.adapters.invoicecloud) as a file in
        its layout, keep it in the inbox folder, and preview it like any file."""
        if progress is not None:
            progress(0, None, f"fetching {kind} from Invoice Cloud…")
        fetched = client.fetch_csv(kind, **params)
        digest = hashlib.sha256(fetched.data).hexdigest()
        folder = Path(self.inbox_dir) if self.inbox_dir else Path.cwd()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"ic-{kind}-{dt.datetime.now():%Y%m%d-%H%M%S}-{digest[:10]}.csv"
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(fetched.data)
        tmp.replace(path)
        return self.preview_file(path, kind, progress=progress, cancel=cancel)

    def plan_records(self, kind: str, records: Sequence[tuple[int | None, dict]], *, name: str, fingerprint: str,
                     warnings: Sequence[Problem] = (), progress: ProgressFn | None = None) -> Plan:
        """Plan already-read records ``(line, {column: typed value})`` (a file or the IC API)."""
        if kind == "rejects":
            self._gate_rejects()
        planner = {"payments": self._plan_payments, "rejects": self._plan_rejects, "changes": self._plan_changes}
        with _gc_paused():
            rows, entries, problems, marks = planner[kind](_ticking(records, progress, f"planning {name}"))
        if problems:
            raise ValidationError(f"{name} breaks {counted(len(problems), 'posting rule')}: nothing was imported", problems)
        control = sum((_money(_get(v, "Amount")) for _, v in records), Decimal("0.00")) if kind != "changes" \
            else Decimal("0.00")
        return Plan(kind=kind, name=name, fingerprint=fingerprint, records=len(records), control_total=control,
                    rows=rows, entries=entries, warnings=list(warnings), watermarks=marks,
                    already_imported=self.journal.file_record(fingerprint))

    def import_plan(self, plan: Plan, operator: str, *, override: bool = False,
                    approver: str | None = None) -> ImportResult:
        """Journal a previewed plan (one transaction). ``override`` re-imports a known file and
        needs a supervisor: ``approver`` (already authenticated) or the operator's own role.
        The operator's role must allow ``import``."""
        require(self.profile, operator, "import", self.audit)
        if self.preflight is not None:
            self.preflight()
        if override:
            who = approver or operator
            op = self.profile.operator(who)
            if op is None or op.role != "supervisor" or not can(self.profile, op, "override"):
                raise NotPermitted("Importing a file a second time needs a supervisor's approval",
                                   hint="ask a supervisor to approve the override with their PIN")
            if self.audit is not None:
                first = plan.already_imported.imported_at if plan.already_imported else None
                self.audit.record(operator, "file.override", plan.name, fingerprint=plan.fingerprint,
                                  approved_by=who, first_import=first)
        try:
            with _gc_paused():
                added = self.journal.add_entries(plan.entries, operator=operator, fingerprint=plan.fingerprint,
                                                 file_name=plan.name, file_kind=plan.kind, records=plan.records,
                                                 total=str(plan.control_total), override=override,
                                                 watermarks=plan.watermarks)
        except DuplicateFileError:
            if self.audit is not None:
                self.audit.record(operator, "posting.import_refused", plan.name, fingerprint=plan.fingerprint,
                                  reason="duplicate_file")
            raise
        if self.audit is not None:
            self.audit.record(operator, "posting.import", plan.name, kind=plan.kind, fingerprint=plan.fingerprint,
                              records=plan.records, total=str(plan.control_total), added=added.added,
                              already_journaled=len(added.already_journaled), override=override)
        return ImportResult(plan=plan, import_id=added.import_id, added=added.added,
                            already_journaled=added.already_journaled, override=override)

    def import_file(self, path: Path, kind: str, operator: str, override: bool = False, *,
                    approver: str | None = None, progress: ProgressFn | None = None,
                    cancel: CancelFlag | None = None) -> ImportResult:
        plan = self.preview_file(path, kind, progress=progress, cancel=cancel)
        if plan.already_imported is not None and not override:
            rec = plan.already_imported
            raise DuplicateFileError(plan.fingerprint, rec)
        return self.import_plan(plan, operator, override=override, approver=approver)

    # ---- per kind
    def _existing(self, keys: Sequence[str]) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):
            for e in self.journal.entries(keys=keys[i:i + 500]):
                out[e.key] = e
        return out

    def _plan_payments(self, records):
        cloudstore = {str(t).strip() for t in (self.profile.get("lockbox_cloudstore_types") or [])}
        gl_map = dict(self.profile.gl_map)
        rows: list[PlanRow] = []
        entries: list[NewEntry] = []
        problems: list[Problem] = []
        keyed = []
        for line, v in records:
            pid = _text(v, "PaymentId")
            status = _text(v, "Status").upper()
            inv_type = _text(v, "InvoiceType")
            pdate = _date(_get(v, "PaymentDate"))
            sdate = _date(_get(v, "SettlementDate"))
            amount = _money(_get(v, "Amount"))
            payload = {
                "payment_id": pid, "confirmation": _text(v, "ConfirmationNumber"), "account": _text(v, "AccountNumber"),
                "invoice_number": _text(v, "InvoiceNumber"), "invoice_type": inv_type,
                "payer_name": _text(v, "PayerName"), "tender": _text(v, "Tender").upper(),
                "card_last4": _text(v, "CardLast4"), "amount": str(amount),
                "convenience_fee": str(_money(_get(v, "ConvenienceFee"))),
                "payment_date": _iso(pdate), "settlement_date": _iso(sdate),
            }
            if status == "VOIDED":
                key, kind, action = f"void:{pid}", VOID, "void receipt"
                payload["reason"] = "Voided in Invoice Cloud"
                if inv_type in cloudstore:
                    action = "take out of the lockbox queue"
                    payload["cloudstore"] = True
            elif inv_type in cloudstore:
                key, kind, action = f"lockbox:{pid}", LOCKBOX_ITEM, "queue for lockbox"
                payload = {k: payload[k] for k in ("payment_id", "confirmation", "account", "invoice_number",
                                                   "payer_name", "tender", "amount", "convenience_fee",
                                                   "payment_date", "settlement_date")}
                payload["item_code"] = inv_type
                payload["gl_account"] = gl_map.get(inv_type, "")
            else:
                key, kind, action = pid, RECEIPT, "post receipt"
            keyed.append((line, key, kind, action, payload, amount))
        existing = self._existing([k for _, k, *_ in keyed] + [p["payment_id"] for *_, p, _a in keyed])
        for line, key, kind, action, payload, amount in keyed:
            old = existing.get(key)
            counter = existing.get(payload["payment_id"])
            if counter is not None and counter.payload.get("source") == "counter":
                rows.append(self._counter_row(line, key, kind, payload, amount, counter))
                continue
            if old is not None and (old.payload.get("amount") != payload["amount"]
                                    or old.payload.get("account") != payload["account"]):
                problems.append(Problem(line, "PaymentId", "payment_id_conflict",
                                        f"{payload['payment_id']} was imported before (line {old.line}) with account "
                                        f"{old.payload.get('account')} and amount {old.payload.get('amount')}; this "
                                        f"file says {payload['account']} / {payload['amount']}"))
                continue
            state = old.state if old is not None else PENDING
            detail = "already in the journal (imported before)" if old is not None else ""
            rows.append(PlanRow(line, key, kind, action, payload["account"], amount, payload["tender"],
                                payload["payment_date"][:10] if kind == RECEIPT else "", state,
                                old.outcome if old else "", detail))
            entries.append(NewEntry(key, kind, payload, line=line))
        return rows, entries, problems, {}

    @staticmethod
    def _counter_row(line, key, kind, payload, amount, counter: Entry) -> PlanRow:
        """A payment Invoice Cloud exports that was taken at the counter (its card charge went
        through Invoice Cloud): the counter posted it (and voids it) already; nothing is journaled."""
        receipt = counter.payload.get("receipt_number") or counter.remote_ref
        what = "void taken at the counter" if kind == VOID else "taken at the counter"
        return PlanRow(line, key, kind, what, payload["account"], amount, payload["tender"],
                       payload["payment_date"][:10], REPORTED, "taken_at_counter",
                       f"taken at the counter (receipt {receipt or 'queued'}): never a second receipt")

    def _gate_rejects(self) -> None:
        version = str(self.profile.get("caselle_api_version"))
        if version != V_2021_05:
            raise UnsupportedVersionError(
                f"ACH rejects need Caselle Connect API {V_2021_05}; this profile uses {version}",
                system="Caselle", hint="ask Caselle to upgrade the Connect API, then import the reject file")

    def _plan_rejects(self, records):
        rows, entries, problems = [], [], []
        fee = _money(self.profile.get("biller_nsf_fee") or 0)
        keyed = []
        for line, v in records:
            pid = _text(v, "PaymentId")
            code = _text(v, "ReturnCode").upper()
            amount = _money(_get(v, "Amount"))
            payload = {"payment_id": pid, "account": _text(v, "AccountNumber"), "amount": str(amount),
                       "return_code": code, "return_date": _iso(_date(_get(v, "ReturnDate"))),
                       "reason": _text(v, "Reason") or code, "nsf_fee": str(fee) if fee > 0 else ""}
            keyed.append((line, pid, payload, amount))
        originals = self._existing([pid for _, pid, *_ in keyed])
        for line, pid, payload, amount in keyed:
            orig = originals.get(pid)
            if orig is not None and orig.kind == RECEIPT:
                if orig.payload.get("amount") != payload["amount"]:
                    problems.append(Problem(line, "Amount", "reject_amount",
                                            f"payment {pid} was {orig.payload.get('amount')}, the reject says "
                                            f"{payload['amount']}"))
                    continue
                if orig.payload.get("tender") not in ("ACH", None):
                    problems.append(Problem(line, "PaymentId", "reject_tender",
                                            f"payment {pid} was paid by {orig.payload.get('tender')}, not ACH"))
                    continue
            key = f"reject:{pid}"
            fee_text = f" + NSF fee {payload['nsf_fee']}" if payload["nsf_fee"] else ""
            rows.append(PlanRow(line, key, ACH_REJECT, f"reverse ({payload['return_code']}){fee_text}",
                                payload["account"], amount, "ACH", ""))
            entries.append(NewEntry(key, ACH_REJECT, payload, line=line))
        return rows, entries, problems, {}

    def _plan_changes(self, records):
        autopay_ok = str(self.profile.get("caselle_api_version")) == V_2021_05
        rows, entries = [], []
        parsed = []
        for line, v in records:
            changed_at = _get(v, "ChangedAt")
            when = changed_at.isoformat() if isinstance(changed_at, (dt.datetime, dt.date)) else str(changed_at or "")
            fld = _text(v, "Field").upper()
            payload = {"change_id": _text(v, "ChangeId"), "account": _text(v, "AccountNumber"), "changed_at": when,
                       "field": fld, "old_value": _text(v, "OldValue"), "new_value": _text(v, "NewValue")}
            parsed.append((line, payload))
        # latest ChangedAt per account + field wins (ties: the later line)
        latest: dict[tuple[str, str], tuple[str, int]] = {}
        for line, p in parsed:
            k = (p["account"], p["field"])
            if k not in latest or (p["changed_at"], line) >= latest[k]:
                latest[k] = (p["changed_at"], line)
        marks: dict[str, str] = {}
        for line, p in parsed:
            k = (p["account"], p["field"])
            mark_key = f"change:{p['account']}:{p['field']}"
            applied = self.journal.get_watermark(mark_key)
            key = f"change:{p['change_id']}"
            action = f"set {p['field']} = {p['new_value']}"
            state, outcome, detail = PENDING, "", ""
            if latest[k][1] != line:
                state, outcome, detail = REPORTED, "superseded", f"a later change in this file wins ({latest[k][0]})"
            elif applied is not None and applied > p["changed_at"]:
                state, outcome, detail = REPORTED, "superseded", f"a later change was imported before ({applied})"
            elif p["field"] in NOT_OFFERED_SETTING and not self.profile.get(NOT_OFFERED_SETTING[p["field"]]):
                state, outcome = REPORTED, "not_offered"  # Settings → Biller options: AutoPay / Paperless offered
                detail = f"{p['field'].title()} is not offered by this biller (Settings → Biller options): not posted"
            elif p["field"] == "AUTOPAY" and not autopay_ok:
                state, outcome = REJECTED, "unsupported_version"
                detail = (f"AutoPay enrollment changes need Caselle Connect API {V_2021_05} "
                          f"(this profile uses {self.profile.get('caselle_api_version')}); retry after the upgrade")
            else:
                marks[mark_key] = p["changed_at"]
            rows.append(PlanRow(line, key, CHANGE, action, p["account"], None, "", "", state, outcome, detail))
            entries.append(NewEntry(key, CHANGE, p, line=line, state=state, outcome=outcome, detail=detail))
        return rows, entries, [], marks

    # ================================================================== posting
    def pending_count(self, kinds: Sequence[str] = POSTED_KINDS, keys: Sequence[str] | None = None) -> int:
        c = self.journal.counts(kinds=kinds) if keys is None else Counter(e.state for e in
                                                                           self.journal.entries(kinds=kinds, keys=keys))
        return int(c.get(PENDING, 0) + c.get(IN_FLIGHT, 0))

    def post_pending(self, progress: ProgressFn | None = None, cancel: CancelFlag | None = None, *,
                     operator: str, kinds: Sequence[str] = POSTED_KINDS,
                     keys: Sequence[str] | None = None) -> RunResult:
        """Post every due entry (of ``kinds``; of ``keys`` when given): the protected action
        ``post``, so ``operator``'s role must allow it (``NotPermitted`` before anything runs)."""
        require(self.profile, operator, "post", self.audit)
        return self.run_entries(progress, cancel, operator=operator, kinds=kinds, keys=keys)

    def run_entries(self, progress: ProgressFn | None = None, cancel: CancelFlag | None = None, *,
                    operator: str = "", kinds: Sequence[str] = POSTED_KINDS,
                    keys: Sequence[str] | None = None) -> RunResult:
        """The engine: claim and execute every due entry (of ``kinds``; of ``keys`` when given).
        Resumable; the workers and their pace under stalls: :mod:`console.services.posting_run`.
        Callers have checked the operator's action (a counter payment, a void, a balance update,
        ``post_pending``) before journaling what this runs."""
        if self.preflight is not None:
            self.preflight()
        result = RunResult()
        self.journal.recover_dead_leases()
        total = self.pending_count(kinds, keys)
        started = time.monotonic()
        with self._batch_lock:
            self._batch_for = {}

        def report(message: str = "") -> None:
            if progress is not None:
                progress(result.processed, total, message)

        def count(entry: Entry, outcome: str) -> None:
            if outcome != "retry":
                result.outcomes[outcome] += 1
                result.processed += 1

        loop = ClaimLoop(self, owner=lease_owner_id(), kinds=kinds, keys=keys, operator=operator, cancel=cancel,
                         total=total, on_outcome=count, report=report, stall_s=self.stall_s)
        report("posting…")
        loop.run()
        result.spare_workers = loop.spares_started
        result.cancelled = bool(cancel is not None and cancel.is_set())
        result.aborted = loop.abort
        if not result.aborted and any(k in POSTED_KINDS for k in kinds):
            try:
                result.batches_closed = self.auto_close_batches(operator=operator)
            except (RemoteError, _Abort) as exc:
                result.errors.append(f"closing batches: {exc}")
        result.remaining = self.pending_count(kinds, keys)
        for e in (self.journal.entries(kinds=kinds, keys=keys) if keys is not None else []):
            result.states[e.state] += 1
        if self.audit is not None:
            self.audit.record(operator or "system", "posting.run", "", processed=result.processed,
                              outcomes=dict(result.outcomes), remaining=result.remaining,
                              cancelled=result.cancelled, aborted=result.aborted,
                              batches_closed=result.batches_closed, seconds=round(time.monotonic() - started, 2))
        report("finished" if result.complete else "stopped")
        return result

    # ---- other kinds of effect
    def register_handler(self, kind: str, handler: Callable[[Entry, str, str], str]) -> None:
        """Let :meth:`post_pending` run entries of another ``kind`` (account sync's balance updates
        to Invoice Cloud) with the same claim loop: leases, reconciliation before any re-send,
        backoff, abort on auth errors, progress and cancel. ``handler(entry, owner, operator)``
        does the effect of one claimed entry (``entry.needs_reconcile``: ask the remote first),
        records it with :meth:`finish_entry` (or :meth:`retry_entry`) and returns the outcome. It
        raises console.errors exceptions like the built-in handlers: NetworkError or a retryable
        RemoteError put the entry back to pending (reconciled on its next claim), AuthError stops
        the run, another RemoteError rejects the entry with its code."""
        self._handlers[kind] = handler

    def finish_entry(self, entry: Entry, owner: str, state: str, outcome: str, *, remote_ref: str = "",
                     detail: str = "", evidence: dict | None = None, payload_update: dict | None = None) -> str:
        """Record a registered handler's result (buffered with the chunk, like the built-in ones)."""
        return self._finish(entry, owner, state, outcome, remote_ref=remote_ref, detail=detail, evidence=evidence,
                            payload_update=payload_update)

    def retry_entry(self, entry: Entry, owner: str, why: str) -> str:
        """Back to pending with a backoff; its next claim reconciles before anything is re-sent."""
        return self._retry(entry, owner, why)

    # ---- one entry
    def _execute(self, entry: Entry, owner: str, operator: str) -> str:
        """Run one claimed entry to a terminal state or back to pending. Returns the outcome,
        or "retry" when it went back to pending."""
        try:
            if entry.attempts > self.retry.max_attempts:
                return self._give_up(entry, owner)
            handler = self._handlers.get(entry.kind) or {
                RECEIPT: self._do_receipt, VOID: self._do_void, ACH_REJECT: self._do_reject, CHANGE: self._do_change,
                MANUAL_VOID: self._do_manual_void}.get(entry.kind)
            if handler is None:
                return self._finish(entry, owner, REJECTED, "unknown_kind", detail=f"no handler for {entry.kind}")
            return handler(entry, owner, operator)
        except AuthError as exc:
            self._record(("release", entry.key, owner, 0.0, f"auth: {exc}"))
            raise _Abort(f"{self.remote_name} refused the credentials: {exc}") from exc
        except UnsupportedVersionError as exc:
            return self._finish(entry, owner, REJECTED, "unsupported_version", detail=str(exc))
        except NetworkError as exc:
            return self._retry(entry, owner, f"no answer: {exc}")
        except RemoteError as exc:
            if exc.retryable or _outcome_unknown(exc):
                return self._retry(entry, owner, f"remote error: {exc}")
            return self._finish(entry, owner, REJECTED, _code(exc) or "remote_refused", detail=str(exc))

    def _give_up(self, entry: Entry, owner: str) -> str:
        """Too many attempts without a definite answer: one last look, then a person decides."""
        evidence: dict[str, Any] = {"attempts": entry.attempts, "last": entry.detail,
                                    "why": "too many attempts without a definite answer"}
        if entry.kind == RECEIPT:
            try:
                found = self._lookup(entry.key)
            except RemoteError as exc:
                evidence["last_lookup"] = f"failed: {exc}"
            else:
                if found is not None:
                    return self._found_receipt(entry, owner, found, "already_there")
                evidence["last_lookup"] = "Caselle has no receipt with this reference"
        return self._finish(entry, owner, NEEDS_REVIEW, "gave_up", evidence=evidence)

    def _retry(self, entry: Entry, owner: str, why: str) -> str:
        self._record(("release", entry.key, owner, self.retry.delay(entry.attempts), why))
        return "retry"

    def _finish(self, entry: Entry, owner: str, state: str, outcome: str, *, remote_ref: str = "", detail: str = "",
                evidence: dict | None = None, payload_update: dict | None = None) -> str:
        if evidence is not None:
            detail = json.dumps(evidence, sort_keys=True, default=str)
        self._record(("finish", entry.key, owner, state, outcome, remote_ref, detail, payload_update))
        return outcome

    def _record(self, op: tuple) -> None:
        """Record an outcome: buffered while a chunk runs (flushed in one transaction), else now."""
        ops = getattr(self._local, "ops", None)
        if ops is not None:
            ops.append(op)
            return
        self._apply([op])

    def _flush(self, owner: str, operator: str = "") -> None:
        ops = getattr(self._local, "ops", None)
        if ops:
            self._local.ops = []
            self._apply(ops)
            self._audit_outcomes(ops, operator)

    def _audit_outcomes(self, ops: list[tuple], operator: str) -> None:
        """Every outcome recorded is also audited: one chained row per chunk, listing
        [key, state, outcome, remote ref] of each entry (the journal keeps the details)."""
        if self.audit is None:
            return
        finished = [[op[1], op[3], op[4], op[5]] for op in ops if op[0] == "finish"]
        if finished:
            self.audit.record(operator or "system", "posting.entries", f"{len(finished)} entries",
                              entries=finished)

    def _apply(self, ops: list[tuple]) -> None:
        for op, ok in zip(ops, self.journal.record_many(ops), strict=True):
            if not ok:
                log.warning("lost the lease on %s before recording it; its new owner reconciles it", op[1])

    def _lookup(self, payment_id: str) -> Receipt | None:
        return self.caselle.find_receipt(payment_id)

    def _check_same(self, entry: Entry, r: Receipt) -> dict | None:
        p = entry.payload
        diffs = {}
        if p.get("account") and r.account_number != p["account"]:
            diffs["account"] = {"journal": p["account"], "caselle": r.account_number}
        if p.get("amount") and _money(r.amount) != _money(p["amount"]):
            diffs["amount"] = {"journal": p["amount"], "caselle": str(r.amount)}
        return diffs or None

    def _do_receipt(self, entry: Entry, owner: str, operator: str) -> str:
        p = entry.payload
        if entry.needs_reconcile:
            found = self._lookup(entry.key)
            if found is not None:
                return self._found_receipt(entry, owner, found, "already_there")
        pay_date = _date(p["payment_date"]) or self._today()
        batch_date = self.ensure_batch(pay_date)
        try:
            r = self.caselle.create_receipt(reference=entry.key, account_number=p["account"],
                                            amount=_money(p["amount"]), tender=p.get("tender", ""),
                                            receipt_date=pay_date, batch_date=batch_date,
                                            payer_name=p.get("payer_name", ""), memo=f"IC {p.get('confirmation', '')}")
        except RemoteError as exc:
            if _code(exc) in ("BATCH_CLOSED", "BATCH_NOT_OPEN") and not isinstance(exc, NetworkError):
                # someone closed (or never kept) the batch we remembered: forget it and go again
                self._forget_batch(pay_date, batch_date)
                return self._retry(entry, owner, f"batch changed: {exc}")
            raise
        # Caselle's idempotency caught a second send of this reference: the second safety net
        # worked, but it should not have been needed — counted apart so tests and runs show it
        outcome = "existing_on_send" if getattr(r, "existing", False) else "posted"
        return self._found_receipt(entry, owner, _unwrap(r), outcome)

    def _found_receipt(self, entry: Entry, owner: str, r: Receipt, outcome: str) -> str:
        diffs = self._check_same(entry, r)
        if diffs:
            return self._finish(entry, owner, NEEDS_REVIEW, "mismatch", remote_ref=r.receipt_number,
                                evidence={"why": "Caselle holds a receipt under this reference that differs from "
                                                 "the payment", "receipt": r.receipt_number, "differences": diffs})
        return self._finish(entry, owner, DONE, outcome, remote_ref=r.receipt_number,
                            payload_update={"batch_id": r.batch_id, "receipt_number": r.receipt_number})

    def _original(self, payment_id: str) -> tuple[Entry | None, Receipt | None]:
        """The journal entry and the Caselle receipt of a payment (either may be None)."""
        orig = self.journal.get(payment_id)
        return orig, self._lookup(payment_id)

    def _do_void(self, entry: Entry, owner: str, operator: str) -> str:
        pid = entry.payload["payment_id"]
        if entry.payload.get("cloudstore"):
            return self._void_lockbox_item(entry, owner, pid)
        orig, r = self._original(pid)
        if r is None:
            if orig is not None and orig.kind == RECEIPT and orig.state in (PENDING, IN_FLIGHT):
                # the receipt is still on its way: void it after it is posted
                self._record(("release", entry.key, owner, max(1.0, self.retry.base_s),
                              "waiting for the receipt to be posted"))
                return "retry"
            return self._finish(entry, owner, REPORTED, "void_not_posted",
                                detail=f"payment {pid} was never posted to Caselle: nothing to void")
        status = receipt_status(r)
        if status == "VOIDED":
            return self._finish(entry, owner, DONE, "already_voided", remote_ref=r.receipt_number)
        if status == "REVERSED":
            return self._finish(entry, owner, REPORTED, "already_reversed", remote_ref=r.receipt_number,
                                detail=f"receipt {r.receipt_number} was reversed by an ACH reject")
        diffs = self._check_same(entry, r)
        if diffs:
            return self._finish(entry, owner, NEEDS_REVIEW, "mismatch", remote_ref=r.receipt_number,
                                evidence={"why": "the void does not match the receipt", "differences": diffs})
        v = _unwrap(self.caselle.void_receipt(r.receipt_number,
                                              reason=entry.payload.get("reason") or "Voided in Invoice Cloud"))
        return self._finish(entry, owner, DONE, "voided", remote_ref=v.receipt_number,
                            payload_update={"batch_id": r.batch_id, "receipt_number": r.receipt_number})

    def _void_lockbox_item(self, entry: Entry, owner: str, pid: str) -> str:
        """A voided CloudStore payment: take it out of the lockbox queue if it is still there;
        once it went out in a lockbox file a person reverses it in Caselle AR."""
        key = f"lockbox:{pid}"
        item = self.journal.get(key)
        if item is None or item.state in (REJECTED, REPORTED):
            return self._finish(entry, owner, REPORTED, "void_not_posted",
                                detail=f"CloudStore payment {pid} was never queued for the lockbox: nothing to void")
        if item.state == PENDING:
            claim_owner = f"{owner}:void"
            if self.journal.claim(claim_owner, [LOCKBOX_ITEM], keys=[key], lease_s=60):
                self.journal.finish(key, claim_owner, REPORTED, outcome="voided",
                                    detail="voided in Invoice Cloud before it went into a lockbox file")
                return self._finish(entry, owner, DONE, "removed_from_lockbox", remote_ref=key)
            item = self.journal.get(key)
        if item is not None and item.state in (IN_FLIGHT, PENDING):
            self._record(("release", entry.key, owner, max(1.0, self.retry.base_s),
                          "the lockbox file with this item is being built"))
            return "retry"
        return self._finish(entry, owner, NEEDS_REVIEW, "void_after_lockbox", remote_ref=item.remote_ref if item else "",
                            evidence={"why": "the payment was voided in Invoice Cloud after it went out in a lockbox "
                                             "file: reverse it in Caselle accounts receivable by hand",
                                      "lockbox_file": item.remote_ref if item else "", "payment_id": pid,
                                      "amount": entry.payload.get("amount")})

    def _do_reject(self, entry: Entry, owner: str, operator: str) -> str:
        p = entry.payload
        self.caselle.require("ach_reject")
        orig, r = self._original(p["payment_id"])
        if r is None:
            if orig is not None and orig.kind == RECEIPT and orig.state in (PENDING, IN_FLIGHT):
                self._record(("release", entry.key, owner, max(1.0, self.retry.base_s),
                              "waiting for the receipt to be posted"))
                return "retry"
            return self._finish(entry, owner, REPORTED, "reject_not_posted",
                                detail=f"payment {p['payment_id']} was never posted to Caselle: nothing to reverse")
        status = receipt_status(r)
        if status == "REVERSED":
            return self._finish(entry, owner, DONE, "already_reversed", remote_ref=r.receipt_number)
        if status == "VOIDED":
            return self._finish(entry, owner, REPORTED, "already_voided", remote_ref=r.receipt_number,
                                detail=f"receipt {r.receipt_number} is void: nothing to reverse")
        if _money(r.amount) != _money(p["amount"]):
            return self._finish(entry, owner, REJECTED, "amount_mismatch", remote_ref=r.receipt_number,
                                detail=f"receipt {r.receipt_number} is {r.amount}, the reject says {p['amount']}")
        fee = _money(p["nsf_fee"]) if p.get("nsf_fee") else None
        out = _unwrap(self.caselle.ach_reject(p["payment_id"], return_code=p["return_code"],
                                              reason=f"{p['return_code']} {p.get('reason', '')}".strip(),
                                              nsf_fee=fee))
        return self._finish(entry, owner, DONE, "reversed", remote_ref=out.receipt_number,
                            payload_update={"batch_id": r.batch_id, "receipt_number": r.receipt_number})

    def _do_change(self, entry: Entry, owner: str, operator: str) -> str:
        p = entry.payload
        mark = self.journal.get_watermark(f"change:{p['account']}:{p['field']}")
        if mark is not None and mark > p["changed_at"]:
            return self._finish(entry, owner, REPORTED, "superseded", detail=f"a later change was imported ({mark})")
        fld, new = p["field"], p["new_value"]
        if fld == "AUTOPAY":
            self.caselle.require("set_direct_pay_status")
        detail = self.caselle.customer_detail(p["account"])
        if detail is None:
            return self._finish(entry, owner, REJECTED, "no_account", detail=f"Caselle has no account {p['account']}")
        if _holds(detail, fld, new):
            return self._finish(entry, owner, REPORTED, "no_op", detail=f"{fld} already {new} in Caselle")
        if fld == "AUTOPAY":
            status = AUTOPAY_STATUS.get(new.upper())
            if status is None:
                return self._finish(entry, owner, REJECTED, "bad_value", detail=f"AUTOPAY {new!r}")
            self.caselle.set_direct_pay_status(p["account"], status)
        elif fld == "PAPERLESS":
            self.caselle.update_customer(p["account"], paperless=new.upper() == "Y")
        elif fld == "PHONE":
            self.caselle.update_customer(p["account"], phone=new)
        elif fld == "EMAIL":
            self.caselle.update_customer(p["account"], email=new)
        else:
            return self._finish(entry, owner, REJECTED, "bad_field", detail=f"unknown field {fld}")
        return self._finish(entry, owner, DONE, "changed", remote_ref=p["account"])

    def _do_manual_void(self, entry: Entry, owner: str, operator: str) -> str:
        p = entry.payload
        r = self.caselle.receipt_by_number(p["receipt_number"])
        if r is None:
            return self._finish(entry, owner, REJECTED, "no_receipt", detail=f"Caselle has no receipt {p['receipt_number']}")
        status = receipt_status(r)
        if status == "VOIDED":
            return self._finish(entry, owner, DONE, "already_voided", remote_ref=r.receipt_number)
        if status == "REVERSED":
            return self._finish(entry, owner, REJECTED, "already_reversed", remote_ref=r.receipt_number,
                                detail=f"receipt {r.receipt_number} was reversed by an ACH reject")
        reason = f"{VOID_REASONS.get(p['reason_code'], p['reason_code'])}: {p['comment']}"
        v = _unwrap(self.caselle.void_receipt(r.receipt_number, reason=reason))
        return self._finish(entry, owner, DONE, "voided", remote_ref=v.receipt_number,
                            payload_update={"batch_id": r.batch_id})

    # ================================================================== manual voids
    def void_permission(self, receipt: Receipt, operator: str) -> str:
        """"" when ``operator`` may void ``receipt`` alone, else why a supervisor is needed."""
        op = self.profile.operator(operator)
        if not self.profile.operators:
            # fail closed: with no operators there is no supervisor to answer for a void
            return "this profile has no operators yet: a supervisor must add them in Settings first"
        if op is None:
            return f"{operator or 'nobody'} is not signed in as an operator of this profile"
        if can(self.profile, op, "void_any"):
            return ""
        created_by = str((receipt.extra or {}).get("createdBy") or "")
        same_day = receipt.receipt_date == self._today()
        if not can(self.profile, op, "void_own_same_day"):
            return refusal(self.profile, op, "void_own_same_day")
        if self.profile.get("biller_cashier_voids_own_same_day") and created_by == operator and same_day:
            return ""
        if created_by != operator:
            return f"receipt {receipt.receipt_number} was taken by {created_by or 'someone else'}"
        if not same_day:
            return f"receipt {receipt.receipt_number} is from {receipt.receipt_date:%m/%d/%Y}, not today"
        return "this profile lets only supervisors void receipts"

    def void_receipt_manually(self, receipt: Receipt | str, reason_code: str, comment: str, operator: str,
                              supervisor_pin: str | None = None, *, supervisor_id: str | None = None,
                              operators=None) -> Entry:
        """Void a receipt by hand: a reason from :data:`VOID_REASONS` and a comment. Needs the
        supervisor role, except a cashier's own same-day receipt when the profile allows it;
        otherwise a supervisor approves with their PIN. Journaled and audited; exactly once."""
        if reason_code not in VOID_REASONS:
            raise ValidationError("Choose a void reason", [Problem(None, "reason", "void_reason",
                                                                  f"{reason_code!r} is not one of the void reasons")])
        comment = (comment or "").strip()
        if len(comment) < 3:
            raise ValidationError("A void needs a comment", [Problem(None, "comment", "void_comment",
                                                                     "write why the receipt is voided")])
        if isinstance(receipt, str):
            found = self.caselle.receipt_by_number(receipt.strip())
            if found is None:
                raise ValidationError(f"Caselle has no receipt {receipt}")
            receipt = found
        why = self.void_permission(receipt, operator)
        approver = ""
        if why:
            if not supervisor_pin:
                if self.audit is not None:
                    self.audit.record(operator, "receipt.void_refused", receipt.receipt_number, why=why)
                raise NotPermitted(f"A supervisor must approve this void: {why}",
                                   hint="a supervisor enters their PIN")
            approver = self._approve(supervisor_pin, supervisor_id, operator, receipt, operators)
        key = f"manual_void:{receipt.receipt_number}"
        payload = {"receipt_number": receipt.receipt_number, "reference": receipt.reference,
                   "account": receipt.account_number, "amount": str(receipt.amount), "tender": receipt.tender,
                   "reason_code": reason_code, "comment": comment, "approved_by": approver}
        self.journal.add_entry(NewEntry(key, MANUAL_VOID, payload), operator=operator)
        self.run_entries(operator=operator, kinds=[MANUAL_VOID], keys=[key])
        entry = self.journal.get(key)
        if self.audit is not None:
            self.audit.record(operator, "receipt.void", receipt.receipt_number, reference=receipt.reference,
                              account=receipt.account_number, amount=str(receipt.amount), reason=reason_code,
                              comment=comment, approved_by=approver or None, state=entry.state if entry else "")
        return entry  # type: ignore[return-value]

    def _approve(self, pin: str, supervisor_id: str | None, operator: str, receipt: Receipt, operators) -> str:
        """The approving supervisor's ID, checked by the one PIN check (persistent lockout).
        Without an ID, the profile's only supervisor is meant; with several, the ID is needed."""
        from console.services.operators import OperatorService, SignInError

        svc = operators or OperatorService(self.profile, self.audit, failures=self.journal)
        sid = (supervisor_id or "").strip()
        if not sid:
            sups = [o.operator_id for o in self.profile.operators if o.role == "supervisor"]
            if len(sups) != 1:
                raise NotPermitted("Enter the approving supervisor's ID and PIN",
                                   hint="this profile has several supervisors")
            sid = sups[0]
        try:
            svc.approve(sid, pin, for_action=f"receipt.void {receipt.receipt_number}", by=operator,
                        action="void_any")
        except SignInError as exc:
            if self.audit is not None:
                self.audit.record(operator, "receipt.void_refused", receipt.receipt_number,
                                  why="wrong supervisor PIN")
            locked = exc.message.startswith("Too many")
            raise SignInError(exc.message if locked else "The supervisor PIN is wrong", hint=exc.hint) from exc
        return sid

    # ================================================================== batches
    def ensure_batch(self, pay_date: dt.date) -> dt.date:
        """The batch date a receipt for ``pay_date`` goes to: that date's batch (opened when
        needed) or, when it is closed, today's. Remembered for the run (a batch closed behind
        our back shows up as BATCH_CLOSED on create_receipt, which forgets it)."""
        with self._day_lock(pay_date):  # a stalled open of one date holds only that date's receipts
            with self._batch_lock:
                cached = self._batch_for.get(pay_date)
            if cached is not None:
                return cached
            key = f"batch:open:{pay_date.isoformat()}"
            if self.journal.get_watermark(key) is not None:
                result = pay_date
            else:
                batch_id, is_open = self._open_batch_journaled(pay_date)
                if is_open:
                    self.journal.set_watermark(key, batch_id)
                    result = pay_date
                elif pay_date == self._today():
                    err = RemoteError(f"Caselle's batch for {pay_date.isoformat()} is closed", system="Caselle")
                    err.code = "BATCH_CLOSED"  # type: ignore[attr-defined]
                    raise err
                else:
                    log.info("batch for %s is closed; posting into today's batch", pay_date)
                    with self._day_lock(self._today()):  # always after another date's lock: no cycle
                        result = self.ensure_batch_locked_today()
            with self._batch_lock:
                self._batch_for[pay_date] = result
            return result

    def _day_lock(self, day: dt.date) -> threading.Lock:
        with self._batch_lock:
            return self._day_locks.setdefault(day, threading.Lock())

    def _forget_batch(self, pay_date: dt.date, batch_date: dt.date) -> None:
        with self._batch_lock:
            self._batch_for.pop(pay_date, None)
            self._batch_for.pop(batch_date, None)
        self.journal.delete_watermark(f"batch:open:{batch_date.isoformat()}")

    def ensure_batch_locked_today(self) -> dt.date:
        today = self._today()
        key = f"batch:open:{today.isoformat()}"
        if self.journal.get_watermark(key) is None:
            batch_id, is_open = self._open_batch_journaled(today)
            if not is_open:
                err = RemoteError(f"Caselle's batch for today ({today.isoformat()}) is closed", system="Caselle")
                err.code = "BATCH_CLOSED"  # type: ignore[attr-defined]
                raise err
            self.journal.set_watermark(key, batch_id)
        return today

    def _batch_state(self, day: dt.date) -> tuple[str, bool] | None:
        """Caselle's batch for ``day`` as (batch ID, open?), None when there is none (a read)."""
        b = self.caselle.batch_totals(day)
        if b is None:
            return None
        status = getattr(b, "status", None) or (b.get("status") if isinstance(b, dict) else "")
        return _batch_id(b, day), str(status).upper() == "OPEN"

    def _open_batch_journaled(self, day: dt.date) -> tuple[str, bool]:
        """Open Caselle's batch for ``day`` as a journaled effect. Returns (batch ID, open?);
        (…, False) when that date's batch is closed (Caselle refuses to open it)."""

        def send() -> tuple[str, bool]:
            try:
                return _batch_id(self.caselle.open_batch(day), day), True
            except RemoteError as exc:
                if _code(exc) == "BATCH_CLOSED" and not isinstance(exc, NetworkError) and not _outcome_unknown(exc):
                    raise _BatchSettled(("", False)) from exc
                raise

        state = self._batch_effect(f"batch-open:{day.isoformat()}", BATCH_OPEN, {"batch_date": day.isoformat()},
                                   day, send, settled=lambda s: s is not None)
        if state is None:  # done before, yet Caselle has no batch for the date and none could be opened
            raise RemoteError(f"Caselle has no batch for {day.isoformat()}", system="Caselle", retryable=True)
        return state

    def _batch_effect(self, base_key: str, kind: str, payload: dict, day: dt.date,
                      send: Callable[[], tuple[str, bool]],
                      settled: Callable[[tuple[str, bool] | None], bool]) -> tuple[str, bool] | None:
        """One batch change, exactly once: journaled before it is sent; an entry that may have
        reached Caselle (a dropped answer, a crash) is reconciled by asking Caselle for the date's
        batch (``settled`` says whether that state already is the effect) before any re-send.
        Returns the batch state after the effect ((batch ID, open?) or None: no batch)."""
        ours = [e for e in self.journal.entries(kinds=[kind], key_prefixes=[base_key])
                if e.key == base_key or e.key.startswith(base_key + "#")]
        key = ours[-1].key if ours else base_key
        if ours and ours[-1].state not in (PENDING, IN_FLIGHT):
            state = self._batch_state(day)
            if settled(state):
                return state
            key = f"{base_key}#{len(ours) + 1}"  # Caselle changed since (a batch lost): the effect again
        self.journal.add_entry(NewEntry(key, kind, payload), operator="system")
        owner = lease_owner_id()
        deadline = time.monotonic() + max(5.0, float(self.profile.get("caselle_timeout_s") or 20) * 3)
        while not (claimed := self.journal.claim(owner, [kind], keys=[key], lease_s=self.lease_s)):
            # another console is doing it (or has just done it): ask Caselle, never send
            e = self.journal.get(key)
            state = self._batch_state(day)
            if (e is not None and e.state not in (PENDING, IN_FLIGHT)) or settled(state):
                return state
            if time.monotonic() > deadline:
                raise NetworkError(f"another console is still working on {key}; try again shortly",
                                   system="Caselle")
            self.journal.recover_dead_leases()
            time.sleep(0.1)
        entry = claimed[0]
        try:
            if entry.needs_reconcile:  # an earlier attempt may have reached Caselle: ask first
                state = self._batch_state(day)
                if settled(state):
                    self.journal.finish(key, owner, DONE, outcome="already_there",
                                        remote_ref=state[0] if state else "")
                    return state
            state = send()
        except _BatchSettled as settled_exc:
            self.journal.finish(key, owner, REPORTED, outcome="batch_closed", detail=str(settled_exc.__cause__))
            return settled_exc.state
        except RemoteError as exc:
            if isinstance(exc, (NetworkError, AuthError)) or exc.retryable or _outcome_unknown(exc):
                # it may have reached Caselle: the next attempt asks before sending again
                self.journal.release(key, owner, delay_s=0.0, detail=f"outcome unknown: {exc}")
            else:  # a definite refusal: nothing changed, the next attempt sends afresh
                self.journal.record_many([("unclaim", key, owner)])
            raise
        except BaseException as exc:
            self.journal.release(key, owner, delay_s=0.0, detail=f"interrupted: {type(exc).__name__}")
            raise
        self.journal.finish(key, owner, DONE, outcome="opened" if kind == BATCH_OPEN else "closed",
                            remote_ref=state[0])
        return state

    def auto_close_batches(self, *, operator: str = "") -> list[str]:
        """Close (per profile) the batches this console opened for dates before today once no
        receipt of that date is pending. Returns the batch IDs closed."""
        if not self.profile.get("biller_batch_auto_close"):
            return []
        today = self._today()
        open_marks = self.journal.watermarks("batch:open:")
        if not open_marks:
            return []
        unfinished = {str(e.payload.get("payment_date", ""))[:10]
                      for e in self.journal.entries(kinds=[RECEIPT], states=[PENDING, IN_FLIGHT])}
        closed = []
        for key, batch_id in sorted(open_marks.items()):
            day = key.rsplit(":", 1)[1]
            if day >= today.isoformat() or day in unfinished:
                continue
            batch_day = dt.date.fromisoformat(day)

            def send(batch_id: str = batch_id, batch_day: dt.date = batch_day) -> tuple[str, bool]:
                b = self.caselle.close_batch(batch_id)
                return _batch_id(b, batch_day) if b is not None else batch_id, False

            for attempt in range(1, CLOSE_ATTEMPTS + 1):
                try:
                    self._batch_effect(f"batch-close:{batch_id}", BATCH_CLOSE,
                                       {"batch_id": batch_id, "batch_date": day},
                                       batch_day, send, settled=lambda s: s is None or not s[1])
                    break
                except RemoteError as exc:
                    unknown = isinstance(exc, NetworkError) or exc.retryable or _outcome_unknown(exc)
                    if not unknown or isinstance(exc, AuthError) or attempt == CLOSE_ATTEMPTS:
                        raise
                    # the entry went back to pending; the next attempt asks Caselle before closing again
                    time.sleep(self.retry.delay(attempt))
            self.journal.delete_watermark(key)
            closed.append(batch_id)
            if self.audit is not None:
                self.audit.record(operator or "system", "batch.close", batch_id, date=day, auto=True)
        return closed

    # ================================================================== operator actions
    def retry_entries(self, keys: Sequence[str], operator: str, *, action: str = "post") -> int:
        """Put rejected / needs-review entries back to pending (they are reconciled first);
        ``action`` is what retrying them does (``post``; ``account_sync`` for balance updates)."""
        require(self.profile, operator, action, self.audit)
        n = self.journal.reopen(keys, operator=operator)
        if self.audit is not None and n:
            self.audit.record(operator, "posting.retry", "", keys=list(keys)[:50], count=n)
        return n

    def resolve_review(self, key: str, operator: str, *, resolution: str, note: str = "") -> None:
        """A person decided about a needs-review entry: "done" (it is right in Caselle) or
        "rejected" (it must not be posted)."""
        require(self.profile, operator, "resolve_review", self.audit)
        entry = self.journal.get(key)
        if entry is None or entry.state != NEEDS_REVIEW:
            raise ValidationError(f"{key} is not waiting for review")
        if resolution not in (DONE, REJECTED):
            raise ValidationError(f"resolution must be done or rejected, not {resolution!r}")
        owner = lease_owner_id()
        self.journal.reopen([key], operator=operator)
        claimed = self.journal.claim(owner, [entry.kind], keys=[key], lease_s=60)
        if not claimed:
            raise ValidationError(f"{key} is being worked on by another console")
        self.journal.finish(key, owner, resolution, outcome="resolved_by_review", remote_ref=entry.remote_ref,
                            detail=f"{operator}: {note}".strip())
        if self.audit is not None:
            self.audit.record(operator, "posting.review_resolved", key, resolution=resolution, note=note,
                              evidence=entry.evidence)


# --------------------------------------------------------------------------- small helpers
def _ticking(records: Sequence, progress: ProgressFn | None, message: str, every: int = 5000):
    """Iterate ``records`` once, reporting progress every ``every`` rows."""
    if progress is None:
        yield from records
        return
    total = len(records)
    for i, record in enumerate(records):
        if i % every == 0:
            progress(i, total, message)
        yield record
    progress(total, total, message)


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic GC while building many small objects (planning 100,000 rows): the
    collector would otherwise rescan every live row again and again. Nothing cyclic is made."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _unwrap(result: Any) -> Receipt:
    """The Receipt inside a client result (CreateReceiptResult, VoidResult, AchRejectResult)."""
    return getattr(result, "receipt", result)


class _BatchSettled(Exception):
    """Caselle definitely refused a batch change that is moot (opening a closed batch)."""

    def __init__(self, state: tuple[str, bool]):
        super().__init__(str(state))
        self.state = state


def _outcome_unknown(exc: Exception) -> bool:
    return bool(getattr(exc, "outcome_unknown", False))


def _code(exc: Exception) -> str:
    return str(getattr(exc, "code", "") or "")


def _batch_id(batch: Any, day: dt.date) -> str:
    if isinstance(batch, str):
        return batch
    for attr in ("batch_id", "batchId", "id"):
        v = getattr(batch, attr, None) if not isinstance(batch, dict) else batch.get(attr)
        if v:
            return str(v)
    return f"CR{day:%Y%m%d}"


def _holds(detail: CustomerDetail, fld: str, new: str) -> bool:
    if fld == "AUTOPAY":
        return bool(detail.autopay) == (new.upper() == "ENROLLED")
    if fld == "PAPERLESS":
        return bool(detail.paperless) == (new.upper() == "Y")
    if fld == "PHONE":
        return "".join(c for c in (detail.phone or "") if c.isdigit()) == "".join(c for c in new if c.isdigit())
    if fld == "EMAIL":
        return (detail.email or "").strip().casefold() == new.strip().casefold()
    return False


def raise_if_cancelled(cancel: CancelFlag | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def caselle_from_services(services) -> CasellePort:
    """The Caselle client for posting: the composition root's when it offers one, else one built
    from the profile's endpoints and the keyring (the sandbox hands out demo credentials)."""
    if hasattr(type(services), "caselle"):
        return services.caselle
    from console.adapters.caselle import CaselleClient, StoredToken

    ep = services.endpoints
    timeout = float(services.overrides.get("caselle_timeout", services.profile.get("caselle_timeout_s") or 20))
    token = StoredToken(services.secrets, token_url=ep.get("caselle_token_url"),
                        client_id=ep.get("caselle_client_id") or services.profile.get("caselle_client_id"),
                        client_secret=ep.get("caselle_client_secret"))
    return CaselleClient(ep["caselle_url"], token, timeout=timeout, operator=services.operator_id)


def entry_row(e: Entry) -> PlanRow:
    """A journal entry as a preview / results row (what it did or will do)."""
    p = e.payload
    amount = None
    if p.get("amount"):
        try:
            amount = Decimal(str(p["amount"]))
        except ArithmeticError:
            amount = None
    action = {RECEIPT: "post receipt", VOID: "void receipt", LOCKBOX_ITEM: "queue for lockbox",
              MANUAL_VOID: "void receipt (manual)", BATCH_OPEN: "open batch", BATCH_CLOSE: "close batch"}.get(e.kind, "")
    if e.kind == VOID and p.get("cloudstore"):
        action = "take out of the lockbox queue"
    if e.kind == ACH_REJECT:
        action = f"reverse ({p.get('return_code', '')})" + (f" + NSF fee {p['nsf_fee']}" if p.get("nsf_fee") else "")
    elif e.kind == CHANGE:
        action = f"set {p.get('field', '')} = {p.get('new_value', '')}"
    batch = str(p.get("batch_id") or (str(p.get("payment_date", ""))[:10] if e.kind == RECEIPT else ""))
    tender = str(p.get("tender") or ("ACH" if e.kind == ACH_REJECT else ""))
    return PlanRow(e.line, e.key, e.kind, action, str(p.get("account", "")), amount, tender, batch, e.state,
                   e.outcome, e.detail)


def journal_rows(journal: Journal, *, fingerprint: str | None = None, kinds: Sequence[str] | None = None,
                 states: Sequence[str] | None = None, newest: int | None = None) -> list[PlanRow]:
    return [entry_row(e) for e in journal.entries(kinds=kinds, states=states, fingerprint=fingerprint,
                                                  newest=newest)]
