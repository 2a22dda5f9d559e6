"""Check an invoice export (Caselle's "Invoice Cloud Export") before it is sent to Invoice Cloud.

    check = check_invoices(path)                   # layout "ic-invoice-v1" by default
    check.ok, check.records, check.total_amount_due, check.summary, check.errors, check.warnings

Reading and every rule come from the layout (console.files); this module adds what a clerk
looks at before sending: totals per invoice type, accounts with several invoices, credit
balances, bill/due date ranges. Sending is the transfer service's job (it takes the checked
file's fingerprint).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress, count, repeat
from operator import is_, lt
from pathlib import Path

from console.errors import Problem
from console.files.layouts import Layout, load_layout
from console.files.reader import ReadResult, RecordList, read_bytes, read_file

DEFAULT_LAYOUT = "ic-invoice-v1"
ZERO = Decimal("0.00")
LIST_LIMIT = 500  # accounts / credit balances listed in a summary (all are counted)

# Column names the summary uses (every invoice layout has them).
ACCOUNT, INVOICE, TYPE, TOTAL = "AccountNumber", "InvoiceNumber", "InvoiceType", "TotalAmountDue"


@dataclass(frozen=True)
class TypeTotal:
    invoice_type: int | None
    count: int
    total: Decimal


@dataclass(frozen=True)
class RepeatedAccount:
    account: str
    count: int
    lines: tuple[int, ...]


@dataclass(frozen=True)
class CreditBalance:
    line: int
    account: str
    invoice: str
    amount: Decimal


@dataclass
class InvoiceSummary:
    by_type: list[TypeTotal] = field(default_factory=list)
    accounts_with_several: list[RepeatedAccount] = field(default_factory=list)
    accounts_with_several_count: int = 0
    credit_balances: list[CreditBalance] = field(default_factory=list)
    credit_balance_count: int = 0
    credit_balance_total: Decimal = ZERO
    bill_dates: tuple[dt.date, dt.date] | None = None
    due_dates: tuple[dt.date, dt.date] | None = None

    def as_dict(self) -> dict:
        return {
            "by_type": [{"invoice_type": t.invoice_type, "count": t.count, "total": str(t.total)} for t in self.by_type],
            "accounts_with_several_invoices": {
                "count": self.accounts_with_several_count,
                "accounts": [{"account": a.account, "count": a.count, "lines": list(a.lines)}
                             for a in self.accounts_with_several],
            },
            "credit_balances": {
                "count": self.credit_balance_count,
                "total": str(self.credit_balance_total),
                "invoices": [{"line": c.line, "account": c.account, "invoice": c.invoice, "amount": str(c.amount)}
                             for c in self.credit_balances],
            },
            "bill_dates": [d.isoformat() for d in self.bill_dates] if self.bill_dates else None,
            "due_dates": [d.isoformat() for d in self.due_dates] if self.due_dates else None,
        }


@dataclass
class InvoiceCheck:
    """The outcome of checking an invoice file."""

    path: Path
    result: ReadResult
    total_amount_due: Decimal
    summary: InvoiceSummary

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def records(self) -> RecordList:
        return self.result.records

    @property
    def record_count(self) -> int:
        return len(self.result)

    @property
    def errors(self) -> list[Problem]:
        return self.result.errors

    @property
    def warnings(self) -> list[Problem]:
        return self.result.warnings

    @property
    def fingerprint(self) -> str:
        return self.result.fingerprint

    @property
    def layout(self) -> Layout:
        return self.result.layout

    def as_dict(self) -> dict:
        """The CLI's JSON: amounts as strings, problems as {line, column, rule, message}."""
        r = self.result
        return {
            "file": str(self.path),
            "layout": r.layout.name,
            "records": len(r),
            "total_amount_due": str(self.total_amount_due),
            "valid": r.ok,
            "encoding": r.encoding,
            "fingerprint": r.fingerprint,
            "trailer": {"count": r.trailer[0], "total": str(r.trailer[1])} if r.trailer else None,
            "errors": [p.as_dict() for p in r.errors],
            "warnings": [p.as_dict() for p in r.warnings],
            "summary": self.summary.as_dict(),
        }


