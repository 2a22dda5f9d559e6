"""One daily close: every channel of a day side by side, the expected bank deposit, the variances.

GUI-free; the Day Close view and ``biller-console day show|close`` read it. For a date:

- every drawer close-out of the day (and the drawers still open);
- the counter's payments by tender (posted, voided), from the journal;
- Invoice Cloud files imported that day: posted, rejected, voided, ACH rejects reversed — the
  reconciliation service's report (:func:`console.services.reconciliation.build_report`);
- lockbox files sent (audit ``lockbox.send`` / ``lockbox.handed_over``) and account-sync
  balance updates finished that day (journal ``ic_balance``);
- Caselle's own batch totals of the date, against what the console posted into each batch;
- the expected bank deposit per bank account: counter cash (counted, less floats) and checks;
  Invoice Cloud's settlement (card and ACH posted, counter cards, net of voids and rejects);
- each variance by tender and channel, with the journal keys / sessions behind it.

``close_day`` seals the figures in the audit log (a supervisor: ``day_close``); it is refused
while a drawer of the day is open. The one-page summary is a PDF (fpdf2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from console.adapters.journal import DONE
from console.domain.money import format_money, money
from console.domain.wording import counted
from console.errors import UserFacingError
from console.services import reconciliation as recon
from console.services.cash_pdf import Section, SimpleDoc
from console.services.drawer import ZERO, CloseOut, require_role
from console.services.drawer_reports import deposit_slip
from console.services.reversals import refunds_on, returned_checks_on

DAY_CLOSE = "day.close"
COUNTER_TENDERS = ("CASH", "CHECK", "CARD")


class DayCloseRefused(UserFacingError):
    """The day cannot be sealed (a drawer still open, already sealed, not permitted)."""


@dataclass(frozen=True)
class Variance:
    channel: str  # Counter | Invoice Cloud | Caselle
    tender: str
    amount: Decimal
    explanation: str
    entries: tuple[str, ...] = ()  # journal keys or drawer sessions behind it


@dataclass(frozen=True)
class BatchLine:
    batch_id: str
    status: str
    caselle_total: Decimal
    console_total: Decimal  # what this console posted into it (files + counter), net of voids

    @property
    def difference(self) -> Decimal:
        return self.caselle_total - self.console_total


@dataclass
class DayCloseReport:
    day: dt.date
    closeouts: list[CloseOut]
    open_drawers: list[Any]
    counter: dict[str, dict[str, Decimal]]  # tender -> {"taken", "voided", "net"}
    counter_count: dict[str, int]
    ic: recon.ReconciliationReport
    lockbox_sent: list[dict[str, str]]
    account_sync: dict[str, int]  # journal state -> count of balance updates finished that day
    batches: list[BatchLine]
    deposits: dict[str, dict[str, Decimal]]  # bank account -> {"counter_cash", "counter_checks", "ic_settlement"}
    variances: list[Variance]
    caselle_note: str = ""
    sealed: dict[str, Any] = field(default_factory=dict)  # the audit row of the close, once sealed
    returned_checks: list = field(default_factory=list)  # counter checks returned (reversed) that day
    refunds: list = field(default_factory=list)  # counter card charges refunded that day (payload dicts)
    anchor: str = ""  # the audit anchor when the report was made ("Audit anchor: N entries, head …")

    @property
    def ic_settlement(self) -> Decimal:
        return sum((d["ic_settlement"] for d in self.deposits.values()), ZERO)

    @property
    def deposit_total(self) -> Decimal:
        return sum((sum(d.values(), ZERO) for d in self.deposits.values()), ZERO)

    def figures(self) -> dict[str, Any]:
        """Every figure as decimal strings (the JSON of ``day show`` and what the seal records)."""
        t = self.ic.total
        return {
            "date": self.day.isoformat(),
            "drawers": [{"session": c.session_id, "operator": c.operator, "status": c.status,
                         "expected": {k: str(v) for k, v in c.expected.items()},
                         "counted": {k: str(v) for k, v in c.counted.items()},
                         "over_short": {k: str(v) for k, v in c.over_short.items()}, "reason": c.reason}
                        for c in self.closeouts],
            "open_drawers": [s.session_id for s in self.open_drawers],
            "counter": {k: {m: str(v) for m, v in d.items()} for k, d in self.counter.items()},
            "invoice_cloud": {m: {"count": t.counts[m], "amount": str(t.amounts[m])} for m in recon.METRICS},
            "lockbox_sent": self.lockbox_sent,
            "account_sync": dict(self.account_sync),
            "caselle_batches": [{"batch": b.batch_id, "status": b.status, "caselle": str(b.caselle_total),
                                 "console": str(b.console_total), "difference": str(b.difference)}
                                for b in self.batches],
            "returned_checks": [{"receipt": r.receipt_number, "check_number": r.check_number, "account": r.account,
                                 "amount": str(r.amount), "return_code": r.return_code} for r in self.returned_checks],
            "refunds": [{"receipt": r["receipt_number"], "transaction_id": r["transaction_id"], "account": r["account"],
                         "amount": r["amount"], "refund_id": r["refund_id"]} for r in self.refunds],
            "expected_deposit": {a: {k: str(v) for k, v in d.items()} for a, d in self.deposits.items()},
            "expected_deposit_total": str(self.deposit_total),
            "variances": [{"channel": v.channel, "tender": v.tender, "amount": str(v.amount),
                           "explanation": v.explanation, "entries": list(v.entries)} for v in self.variances],
            "caselle_note": self.caselle_note,
        }


class DayCloseService:
    def __init__(self, *, journal, audit, drawers, counter, profile, operators, caselle=None, anchor=None):
        self._anchor = anchor  # the audit anchor's one line, printed on the summary
        self.journal = journal
        self.audit = audit
        self.drawers = drawers
        self.counter = counter
        self.profile = profile
        self.operators = operators
        self._caselle = caselle

    @property
    def caselle(self):
        if callable(self._caselle) and not hasattr(self._caselle, "list_batches"):
            self._caselle = self._caselle()
        return self._caselle

    # ================================================================== the report
    def report(self, day: dt.date, viewer: str | None = None) -> DayCloseReport:
        if viewer is not None:
            require_role(self.profile, self.operators, viewer, "view_day_close")
        ic = recon.build_report(self.journal, day=day, title=f"Invoice Cloud files imported {day:%m/%d/%Y}")
        counter, counter_count, counter_batches = self._counter(day)
        batches, note = self._batches(day, ic, counter_batches)
        slip = deposit_slip(self.drawers, self.counter, day)
        rep = DayCloseReport(day, self.drawers.closeouts(day), self.drawers.open_on(day), counter, counter_count,
                             ic, self._lockbox(day), self._account_sync(day), batches, {}, [], note,
                             self.sealed(day), returned_checks_on(self.journal, day), refunds_on(self.journal, day))
        rep.deposits = self._deposits(rep, slip)
        rep.variances = self._variances(rep)
        rep.anchor = self._anchor() if self._anchor is not None else ""
        return rep

    def _counter(self, day: dt.date):
        totals = {t: {"taken": ZERO, "voided": ZERO, "net": ZERO} for t in COUNTER_TENDERS}
        counts = dict.fromkeys(COUNTER_TENDERS, 0)
        per_batch: dict[str, Decimal] = {}
        for p in self.counter.todays_payments(day):
            if p.state not in ("posted", "queued", "review", "voided", "void_pending", "receipt_voided"):
                continue
            d = totals[p.tender]
            d["taken"] += p.amount
            counts[p.tender] += 1
            voided = p.state in ("voided", "void_pending")
            if voided:
                d["voided"] += p.amount
            d["net"] = d["taken"] - d["voided"]
            batch = self._batch_of(p)
            if batch and p.state == "posted":
                per_batch[batch] = per_batch.get(batch, ZERO) + p.amount
        return totals, counts, per_batch

    def _batch_of(self, payment) -> str:
        key = payment.transaction_id if payment.tender == "CARD" else payment.key
        e = self.journal.get(key) if key else None
        return str(e.payload.get("batch_id", "")) if e is not None and e.state == DONE else ""

    def _batches(self, day: dt.date, ic, counter_batches: dict[str, Decimal]):
        try:
            listed = [b for b in self.caselle.list_batches(day, day)] if self.caselle is not None else []
        except Exception as exc:  # noqa: BLE001 - Caselle's side is missing, never fatal
            return [], f"Caselle's batch totals could not be read: {exc}"
        out = []
        for b in listed:
            t = ic.by_batch.get(b.batch_id)
            files = (t.amounts["posted"] - t.amounts["voided"]) if t is not None else ZERO
            out.append(BatchLine(b.batch_id, str(b.status), money(b.total),
                                 money(files + counter_batches.get(b.batch_id, ZERO))))
        return out, ""

    def _lockbox(self, day: dt.date) -> list[dict[str, str]]:
        since = dt.datetime.combine(day - dt.timedelta(days=1), dt.time()).isoformat()
        rows = []
        for action in ("lockbox.send", "lockbox.handed_over"):
            for r in self.audit.rows(action=action, since=since):
                if _local_day(r.at) == day:
                    rows.append({"file": r.subject, "how": action.split(".")[1], "items": str(r.details.get("items", "")),
                                 "total": str(r.details.get("total", "")), "at": r.at})
        return rows

    def _account_sync(self, day: dt.date) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.journal.entries(kinds=["ic_balance"]):
            if _local_day(e.updated_at) == day:
                out[e.state] = out.get(e.state, 0) + 1
        return out

    def _deposits(self, rep: DayCloseReport, slip) -> dict[str, dict[str, Decimal]]:
        p = self.profile
        out: dict[str, dict[str, Decimal]] = {}

        def add(account: str, what: str, amount: Decimal) -> None:
            row = out.setdefault(account or "General fund", {"counter_cash": ZERO, "counter_checks": ZERO,
                                                             "returned_checks": ZERO, "ic_settlement": ZERO})
            row[what] += amount

        add(slip.cash_account, "counter_cash", slip.cash_total)
        add(slip.check_account, "counter_checks", slip.checks_total)
        add(slip.check_account, "returned_checks", -sum((r.amount for r in rep.returned_checks), ZERO))
        ic = rep.ic
        posted = sum((t.amounts["posted"] - t.amounts["voided"] for k, t in ic.by_tender.items()
                      if k not in ("CASH", "CHECK")), ZERO)
        refunded = sum((Decimal(r["amount"]) for r in rep.refunds), ZERO)
        settlement = posted - ic.total.amounts["reversed"] + rep.counter["CARD"]["net"] - refunded
        add(str(p.get("cash_ic_bank_account") or "General fund"), "ic_settlement", money(settlement))
        return out

    def _variances(self, rep: DayCloseReport) -> list[Variance]:
        out = []
        for c in rep.closeouts:
            for tender, amount in c.over_short.items():
                if amount:
                    out.append(Variance("Counter", tender, amount,
                                        f"drawer of {c.operator} {c.status}: {c.reason or 'no reason given'}",
                                        (c.session_id,)))
        for s in rep.open_drawers:
            out.append(Variance("Counter", "cash", ZERO, f"drawer of {s.operator} is still open: its cash and "
                                                         "checks are not in this deposit", (s.session_id,)))
        for r in rep.returned_checks:
            out.append(Variance("Counter", "checks", -r.amount,
                                f"check {r.check_number} (receipt {r.receipt_number}, account {r.account}) returned "
                                f"{r.return_code}: reversed in Caselle" + (f", NSF fee {r.nsf_fee}" if r.nsf_fee else ""),
                                (r.key,)))
        for r in rep.refunds:
            out.append(Variance("Counter", "card", -Decimal(r["amount"]),
                                f"card charge {r['transaction_id']} (receipt {r['receipt_number']}, account "
                                f"{r['account']}) refunded after settlement: {r.get('reason', '')}", (r["key"],)))
        for x in rep.ic.exceptions:
            out.append(Variance("Invoice Cloud", "—", x.amount, f"{x.state} {x.outcome}: {x.detail}".strip(),
                                (x.key,)))
        if rep.ic.total.amounts["reversed"]:
            out.append(Variance("Invoice Cloud", "ACH", -rep.ic.total.amounts["reversed"],
                                f"{rep.ic.total.counts['reversed']} ACH rejects reversed: not in the settlement"))
        for b in rep.batches:
            if b.difference:
                out.append(Variance("Caselle", "—", b.difference,
                                    f"batch {b.batch_id} holds {format_money(b.difference)} more than this console "
                                    "posted into it (other sources: lockbox, by hand, files of another day)",
                                    (b.batch_id,)))
        return out

    # ================================================================== sealing
    def sealed(self, day: dt.date) -> dict[str, Any]:
        since = dt.datetime.combine(day, dt.time()).isoformat()
        rows = [r for r in self.audit.rows(action=DAY_CLOSE, since=since) if r.subject == day.isoformat()]
        if not rows:
            return {}
        r = rows[-1]
        return {"seq": r.seq, "hash": r.hash, "operator": r.operator, "at": r.at}

    def close_day(self, operator: str, day: dt.date) -> DayCloseReport:
        require_role(self.profile, self.operators, operator, "day_close")
        rep = self.report(day)
        if rep.sealed:
            raise DayCloseRefused(f"{day:%m/%d/%Y} was closed by {rep.sealed['operator']} at {rep.sealed['at'][:16]}")
        if rep.open_drawers:
            who = ", ".join(sorted({s.operator for s in rep.open_drawers}))
            raise DayCloseRefused(f"{counted(len(rep.open_drawers), 'drawer')} still open ({who}): close "
                                  f"{'it' if len(rep.open_drawers) == 1 else 'them'} first")
        row = self.audit.record(operator, DAY_CLOSE, day.isoformat(), **rep.figures())
        rep.sealed = {"seq": row.seq, "hash": row.hash, "operator": operator, "at": row.at}
        return rep


def _local_day(iso: str) -> dt.date:
    when = dt.datetime.fromisoformat(iso)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone().date()


def summary_document(rep: DayCloseReport, *, training: bool = False) -> SimpleDoc:
    """The one-page summary of a day's close."""
    header = [f"Day close for {rep.day:%m/%d/%Y}",
              (f"Sealed by {rep.sealed['operator']} at {rep.sealed['at'][:16]} (audit row {rep.sealed['seq']}, "
               f"hash {rep.sealed['hash'][:16]})") if rep.sealed else "NOT SEALED"]
    if rep.anchor:
        header.append(rep.anchor)
    drawers = Section("Drawer close-outs", ["Session", "Cashier", "Cash exp.", "Cash counted", "Checks exp.",
                                            "Checks counted", "Status"],
                      [[c.session_id, c.operator, format_money(c.expected["cash"]), format_money(c.counted["cash"]),
                        format_money(c.expected["checks"]), format_money(c.counted["checks"]), c.status]
                       for c in rep.closeouts], widths=[2.2, 1, 1, 1, 1, 1, 0.8], align_right_from=2)
    channels = Section("Channels", ["Channel", "Count", "Amount"], _channel_rows(rep), widths=[3, 1, 1.2])
    deposits = Section("Expected bank deposit", ["Bank account", "Counter cash", "Counter checks",
                                                 "Returned checks", "Invoice Cloud", "Total"],
                       [[a, format_money(d["counter_cash"]), format_money(d["counter_checks"]),
                         format_money(d["returned_checks"]), format_money(d["ic_settlement"]),
                         format_money(sum(d.values(), ZERO))]
                        for a, d in rep.deposits.items()])
    variances = Section("Variances", ["Channel", "Tender", "Amount", "Explanation"],
                        [[v.channel, v.tender, format_money(v.amount), v.explanation] for v in rep.variances[:25]],
                        widths=[1, 0.7, 1, 4], align_right_from=2)
    if not rep.variances:
        variances.lines.append("none: every channel reconciles")
    return SimpleDoc("Day close", header, [drawers, channels, deposits, variances],
                     signatures=["Supervisor"], training=training)


