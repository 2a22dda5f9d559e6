"""Conveyance sync: when a property changes hands, the old owner's Invoice Cloud enrollment ends, exactly once.

Caselle final-bills the old owner's account and opens the new owner's at the same location
(``100102-01`` → ``100102-02``). Invoice Cloud must then drop the old account's registration,
AutoPay and paperless and mark its bill final — an AutoPay that charges the previous owner's
bank for the new owner's bill is what offices dread. One sync:

1. **Detect** — Caselle's account events after the watermark (``conveyance:sequence`` in the
   journal), oldest first: a ``FINAL_BILLED`` account (a closed account with a final bill) or
   an ``OPENED`` account at a location whose previous account is named. Each old account is one
   conveyance, journaled (kind ``ic_conveyance``, key ``conveyance:<old account>``) in the same
   transaction as the watermark move. A conveyance whose old account has a journaled but
   unposted payment (a receipt entry still pending or in flight) is journaled ``needs_review``
   (``payment_pending``): it waits for a person; the rest wait to be sent.
2. **Send** — each pending conveyance goes to Invoice Cloud (``POST /api/v1/conveyances``, the
   journal key as ``Idempotency-Key``) through the posting service's claim loop. An entry whose
   earlier attempt may have reached Invoice Cloud is looked up first
   (``GET /api/v1/conveyances/<key>``) and sent again only when Invoice Cloud does not have it.

Outcomes: ``sent``, ``already_there`` (found on reconciliation or a replay), ``not_enrolled``
(Invoice Cloud has no registration for the old account: nothing to release), ``mismatch``
(Invoice Cloud holds other content under the key: needs review). ``payment_pending`` is a
review state, not an outcome of the run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from console.adapters.journal import (
    DONE,
    IN_FLIGHT,
    NEEDS_REVIEW,
    PENDING,
    DuplicateFileError,
    Entry,
    Journal,
    NewEntry,
)
from console.config import Profile
from console.errors import Cancelled, UserFacingError
from console.services.posting import RECEIPT, PostingService, RetryPolicy

KIND = "ic_conveyance"
KEY_PREFIX = "conveyance:"
WATERMARK = "conveyance:sequence"
PAGE_SIZE = 500
ACTION = "account_sync"  # the operators' permission for sending account changes to Invoice Cloud
OUTCOME_LABELS = {"sent": "Sent", "already_there": "Already in Invoice Cloud",
                  "not_enrolled": "Nothing enrolled in Invoice Cloud", "mismatch": "Invoice Cloud holds other content",
                  "payment_pending": "Waiting: a payment is not posted yet", "gave_up": "No definite answer"}

ProgressFn = Callable[..., None]


@dataclass(frozen=True)
class AccountEvent:
    sequence: int
    kind: str  # OPENED | FINAL_BILLED
    account: str
    location: str
    occurred_at: str
    name: str
    related: str = ""


@dataclass(frozen=True)
class Conveyance:
    """One old account whose Invoice Cloud enrollment must end."""

    old_account: str
    new_account: str
    location: str
    new_owner: str
    conveyed_at: str
    sequence: int
    autopay: bool = False  # the old account's AutoPay in Caselle when it was detected
    paperless: bool = False
    waiting_for: tuple[str, ...] = ()  # journal keys of unposted payments on the old account
    state: str = ""
    outcome: str = ""
    detail: str = ""

    @property
    def key(self) -> str:
        return KEY_PREFIX + self.old_account

    def body(self) -> dict[str, Any]:
        return {"OldAccountNumber": self.old_account, "NewAccountNumber": self.new_account,
                "Location": self.location, "FinalBill": True, "ConveyedAt": self.conveyed_at}

    def payload(self) -> dict[str, Any]:
        return {"old_account": self.old_account, "new_account": self.new_account, "location": self.location,
                "new_owner": self.new_owner, "conveyed_at": self.conveyed_at, "sequence": self.sequence,
                "autopay": self.autopay, "paperless": self.paperless, "waiting_for": list(self.waiting_for)}

    def as_dict(self) -> dict[str, Any]:
        return {**self.payload(), "key": self.key, "state": self.state, "outcome": self.outcome,
                "detail": self.detail}

    @classmethod
    def from_entry(cls, e: Entry) -> Conveyance:
        p = e.payload
        return cls(str(p.get("old_account", "")), str(p.get("new_account", "")), str(p.get("location", "")),
                   str(p.get("new_owner", "")), str(p.get("conveyed_at", "")), int(p.get("sequence") or 0),
                   bool(p.get("autopay")), bool(p.get("paperless")), tuple(p.get("waiting_for") or ()),
                   state=e.state, outcome=e.outcome, detail=e.detail)


@dataclass
class ConveyanceResult:
    dry_run: bool = False
    found: int = 0  # conveyances detected in Caselle that were not journaled before
    journaled: int = 0
    outcomes: Counter = field(default_factory=Counter)  # what this run sent, per outcome
    pending: list[Conveyance] = field(default_factory=list)  # dry run: to send; else: still to send
    review: list[Conveyance] = field(default_factory=list)  # waiting for a person
    done: list[Conveyance] = field(default_factory=list)  # finished in this run (the report)
    aborted: str = ""
    cancelled: bool = False
    watermark_before: int = 0
    watermark_after: int = 0

    @property
    def complete(self) -> bool:
        return not (self.pending or self.review or self.aborted or self.cancelled) or self.dry_run

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "status": "complete" if self.complete else "unfinished",
                "found": self.found, "journaled": self.journaled, "outcomes": dict(self.outcomes),
                "pending": [c.as_dict() for c in self.pending], "needs_review": [c.as_dict() for c in self.review],
                "sent": [c.as_dict() for c in self.done], "aborted": self.aborted or None,
                "cancelled": self.cancelled,
                "watermark": {"before": self.watermark_before, "after": self.watermark_after}}


class ConveyanceService:
    """Detect conveyances in Caselle and end the old owners' Invoice Cloud enrollment, exactly once."""

    def __init__(self, journal: Journal, caselle, invoicecloud, profile: Profile, audit=None, *,
                 operators=None, retry: RetryPolicy | None = None, page_size: int = PAGE_SIZE):
        self.journal = journal
        self._caselle = caselle  # a client or a zero-argument factory
        self._ic = invoicecloud
        self.profile = profile
        self.audit = audit
        self.operators = operators
        self.page_size = max(1, int(page_size))
        self.runner = PostingService(journal, self._caselle_client, profile, audit, retry=retry)
        self.runner.remote_name = "Invoice Cloud"
        self.runner.register_handler(KIND, self._send_one)

    def _caselle_client(self):
        if callable(self._caselle) and not hasattr(self._caselle, "execute"):
            self._caselle = self._caselle()
        return self._caselle

    @property
    def invoicecloud(self):
        if self._ic is None:
            raise UserFacingError("Conveyance sync has no Invoice Cloud connection configured")
        if callable(self._ic) and not hasattr(self._ic, "post_conveyance"):
            self._ic = self._ic()
        return self._ic

    def watermark(self) -> int:
        return int(self.journal.get_watermark(WATERMARK, "0") or 0)

    def require(self, operator: str) -> None:
        """Sending changes to Invoice Cloud is the ``account_sync`` action (``NotPermitted``
        otherwise; a profile without operators lets only its set-up operator act)."""
        from console.services.operators import require

        require(self.profile, operator, ACTION, self.audit)

    # ---- reading Caselle
    def _pages(self, after: int, cancel):
        while True:
            _check(cancel)
            page = account_events(self._caselle_client(), after, self.page_size)
            if not page:
                return
            yield page
            after = page[-1].sequence
            if len(page) < self.page_size:
                return

    def _detect(self, page: list[AccountEvent], seen: set[str]) -> list[Conveyance]:
        """Conveyances in a page of events (one per old account not journaled or seen before)."""
        unposted = _unposted_payments(self.journal)
        out: list[Conveyance] = []
        for ev in page:
            if ev.kind == "FINAL_BILLED":
                old, new, owner = ev.account, ev.related, ""
            elif ev.kind == "OPENED" and ev.related:
                old, new, owner = ev.related, ev.account, ev.name
            else:
                continue
            if KEY_PREFIX + old in seen:
                continue
            seen.add(KEY_PREFIX + old)
            if not owner:
                owner = next((e.name for e in page if e.kind == "OPENED" and e.account == new), "")
            detail = self._caselle_client().customer_detail(old, usage_months=0)
            out.append(Conveyance(old, new, ev.location, owner, ev.occurred_at, ev.sequence,
                                  autopay=bool(getattr(detail, "autopay", False)),
                                  paperless=bool(getattr(detail, "paperless", False)),
                                  waiting_for=tuple(unposted.get(old, ()))))
        return out

    def _known(self) -> set[str]:
        return {e.key for e in self.journal.entries(kinds=[KIND])}

    def preview(self, cancel=None) -> tuple[list[Conveyance], list[Conveyance]]:
        """(to send, to wait for review) — journaled and not sent yet, then Caselle's new ones."""
        seen = self._known()
        sendable = [Conveyance.from_entry(e) for e in self.journal.entries(kinds=[KIND], states=[PENDING, IN_FLIGHT])]
        waiting = [Conveyance.from_entry(e) for e in self.journal.entries(kinds=[KIND], states=[NEEDS_REVIEW])]
        for page in self._pages(self.watermark(), cancel):
            for c in self._detect(page, seen):
                (waiting if c.waiting_for else sendable).append(c)
        return sendable, waiting

    def collect(self, operator: str, cancel=None) -> tuple[int, int]:
        """Journal Caselle's new conveyances, one page per transaction with the watermark."""
        found = added = 0
        seen = self._known()
        for page in self._pages(self.watermark(), cancel):
            conveyances = self._detect(page, seen)
            found += len(conveyances)
            first, last = page[0].sequence, page[-1].sequence
            try:
                res = self.journal.add_entries(
                    [_entry(c) for c in conveyances], operator=operator or "system",
                    fingerprint=f"caselle-account-events:{first}-{last}", file_name=f"Caselle account events "
                    f"{first}-{last}", file_kind="account_events", records=len(conveyances), total="0.00",
                    watermarks={WATERMARK: str(last)})
                added += res.added
            except DuplicateFileError:  # another console journaled this page a moment ago
                if self.watermark() < last:
                    self.journal.set_watermark(WATERMARK, str(last))
        return found, added

    # ---- the sync
    def sync(self, dry_run: bool = False, progress: ProgressFn | None = None, cancel=None, *,
             operator: str = "") -> ConveyanceResult:
        result = ConveyanceResult(dry_run=dry_run, watermark_before=self.watermark())
        if dry_run:
            known = self._known()
            result.pending, result.review = self.preview(cancel)
            result.found = sum(1 for c in result.pending + result.review if c.key not in known)
            result.watermark_after = result.watermark_before
            return result
        self.require(operator)
        self.journal.recover_dead_leases()
        try:
            if progress is not None:
                progress(0, None, "reading account events from Caselle…")
            result.found, result.journaled = self.collect(operator, cancel)
            before = {e.key for e in self.journal.entries(kinds=[KIND], states=[DONE])}
            _ = self.invoicecloud  # a missing URL or key stops here, before any entry is claimed
            run = self.runner.run_entries(progress, cancel, operator=operator, kinds=[KIND])
            result.outcomes.update(run.outcomes)
            result.aborted, result.cancelled = run.aborted, run.cancelled
            result.done = [Conveyance.from_entry(e) for e in self.journal.entries(kinds=[KIND], states=[DONE])
                           if e.key not in before]
        except Cancelled:
            result.cancelled = True
        finally:
            result.watermark_after = self.watermark()
        result.pending = [Conveyance.from_entry(e) for e in self.journal.entries(kinds=[KIND],
                                                                                  states=[PENDING, IN_FLIGHT])]
        result.review = [Conveyance.from_entry(e) for e in self.journal.entries(kinds=[KIND], states=[NEEDS_REVIEW])]
        if self.audit is not None:
            self.audit.record(operator or "system", "conveyance_sync.run", "invoicecloud", found=result.found,
                              outcomes=dict(result.outcomes), pending=len(result.pending),
                              needs_review=len(result.review), aborted=result.aborted)
        return result

    def release(self, keys: Sequence[str], operator: str, progress: ProgressFn | None = None,
                cancel=None) -> ConveyanceResult:
        """Send conveyances that waited for review once their payments are posted (refused while
        a payment of the old account is still unposted)."""
        self.require(operator)
        unposted = _unposted_payments(self.journal)
        entries = self.journal.entries(keys=list(keys))
        blocked = [e.payload.get("old_account") for e in entries if unposted.get(str(e.payload.get("old_account")))]
        if blocked:
            raise UserFacingError(f"A payment on {', '.join(map(str, blocked))} is not posted yet",
                                  hint="post it (Posting tab or `biller-console post`), then release the conveyance")
        self.runner.retry_entries(list(keys), operator, action=ACTION)
        result = ConveyanceResult(watermark_before=self.watermark(), watermark_after=self.watermark())
        run = self.runner.run_entries(progress, cancel, operator=operator, kinds=[KIND], keys=list(keys))
        result.outcomes.update(run.outcomes)
        result.aborted, result.cancelled = run.aborted, run.cancelled
        result.done = [Conveyance.from_entry(e) for e in self.journal.entries(keys=list(keys)) if e.state == DONE]
        result.review = [Conveyance.from_entry(e) for e in self.journal.entries(kinds=[KIND], states=[NEEDS_REVIEW])]
        return result

    def history(self) -> list[Conveyance]:
        return [Conveyance.from_entry(e) for e in reversed(self.journal.entries(kinds=[KIND]))]

    # ---- one entry (the posting claim loop calls this)
    def _send_one(self, entry: Entry, owner: str, operator: str) -> str:
        c = Conveyance.from_entry(entry)
        ic = self.invoicecloud
        if entry.needs_reconcile:
            found = ic.find_conveyance(c.key)
            if found is not None:
                return self._found(entry, owner, c, found, "already_there")
        try:
            stored = ic.post_conveyance(c.body(), c.key)
        except UserFacingError as exc:
            code = str(getattr(exc, "code", "") or "")
            if code == "ACCOUNT_NOT_REGISTERED":
                return self.runner.finish_entry(entry, owner, DONE, "not_enrolled",
                                                detail=f"Invoice Cloud has no registration for {c.old_account}: "
                                                       f"nothing to release")
            if code == "IDEMPOTENCY_CONFLICT":
                return self.runner.finish_entry(
                    entry, owner, NEEDS_REVIEW, "mismatch",
                    evidence={"why": "Invoice Cloud holds other content under this key", "journal": c.body(),
                              "invoice_cloud": ic.find_conveyance(c.key)})
            raise
        return self._found(entry, owner, c, stored, "already_there" if stored.get("replayed") else "sent")

    def _found(self, entry: Entry, owner: str, c: Conveyance, stored: dict, outcome: str) -> str:
        if str(stored.get("old_account_number", c.old_account)) != c.old_account:
            return self.runner.finish_entry(entry, owner, NEEDS_REVIEW, "mismatch",
                                            evidence={"why": "Invoice Cloud holds another account under this key",
                                                      "invoice_cloud": stored})
        was = [name for name in ("autopay", "paperless", "registered") if stored.get(f"{name}_was")]
        detail = ("turned off: " + ", ".join(was)) if was else "nothing was enrolled"
        return self.runner.finish_entry(entry, owner, DONE, outcome, detail=detail,
                                        remote_ref=str(stored.get("conveyance_id") or ""))