# Documents a clerk may pick by mistake (a bill PDF, a spreadsheet), told apart by their first
# bytes: one clear "this is a PDF" instead of a missing-column error for every column.
DOCUMENT_SIGNATURES = ((b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a spreadsheet or other zipped document"),
                       (b"\xd0\xcf\x11\xe0", "an Excel or Word document"), (b"{\\rtf", "a Word (RTF) document"))


def not_a_text_export(path: str | Path) -> str | None:
    """Why ``path`` is a document rather than the export's text file, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None  # the reader says why it cannot be read
    for signature, kind in DOCUMENT_SIGNATURES:
        if head.startswith(signature):
            return (f"the file is {kind}, not the invoice export; in Caselle run the \u201cInvoice Cloud "
                    "Export\u201d report and open the text file it writes")
    return None


def check_invoices(path: str | Path, layout_name: str = DEFAULT_LAYOUT, progress=None, cancel=None, *,
                   today: dt.date | None = None) -> InvoiceCheck:
    """Read and check an invoice file. Raises UnreadableFileError (not a readable file, or a
    document such as a PDF), LayoutError (no such layout) or Cancelled; bad content is reported
    on the result."""
    from console.files.reader import UnreadableFileError

    layout = load_layout(layout_name)
    reason = not_a_text_export(path)
    if reason:
        raise UnreadableFileError(str(path), reason)
    result = read_file(path, layout, progress=progress, cancel=cancel, today=today, pack_text=True,
                       pack_amounts=True)
    total = _total(result)
    return InvoiceCheck(Path(path), result, total, summarize(result, total=total))


PREVIEW_BYTES = 256 * 1024


def preview_invoices(path: str | Path, layout_name: str = DEFAULT_LAYOUT, *, max_bytes: int = PREVIEW_BYTES,
                     today: dt.date | None = None) -> ReadResult | None:
    """The first rows of a file, read fast so a screen can show them while the whole file is
    checked. Only the records matter (problems and totals come from ``check_invoices``); None
    when the file cannot be previewed (it may still be checked: the check says why)."""
    from console.files.reader import UnreadableFileError

    if not_a_text_export(path):
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(max_bytes + 1)
    except OSError:
        return None
    truncated = len(head) > max_bytes
    if truncated:
        cut = head.rfind(b"\n", 0, max_bytes)
        if cut <= 0:
            return None
        head = head[:cut + 1]
    try:
        result = read_bytes(head, load_layout(layout_name), name=str(path), today=today, pack_text=True,
                            pack_amounts=True)
    except (UnreadableFileError, ValueError):
        return None
    if truncated and len(result.lines) > 1:
        # the last row may be a multi-line cell cut in two: leave it to the full check
        result.lines.pop()
        for col in result.columns.values():
            col.pop()
        result.facts = {}  # they describe the rows read, the dropped one included
    return result


def _col(result: ReadResult, name: str) -> list:
    try:
        return result.column(name)
    except KeyError:
        return [None] * len(result)


def _present(values: list) -> list:
    """The values that are not None (the list itself when none is None; identity test only)."""
    if any(map(is_, values, repeat(None))):
        return [v for v in values if v is not None]
    return values


def _total(result: ReadResult) -> Decimal:
    try:
        return result.total(TOTAL)  # the reader already added it up for the trailer
    except KeyError:
        return ZERO


def summarize(result: ReadResult, *, total: Decimal | None = None) -> InvoiceSummary:
    """Totals per invoice type, accounts with several invoices, credit balances, date ranges.
    Written over whole columns (C-speed passes), and what the reader already learnt (a column
    without repeats or negatives, the few distinct values of a column) saves those passes."""
    s = InvoiceSummary()
    types, totals = _col(result, TYPE), _col(result, TOTAL)
    accounts, invoices = _col(result, ACCOUNT), _col(result, INVOICE)
    lines = result.lines
    facts = result.facts
    cents = getattr(totals, "cents", None)  # packed amounts: add and compare the integers
    numbers, zero = (totals, ZERO) if cents is None else (cents, 0)
    type_values = _known_values(result, TYPE)
    if type_values is not None and len(type_values) == 1 and not any(map(is_, types, repeat(None))):
        by_type_count: Counter = Counter({next(iter(type_values)): len(types)})
    else:
        by_type_count = Counter(types)
    if len(by_type_count) == 1:
        (only,) = by_type_count
        by_type_total = {only: total if total is not None else sum(_present(totals), ZERO)}
    else:
        by_type_total = defaultdict(lambda: zero)
        for t, amount in zip(types, numbers, strict=True):
            if amount is not None:
                by_type_total[t] += amount
        if cents is not None:
            by_type_total = {t: Decimal(c).scaleb(-2) for t, c in by_type_total.items()}
    s.by_type = [TypeTotal(t, n, by_type_total.get(t, ZERO).quantize(ZERO))
                 for t, n in sorted(by_type_count.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))]
    if ACCOUNT in facts.get("no_repeats", ()) or len(set(accounts)) == len(accounts):
        several = {}
    else:
        counts = Counter(accounts)
        several = {a: n for a, n in counts.items() if n > 1 and a}
    if several:
        where: dict[str, list[int]] = defaultdict(list)
        for i in compress(count(), map(several.__contains__, accounts)):
            where[accounts[i]].append(lines[i])
        s.accounts_with_several_count = len(several)
        s.accounts_with_several = [RepeatedAccount(a, several[a], tuple(where[a]))
                                   for a in sorted(several, key=lambda a: where[a][0])][:LIST_LIMIT]
    if TOTAL in facts.get("never_negative", ()):
        negative = []
    elif any(map(is_, numbers, repeat(None))):
        negative = [i for i, v in enumerate(numbers) if v is not None and v < zero]
    else:
        negative = list(compress(count(), map(lt, numbers, repeat(zero))))
    s.credit_balance_count = len(negative)
    s.credit_balance_total = sum((totals[i] for i in negative), ZERO).quantize(ZERO)
    s.credit_balances = [CreditBalance(lines[i], accounts[i] or "", invoices[i] or "", totals[i])
                         for i in negative[:LIST_LIMIT]]
    s.bill_dates = _range(_col(result, "BillDate"), _known_values(result, "BillDate"))
    s.due_dates = _range(_col(result, "DueDate"), _known_values(result, "DueDate"))
    return s


def _known_values(result: ReadResult, name: str) -> set | None:
    """The values a column holds, present ones only, when the reader knows them exactly: its
    distinct values (a superset holding None and the default) for a column without default."""
    distinct = result.facts.get("distinct", {}).get(name)
    if distinct is None:
        return None
    try:
        if result.layout.column(name).default is not None:
            return None
    except KeyError:
        return None
    return {v for v in distinct if v is not None}


def _range(values: list, known: set | None = None) -> tuple | None:
    if known is not None:
        return (min(known), max(known)) if known else None
    present = _present(values)
    return (min(present), max(present)) if present else None