def _channel_rows(rep: DayCloseReport) -> list[list[str]]:
    rows = []
    for tender in COUNTER_TENDERS:
        d = rep.counter[tender]
        rows.append([f"Counter {tender.lower()} (net of voids {format_money(d['voided'])})",
                     str(rep.counter_count[tender]), format_money(d["net"])])
    t = rep.ic.total
    for metric in ("posted", "rejected", "pending", "voided", "reversed", "lockbox"):
        rows.append([f"Invoice Cloud files: {recon.METRIC_LABELS[metric].lower()}", str(t.counts[metric]),
                     format_money(t.amounts[metric])])
    rows.append(["Lockbox files sent", str(len(rep.lockbox_sent)),
                 format_money(sum((Decimal(x["total"] or "0") for x in rep.lockbox_sent), ZERO))])
    rows.append(["Account-sync balance updates", str(sum(rep.account_sync.values())), "-"])
    for b in rep.batches:
        rows.append([f"Caselle batch {b.batch_id} ({b.status.lower()})", "-", format_money(b.caselle_total)])
    return rows


def build_day_close_service(services) -> DayCloseService:
    return DayCloseService(journal=services.journal, audit=services.audit, drawers=services.drawers,
                           counter=services.counter, profile=services.profile, operators=services.operators,
                           caselle=lambda: services.caselle, anchor=getattr(services, "audit_anchor", None))
