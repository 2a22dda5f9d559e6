"""What the Bill Images tab lists: one row per bill with its invoice, file name and status
through index → split → send. Pure data, no Qt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from console.bills.indexer import BatchIndex
from console.bills.send import SendReport
from console.bills.split import DEFAULT_NAMING, InvoiceRef, SplitResult, cross_check, plan_split

STATUS_TEXT = {
    "ok": "Ready",
    "no-invoice": "No invoice",
    "duplicate": "Duplicate – held",
    "name-clash": "Name clash – held",
}


@dataclass(frozen=True)
class BillRow:
    account: str
    pages: tuple[int, ...]
    invoice: str
    file_name: str
    plan_status: str  # ok | no-invoice | duplicate | name-clash
    message: str = ""
    written: bool = False
    sent: str = ""  # "" or a send outcome status
    send_message: str = ""
    delivery: str = ""  # "" | delivered | awaiting pickup | missing (after a delivery check)

    @property
    def first_page(self) -> int:
        return self.pages[0]

    @property
    def pages_text(self) -> str:
        return str(self.pages[0]) if len(self.pages) == 1 else f"{self.pages[0]}–{self.pages[-1]}"

    @property
    def needs_attention(self) -> bool:
        return self.plan_status != "ok" or self.sent in ("failed",) or self.delivery == "missing"

    @property
    def status_text(self) -> str:
        if self.sent:
            text = {"sent": "Sent", "already sent": "Already sent", "failed": "Send failed",
                    "not sent": "Not sent"}.get(self.sent, self.sent)
            return f"{text} – {self.delivery}" if self.delivery else text
        base = STATUS_TEXT.get(self.plan_status, self.plan_status)
        if self.written and self.plan_status in ("ok", "no-invoice"):
            return "Written" if self.plan_status == "ok" else "Written – no invoice"
        return base

    @property
    def detail(self) -> str:
        return self.send_message or self.message

    def matches(self, needle: str) -> bool:
        """Search: part of the account, invoice, file name or status, or a page number."""
        needle = needle.strip().lower()
        if not needle:
            return True
        if needle.isdigit() and int(needle) in self.pages:
            return True
        return any(needle in s.lower() for s in (self.account, self.invoice, self.file_name, self.status_text))


def rows_for(index: BatchIndex, invoices: Iterable[InvoiceRef] | None = None,
             naming: str = DEFAULT_NAMING) -> list[BillRow]:
    plan = plan_split(index, invoices, naming)
    return [BillRow(f.account, f.pages, f.invoice or "", f.file_name, f.status, f.message) for f in plan]


def mark_written(rows: list[BillRow], written_names: set[str]) -> list[BillRow]:
    return [replace(r, written=r.file_name in written_names and r.plan_status in ("ok", "no-invoice"))
            for r in rows]


def mark_sent(rows: list[BillRow], report: SendReport) -> list[BillRow]:
    by_name = {o.file_name: o for o in report.outcomes}
    out = []
    for r in rows:
        o = by_name.get(r.file_name) if r.plan_status == "ok" else None
        out.append(replace(r, sent=o.status, send_message=o.message) if o else r)
    return out


def mark_delivery(rows: list[BillRow], delivery: dict[str, str]) -> list[BillRow]:
    return [replace(r, delivery=delivery[r.file_name]) if r.file_name in delivery and r.sent else r for r in rows]


@dataclass(frozen=True)
class Problem:
    """One entry of the tab's "Needs a look" list; ``page`` (1-based) when it has one to show."""

    text: str
    page: int | None = None


def problems_for(index: BatchIndex, invoices: Iterable[InvoiceRef] | None = None,
                 report: SendReport | None = None, delivery: dict[str, str] | None = None) -> list[Problem]:
    out = [Problem(i.message[:1].upper() + i.message[1:], i.page) for i in index.issues]
    for d in index.duplicates:
        starts = ", ".join(str(o[0]) for o in d.occurrences)
        out.append(Problem(f"Account {d.account} starts bills on pages {starts}: held back", d.occurrences[0][0]))
    if invoices is not None:
        check = cross_check(index, invoices)
        for r in check.invoices_without_image:
            out.append(Problem(f"Invoice {r.invoice} (account {r.account}) has no bill image in this batch"))
        for acc in check.images_without_invoice:
            first = next((b.first_page for b in index.bills if b.account == acc), None)
            out.append(Problem(f"Bill for account {acc} has no invoice in the invoice file", first))
    if report is not None:
        out.extend(Problem(f"{o.file_name}: not sent – {o.message}") for o in report.outcomes if o.status == "failed")
    for name, where in sorted((delivery or {}).items()):
        if where == "missing":
            out.append(Problem(f"{name}: sent, but no longer on the server and no .snt receipt"))
    return out


def summary_for(index: BatchIndex, invoices: Iterable[InvoiceRef] | None = None,
                split: SplitResult | None = None, report: SendReport | None = None) -> str:
    """One line: pages, bills and what needs a look, then what was written and sent."""
    parts = [f"{index.path.name}: {_n(index.pages, 'page')}, {_n(len(index.bills), 'bill')}"]
    if index.unmatched_pages:
        parts.append(_n(len(index.unmatched_pages), "unmatched page"))
    if index.duplicates:
        parts.append(_n(len(index.duplicates), "duplicate account"))
    if invoices is not None:
        check = cross_check(index, invoices)
        if check.invoices_without_image:
            parts.append(_n(len(check.invoices_without_image), "invoice") + " without a bill")
        if check.images_without_invoice:
            parts.append(_n(len(check.images_without_invoice), "bill") + " without an invoice")
    if split is not None:
        parts.append(f"{len(split.written)} written")
    if report is not None:
        parts.append(report.summary)
    return " · ".join(parts)


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"
