"""Account sync: Caselle adjustments become Invoice Cloud balance updates, exactly once.

A clerk adjusts an account in Caselle (a leak credit, a waived late fee); Invoice Cloud must
then show the new balance, or customers pay balances that are no longer right. One sync:

1. **Collect** — Caselle's adjustments after the watermark (the adjustment ``sequence``, kept in
   the journal as ``account_sync:sequence``), page by page, oldest first. Each account's
   ``CustomerDetail`` is read once per run (cached per account) for its invoice number and
   minimum due. Each adjustment becomes one ``ic-balance-v1`` row (file-layouts.md §6):
   BalanceDue = the balance after the adjustment (balance forward); MinimumAmountDue = the
   account's minimum due, never above BalanceDue nor below 0; InvoiceNumber from the detail.
   Rows are checked with the layout (writer + reader). Every row becomes a journal entry
   (kind ``ic_balance``, key ``balance:<AdjustmentId>``) and the watermark moves past the page
   **in the same transaction**: the watermark never passes an adjustment that is not
   journaled. A row Caselle cannot explain (no such account) or that breaks the layout is
   journaled ``rejected`` with the reason — reported, never dropped.
2. **Send** — by the profile's ``sync_adjustments_via``:

   - ``api``: each entry goes to Invoice Cloud's REST API (``PUT /api/v1/balances``, the
     AdjustmentId as idempotency key) through the posting service's claim loop (leases,
     backoff, abort on auth errors, progress, cancel). An entry whose earlier attempt may have
     reached Invoice Cloud (a crash, a timeout, a dropped answer, a 5xx) is first looked up
     (``GET /api/v1/balances/<AdjustmentId>``); it is sent again only when Invoice Cloud does
     not have it — never a blind retry. An account Invoice Cloud does not know ends
     ``rejected`` / ``not_in_invoice_cloud`` (listed; an operator retries it once the account
     is registered there).
   - ``file``: every pending entry goes into ONE ``ic-balance-v1`` file (written atomically to
     the outbox) sent through the transfer service (journaled, fingerprinted, reconciled on
     the server). The file and its entries are recorded (``account_sync:file``) before the
     send, so a crash resumes with the same file — its entries never go into a second one.
     Invoice Cloud checks accounts when it imports the file, so unknown accounts are not
     known here.

Outcomes (``SyncResult.outcomes``): ``sent``, ``already_there`` (found on reconciliation),
``sent_in_file``, ``not_in_invoice_cloud``, ``invalid``, ``no_caselle_account``, ``mismatch``
(Invoice Cloud holds other content under the key: needs review).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from console.adapters.journal import (
    DONE,
    IN_FLIGHT,
    NEEDS_REVIEW,
    PENDING,
    REJECTED,
    DuplicateFileError,
    Entry,
    Journal,
    NewEntry,
    card_data_problems,
    lease_owner_id,
)
from console.config import Profile
from console.errors import Cancelled, UserFacingError
from console.services.operators import require
from console.services.posting import PostingService, RetryPolicy

log = logging.getLogger(__name__)

BALANCE = "ic_balance"
KEY_PREFIX = "balance:"
WATERMARK = "account_sync:sequence"
LAST_ID = "account_sync:last_adjustment"  # the AdjustmentId at the watermark (Caselle's history check)
OPEN_FILE = "account_sync:file"
LAYOUT = "ic-balance-v1"
PAGE_SIZE = 500
FILE_MAX_ROWS = 10_000  # a larger backlog goes in several files, one after the other
ZERO = Decimal("0.00")
OUTCOME_LABELS = {
    "sent": "Sent", "already_there": "Already in Invoice Cloud", "sent_in_file": "Sent in a file",
    "not_in_invoice_cloud": "Account not in Invoice Cloud", "invalid": "Invalid row",
    "no_caselle_account": "No such account in Caselle", "mismatch": "Invoice Cloud holds other content",
    "gave_up": "No definite answer",
}

ProgressFn = Callable[..., None]


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class BalanceUpdate:
    """One adjustment as the balance update Invoice Cloud gets (a row of ``ic-balance-v1``)."""

    adjustment_id: str
    sequence: int
    account: str
    adjusted_at: dt.datetime  # aware, UTC
    amount: Decimal
    reason: str
    balance_due: Decimal
    minimum_due: Decimal
    invoice_number: str
    entered_by: str = ""
    problem: str = ""  # why it cannot be sent ("" = fine)
    problem_code: str = ""  # invalid | no_caselle_account
    state: str = ""  # journal state ("" = not journaled yet)

    @property
    def key(self) -> str:
        return KEY_PREFIX + self.adjustment_id

    def file_row(self) -> dict[str, Any]:
        """Typed values for the layout writer (timestamps in local time, as the layout says)."""
        return {"AdjustmentId": self.adjustment_id, "AccountNumber": self.account, "InvoiceNumber": self.invoice_number,
                "AdjustedAt": self.adjusted_at.astimezone().replace(tzinfo=None), "AdjustmentAmount": self.amount,
                "BalanceDue": self.balance_due, "MinimumAmountDue": self.minimum_due, "Reason": self.reason}

    def api_row(self) -> dict[str, str]:
        """The row as JSON for the REST API (amounts as strings, AdjustedAt ISO 8601 UTC)."""
        return {"AdjustmentId": self.adjustment_id, "AccountNumber": self.account,
                "InvoiceNumber": self.invoice_number, "AdjustedAt": _iso(self.adjusted_at),
                "AdjustmentAmount": str(self.amount), "BalanceDue": str(self.balance_due),
                "MinimumAmountDue": str(self.minimum_due), "Reason": self.reason}

    def payload(self) -> dict[str, Any]:
        return {"adjustment_id": self.adjustment_id, "sequence": self.sequence, "account": self.account,
                "adjusted_at": _iso(self.adjusted_at), "amount": str(self.amount), "reason": self.reason,
                "balance_due": str(self.balance_due), "minimum_due": str(self.minimum_due),
                "invoice_number": self.invoice_number, "entered_by": self.entered_by}

    @classmethod
    def from_entry(cls, e: Entry) -> BalanceUpdate:
        p = e.payload
        return cls(adjustment_id=str(p["adjustment_id"]), sequence=int(p.get("sequence") or 0),
                   account=str(p.get("account", "")), adjusted_at=_parse_iso(str(p.get("adjusted_at", ""))),
                   amount=_dec(p.get("amount")), reason=str(p.get("reason", "")), balance_due=_dec(p.get("balance_due")),
                   minimum_due=_dec(p.get("minimum_due")), invoice_number=str(p.get("invoice_number", "")),
                   entered_by=str(p.get("entered_by", "")), state=e.state)


@dataclass(frozen=True)
class HistoryRow:
    """What was sent (or refused), with its journal state."""

    key: str
    adjustment_id: str
    account: str
    adjusted_at: str
    amount: Decimal
    balance_due: Decimal
    reason: str
    state: str
    outcome: str
    remote_ref: str
    detail: str
    attempts: int
    updated_at: str


@dataclass
class SyncResult:
    via: str
    dry_run: bool = False
    found: int = 0  # adjustments read from Caselle after the watermark
    journaled: int = 0  # new journal entries
    outcomes: Counter = field(default_factory=Counter)
    pending: list[BalanceUpdate] = field(default_factory=list)  # dry run: what would be sent
    reported: list[HistoryRow] = field(default_factory=list)  # rejected in this run, with the reason
    review: list[HistoryRow] = field(default_factory=list)  # needs review after this run
    remaining: int = 0  # entries still pending / in flight
    aborted: str = ""
    cancelled: bool = False
    file: dict[str, Any] | None = None  # file mode: the send (transfer SendResult.as_dict())
    watermark_before: int = 0
    watermark_after: int = 0

    @property
    def complete(self) -> bool:
        """Everything was sent or reported (nothing left, nothing waiting for a person)."""
        return not (self.remaining or self.review or self.aborted or self.cancelled)

    def as_dict(self) -> dict[str, Any]:
        def hist(rows: list[HistoryRow]) -> list[dict]:
            return [{"adjustment_id": r.adjustment_id, "account": r.account, "amount": str(r.amount),
                     "balance_due": str(r.balance_due), "state": r.state, "outcome": r.outcome, "detail": r.detail}
                    for r in rows]

        return {
            "via": self.via, "dry_run": self.dry_run, "status": "complete" if self.complete else "unfinished",
            "found": self.found, "journaled": self.journaled, "outcomes": dict(self.outcomes),
            "pending": [{**u.api_row(), "sequence": u.sequence, "problem": u.problem} for u in self.pending],
            "reported": hist(self.reported), "needs_review": hist(self.review), "remaining": self.remaining,
            "aborted": self.aborted or None, "cancelled": self.cancelled, "file": self.file,
            "watermark": {"before": self.watermark_before, "after": self.watermark_after},
        }


# --------------------------------------------------------------------------- the service
class AccountSyncService:
    """Collect Caselle adjustments into the journal and send them to Invoice Cloud, exactly once."""

    def __init__(self, journal: Journal, caselle, invoicecloud, profile: Profile, audit=None, *,
                 transfer=None, outbox_dir: Path | None = None, retry: RetryPolicy | None = None,
                 page_size: int = PAGE_SIZE, workers: int = 1):
        self.journal = journal
        self._caselle = caselle  # a client or a zero-argument factory
        self._ic = invoicecloud
        self._transfer = transfer
        self.profile = profile
        self.audit = audit
        self.outbox_dir = Path(outbox_dir) if outbox_dir else None
        self.page_size = max(1, int(page_size))
        self.runner = PostingService(journal, self._caselle_client, profile, audit, retry=retry, workers=workers)
        self.runner.remote_name = "Invoice Cloud"
        self.runner.register_handler(BALANCE, self._send_one)

    # ---- collaborators (built lazily: a dry run needs no Invoice Cloud client)
    def _caselle_client(self):
        return _resolve(self, "_caselle", "customer_detail")

    @property
    def caselle(self):
        return self._caselle_client()

    @property
    def invoicecloud(self):
        return _resolve(self, "_ic", "put_balance")

    @property
    def transfer(self):
        return _resolve(self, "_transfer", "send_file")

    @property
    def via(self) -> str:
        via = str(self.profile.get("sync_adjustments_via") or "api").lower()
        return via if via in ("api", "file") else "api"

    def watermark(self) -> int:
        return int(self.journal.get_watermark(WATERMARK, "0") or 0)

    def _start(self) -> int:
        """The watermark, after checking Caselle still has the adjustment it points at (sequences
        never change in Caselle; a restored database or a reset sandbox would make the sync skip
        or resend adjustments silently)."""
        mark = self.watermark()
        last_id = self.journal.get_watermark(LAST_ID)
        if mark and last_id:
            found = self.caselle.adjustments_since(after_sequence=mark - 1, limit=1)
            now = found[0].adjustment_id if found and found[0].sequence == mark else None
            if now != last_id:
                raise UserFacingError(
                    f"Caselle's adjustments do not match the last sync: sequence {mark} was {last_id}, Caselle now "
                    f"has {now or 'nothing'} there",
                    hint="Caselle's data was restored or the sandbox was reset; nothing was sent. Ask support to "
                         "check the account sync watermark before syncing again")
        return mark

    # ---- reading Caselle
    def _pages(self, after: int, cancel) -> Any:
        while True:
            _check(cancel)
            page = self.caselle.adjustments_since(after_sequence=after, limit=self.page_size)
            if not page:
                return
            page = sorted(page, key=lambda a: a.sequence)
            yield page
            after = page[-1].sequence
            if len(page) < self.page_size:
                return

    def _updates(self, page, details: dict[str, Any], cancel) -> list[BalanceUpdate]:
        """Rows for a page of adjustments (details read once per account), checked with the layout."""
        out: list[BalanceUpdate] = []
        for a in page:
            account = a.account_number
            if account not in details:
                _check(cancel)
                details[account] = _detail(self.caselle, account)
            d = details[account]
            balance = _dec(a.balance_after)
            reason = " ".join(str(a.reason or "").split())  # one line in the file
            if d is None:
                out.append(BalanceUpdate(a.adjustment_id, a.sequence, account, _aware(a.adjusted_at), _dec(a.amount),
                                         reason, balance, ZERO, "", a.entered_by,
                                         problem=f"Caselle has no account {account}",
                                         problem_code="no_caselle_account"))
                continue
            minimum = max(ZERO, min(_dec(d.minimum_due), max(balance, ZERO)))
            out.append(BalanceUpdate(a.adjustment_id, a.sequence, account, _aware(a.adjusted_at), _dec(a.amount),
                                     reason, balance, minimum, str(getattr(d, "invoice_number", "") or ""),
                                     a.entered_by))
        return check_rows(out)

    def preview(self, progress: ProgressFn | None = None, cancel=None) -> list[BalanceUpdate]:
        """What a sync would send now: journaled entries not sent yet, then Caselle's
        adjustments after the watermark. Nothing is journaled."""
        rows = [BalanceUpdate.from_entry(e) for e in self.journal.entries(kinds=[BALANCE], states=[PENDING, IN_FLIGHT])]
        known = {r.adjustment_id for r in rows}
        details: dict[str, Any] = {}
        for page in self._pages(self._start(), cancel):
            rows.extend(u for u in self._updates(page, details, cancel) if u.adjustment_id not in known)
            if progress is not None:
                progress(len(rows), None, f"read {len(rows)} adjustments…")
        return rows

    def collect(self, operator: str = "", progress: ProgressFn | None = None,
                cancel=None) -> tuple[int, int, list[str]]:
        """Journal Caselle's adjustments after the watermark, one page per transaction (the
        watermark moves with its page). Returns (adjustments read, entries added, their keys)."""
        require(self.profile, operator, "account_sync", self.audit)
        found = added = 0
        keys: list[str] = []
        details: dict[str, Any] = {}
        for page in self._pages(self._start(), cancel):
            updates = self._updates(page, details, cancel)
            found += len(updates)
            entries = [_entry(u) for u in updates]
            keys.extend(e.key for e in entries)
            first, last = updates[0].sequence, updates[-1].sequence
            total = sum((u.amount for u in updates), ZERO)
            try:
                res = self.journal.add_entries(
                    entries, operator=operator or "system", fingerprint=f"caselle-adjustments:{first}-{last}",
                    file_name=f"Caselle adjustments {first}-{last}", file_kind="adjustments", records=len(entries),
                    total=str(total), watermarks={WATERMARK: str(last), LAST_ID: updates[-1].adjustment_id})
                added += res.added
            except DuplicateFileError:
                # another console journaled exactly this page a moment ago: nothing new; move on
                log.info("adjustments %s-%s were journaled by another console", first, last)
                if self.watermark() < last:
                    self.journal.set_watermark(WATERMARK, str(last))
                    self.journal.set_watermark(LAST_ID, updates[-1].adjustment_id)
            if progress is not None:
                progress(found, None, f"read {found} adjustments from Caselle…")
        return found, added, keys

    # ---- the sync
    def sync(self, dry_run: bool = False, progress: ProgressFn | None = None, cancel=None, *,
             operator: str = "") -> SyncResult:
        result = SyncResult(via=self.via, dry_run=dry_run, watermark_before=self.watermark())
        if dry_run:
            result.pending = self.preview(progress, cancel)
            result.found = sum(1 for u in result.pending if not u.state)
            result.remaining = len(result.pending)
            result.watermark_after = result.watermark_before
            return result
        self.journal.recover_dead_leases()
        before = {e.key for e in self.journal.entries(kinds=[BALANCE], states=[PENDING, IN_FLIGHT])}
        marker = self.journal.get_watermark(OPEN_FILE)
        if marker:  # a file built earlier is delivered first: its entries belong to it
            before |= set(json.loads(marker).get("keys", []))
        touched = set(before)
        try:
            if progress is not None:
                progress(0, None, "reading adjustments from Caselle…")
            result.found, result.journaled, collected = self.collect(operator, progress, cancel)
            touched = before | set(collected)
            for e in self._entries(touched):
                if e.state == REJECTED and e.outcome in ("invalid", "no_caselle_account"):
                    result.outcomes[e.outcome] += 1
            if marker:  # first the file an interrupted sync built (same file, same entries)
                result.file = self._send_file(operator, progress, cancel, result)
            while self.via == "file":
                sent = self._send_file(operator, progress, cancel, result)
                if sent is None:
                    break
                result.file = sent
            if self.via == "api":
                _ = self.invoicecloud  # a missing URL or key stops here, before any entry is claimed
                run = self.runner.run_entries(progress, cancel, operator=operator, kinds=[BALANCE])
                result.outcomes.update(run.outcomes)
                result.aborted = run.aborted
                result.cancelled = run.cancelled
        except Cancelled:
            result.cancelled = True
        finally:
            result.watermark_after = self.watermark()
        result.remaining = self.runner.pending_count([BALANCE])
        result.reported = [_history(e) for e in self._entries(touched) if e.state == REJECTED]
        result.review = [_history(e) for e in self.journal.entries(kinds=[BALANCE], states=[NEEDS_REVIEW])]
        if self.audit is not None:
            self.audit.record(operator or "system", "account_sync.run", result.via, found=result.found,
                              journaled=result.journaled, outcomes=dict(result.outcomes), remaining=result.remaining,
                              reported=len(result.reported), aborted=result.aborted, cancelled=result.cancelled,
                              watermark=result.watermark_after)
        return result

    def _entries(self, keys) -> list[Entry]:
        keys = sorted(keys)
        out: list[Entry] = []
        for i in range(0, len(keys), 500):
            out.extend(self.journal.entries(keys=keys[i:i + 500]))
        return out

    # ---- API mode: one entry (the posting claim loop calls this)
    def _send_one(self, entry: Entry, owner: str, operator: str) -> str:
        u = BalanceUpdate.from_entry(entry)
        ic = self.invoicecloud
        if entry.needs_reconcile:
            found = ic.find_balance(u.adjustment_id)
            if found is not None:
                return self._found(entry, owner, u, found, "already_there")
        try:
            stored = ic.put_balance(u.api_row(), u.adjustment_id)
        except UserFacingError as exc:
            code = str(getattr(exc, "code", "") or "")
            if code == "ACCOUNT_NOT_REGISTERED":
                return self.runner.finish_entry(
                    entry, owner, REJECTED, "not_in_invoice_cloud",
                    detail=f"Invoice Cloud has no account {u.account}: register it there (or correct the account "
                           f"in Caselle), then retry")
            if code == "IDEMPOTENCY_CONFLICT":
                found = ic.find_balance(u.adjustment_id)
                return self.runner.finish_entry(
                    entry, owner, NEEDS_REVIEW, "mismatch",
                    evidence={"why": "Invoice Cloud holds other content under this AdjustmentId",
                              "journal": u.api_row(), "invoice_cloud": found})
            raise
        return self._found(entry, owner, u, stored, "already_there" if stored.get("replayed") else "sent")

    def _found(self, entry: Entry, owner: str, u: BalanceUpdate, stored: dict, outcome: str) -> str:
        diffs = {}
        for name, mine, theirs in (("account", u.account, stored.get("account_number")),
                                   ("balance_due", str(u.balance_due), stored.get("balance_due")),
                                   ("amount", str(u.amount), stored.get("adjustment_amount"))):
            if theirs is not None and str(theirs) != mine:
                diffs[name] = {"journal": mine, "invoice_cloud": theirs}
        ref = str(stored.get("balance_id") or stored.get("adjustment_id") or u.adjustment_id)
        if diffs:
            return self.runner.finish_entry(entry, owner, NEEDS_REVIEW, "mismatch", remote_ref=ref,
                                            evidence={"why": "Invoice Cloud holds an update under this AdjustmentId "
                                                             "that differs from the adjustment", "differences": diffs})
        return self.runner.finish_entry(entry, owner, DONE, outcome, remote_ref=ref)

    # ---- file mode
    def _send_file(self, operator: str, progress, cancel, result: SyncResult) -> dict[str, Any] | None:
        from console.services.transfer import AlreadySent

        owner = lease_owner_id()
        marker = self.journal.get_watermark(OPEN_FILE)
        if marker:
            info = json.loads(marker)
            keys = list(info["keys"])
            claimed = self.journal.claim(owner, [BALANCE], keys=keys, limit=len(keys), lease_s=3600)
            still = [e for e in self.journal.entries(keys=keys) if e.state in (PENDING, IN_FLIGHT)]
            if len(claimed) < len(still):
                for e in claimed:
                    self.journal.release(e.key, owner, delay_s=0, detail="another console is sending the file")
                raise UserFacingError("Another console is sending the balance file right now",
                                      hint="wait for it to finish, then sync again")
            path = Path(info["path"])
            if not path.is_file():
                for e in claimed:
                    self.journal.release(e.key, owner, delay_s=0, detail="balance file missing")
                raise UserFacingError(f"The balance file {path} built for the last sync is missing",
                                      hint="restore it from the outbox (it may have been delivered already)")
        else:
            claimed = self.journal.claim(owner, [BALANCE], limit=FILE_MAX_ROWS, lease_s=3600)
            if not claimed:
                return None
            updates = [BalanceUpdate.from_entry(e) for e in claimed]
            path = self._write_file(updates)
            info = {"path": str(path), "keys": [e.key for e in claimed], "built_at": _iso(_utcnow())}
            self.journal.set_watermark(OPEN_FILE, json.dumps(info))
        keys = [e.key for e in claimed]
        try:
            sent = self.transfer.send_file(path, kind="balances", operator=operator or "system", progress=progress,
                                           cancel=cancel)
            remote, delivery = sent.remote_path, sent.as_dict()
        except AlreadySent as exc:  # an earlier, interrupted sync delivered this very file
            remote = str(exc.previous.payload.get("remote_path", path.name))
            delivery = {"remote_path": remote, "reconciled": True, "status": "delivered earlier"}
        except BaseException:
            for k in keys:  # back to pending, still bound to this file (the marker stays)
                self.journal.release(k, owner, delay_s=0, detail=f"file {path.name} not delivered yet")
            raise
        ops = [("finish", k, owner, DONE, "sent_in_file", remote, "", {"file": path.name}) for k in keys]
        self.journal.record_many(ops)
        self.journal.delete_watermark(OPEN_FILE)
        result.outcomes["sent_in_file"] += len(keys)
        return {**delivery, "local_path": str(path), "records": len(keys)}

    def _write_file(self, updates: list[BalanceUpdate]) -> Path:
        from console.files.layouts import load_layout
        from console.files.writer import write_delimited

        folder = self.outbox_dir or Path.cwd()
        folder.mkdir(parents=True, exist_ok=True)
        updates = sorted(updates, key=lambda u: u.sequence)
        # letters between the numbers: a long digit run could pass for a card number in the journal
        name = f"ic-balances-{_utcnow():%Y%m%dT%H%M%S}Z-s{updates[0].sequence}to{updates[-1].sequence}.csv"
        text = write_delimited([u.file_row() for u in updates], load_layout(LAYOUT))
        return write_atomically(folder / name, text)

    # ---- history and operator actions
    def history(self, states: Sequence[str] | None = None) -> list[HistoryRow]:
        """Every balance update journaled, newest first, with its journal state."""
        rows = [_history(e) for e in self.journal.entries(kinds=[BALANCE], states=states)]
        rows.reverse()
        return rows

    def counts(self) -> dict[str, int]:
        return self.journal.counts(kinds=[BALANCE])

    def retry(self, keys: Sequence[str], operator: str, progress: ProgressFn | None = None, cancel=None) -> SyncResult:
        """Send rejected / needs-review updates again (e.g. once the account is registered in
        Invoice Cloud); each is looked up first. API mode only."""
        marker = self.journal.get_watermark(OPEN_FILE)
        bound = set(json.loads(marker).get("keys", [])) if marker else set()
        keys = [k for k in keys if k not in bound]  # those go with the balance file being delivered
        _ = self.invoicecloud  # configuration problems stop here, before anything is reopened
        self.runner.retry_entries(list(keys), operator, action="account_sync")
        result = SyncResult(via="api", watermark_before=self.watermark(), watermark_after=self.watermark())
        run = self.runner.run_entries(progress, cancel, operator=operator, kinds=[BALANCE], keys=list(keys))
        result.outcomes.update(run.outcomes)
        result.aborted, result.cancelled = run.aborted, run.cancelled
        result.remaining = self.runner.pending_count([BALANCE], list(keys))
        entries = self.journal.entries(keys=list(keys))
        result.reported = [_history(e) for e in entries if e.state == REJECTED]
        result.review = [_history(e) for e in entries if e.state == NEEDS_REVIEW]
        return result


# --------------------------------------------------------------------------- helpers
def check_rows(updates: list[BalanceUpdate]) -> list[BalanceUpdate]:
    """Check rows with the ``ic-balance-v1`` layout (written, then read back); a row with a
    problem keeps it in ``problem`` (it is journaled rejected, never sent)."""
    from console.files.layouts import load_layout
    from console.files.reader import read_bytes
    from console.files.writer import write_delimited

    if not updates:
        return updates
    layout = load_layout(LAYOUT)
    good = [i for i, u in enumerate(updates) if not u.problem]
    text = write_delimited([updates[i].file_row() for i in good], layout)
    result = read_bytes(text.encode("utf-8"), layout, name="balance updates")
    problems: dict[int, list[str]] = {}
    for p in result.errors:
        if p.line is not None and 2 <= p.line < 2 + len(good):
            problems.setdefault(good[p.line - 2], []).append(f"{p.column}: {p.message} [{p.rule}]")
    out = list(updates)
    for i, msgs in problems.items():
        u = out[i]
        out[i] = BalanceUpdate(**{**u.__dict__, "problem": "; ".join(msgs), "problem_code": "invalid"})
    return out


def write_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder (fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _entry(u: BalanceUpdate) -> NewEntry:
    payload = u.payload()
    problems = card_data_problems(payload)
    if problems:  # never let a Caselle text that looks like a card number into the journal
        for fld in {p.split(":", 1)[0] for p in problems}:
            payload[fld] = "(withheld: looks like card data)"
        return NewEntry(u.key, BALANCE, payload, state=REJECTED, outcome="invalid",
                        detail="a field looks like card data: " + "; ".join(problems))
    if u.problem:
        return NewEntry(u.key, BALANCE, payload, state=REJECTED, outcome=u.problem_code or "invalid", detail=u.problem)
    return NewEntry(u.key, BALANCE, payload)


def _history(e: Entry) -> HistoryRow:
    p = e.payload
    return HistoryRow(key=e.key, adjustment_id=str(p.get("adjustment_id", "")), account=str(p.get("account", "")),
                      adjusted_at=str(p.get("adjusted_at", "")), amount=_dec(p.get("amount")),
                      balance_due=_dec(p.get("balance_due")), reason=str(p.get("reason", "")), state=e.state,
                      outcome=e.outcome, remote_ref=e.remote_ref, detail=e.detail, attempts=e.attempts,
                      updated_at=e.updated_at)


def _detail(caselle, account: str):
    try:
        return caselle.customer_detail(account, usage_months=0)
    except TypeError:  # a port without the usage argument
        return caselle.customer_detail(account)


def _resolve(obj, attr: str, method: str):
    value = getattr(obj, attr)
    if value is None:
        raise UserFacingError(f"Account sync has no {attr.strip('_')} connection configured")
    if callable(value) and not hasattr(value, method):
        value = value()
        setattr(obj, attr, value)
    return value


def _check(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("account sync cancelled")


def _dec(v: Any) -> Decimal:
    if isinstance(v, Decimal):
        return v.quantize(Decimal("0.01"))
    if v in (None, ""):
        return ZERO
    return Decimal(str(v)).quantize(Decimal("0.01"))


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(ts: dt.datetime | None) -> dt.datetime:
    if ts is None:
        return _utcnow()
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def _iso(ts: dt.datetime) -> str:
    return _aware(ts).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> dt.datetime:
    if not text:
        return _utcnow()
    return _aware(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


def build_account_sync_service(services) -> AccountSyncService:
    """The service for a profile (composition root): Caselle, Invoice Cloud and the transfer lazily."""
    from console.adapters.invoicecloud import client_from_services

    return AccountSyncService(services.journal, lambda: services.caselle, lambda: client_from_services(services),
                              services.profile, services.audit, transfer=lambda: services.transfer,
                              outbox_dir=services.paths.data_dir / "outbox" / "balances")