# --------------------------------------------------------------------------- helpers
def account_events(caselle, after_sequence: int, limit: int) -> list[AccountEvent]:
    """Caselle's account events after ``after_sequence``, oldest first."""
    data = caselle.execute("account_events", {"afterSequence": after_sequence, "first": limit})
    return sorted((AccountEvent(int(e["sequence"]), str(e["kind"]), str(e["accountNumber"]), str(e["location"]),
                                str(e["occurredAt"]), str(e["name"]), str(e.get("relatedAccount") or ""))
                   for e in data["accountEvents"]), key=lambda e: e.sequence)


def _unposted_payments(journal: Journal) -> dict[str, list[str]]:
    """Journal keys of payments not posted yet, by account."""
    out: dict[str, list[str]] = {}
    for e in journal.entries(kinds=[RECEIPT], states=[PENDING, IN_FLIGHT]):
        out.setdefault(str(e.payload.get("account", "")), []).append(e.key)
    return out


def _entry(c: Conveyance) -> NewEntry:
    if c.waiting_for:
        n = len(c.waiting_for)
        return NewEntry(c.key, KIND, c.payload(), state=NEEDS_REVIEW, outcome="payment_pending",
                        detail=f"{n} {'payment' if n == 1 else 'payments'} on {c.old_account} not posted yet: "
                               f"{', '.join(c.waiting_for[:5])}")
    return NewEntry(c.key, KIND, c.payload())


def _check(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("conveyance sync cancelled")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_conveyance_service(services) -> ConveyanceService:
    """The service for a profile (composition root): Caselle and Invoice Cloud built lazily."""
    from console.adapters.invoicecloud import client_from_services

    return ConveyanceService(services.journal, lambda: services.caselle, lambda: client_from_services(services),
                             services.profile, services.audit, operators=services.operators)
