"""End-of-day reconciliation: what came in, what was posted, rejected, voided — by tender and batch.

Built from the journal (the console's own record of every effect), for the files imported on
one day (default: today, local time) or for chosen files. Counts and amounts:

- in file: every payment row (receipts, voids, CloudStore items) and every ACH reject;
- posted: receipts Caselle holds (posted now or found there on reconciliation);
- rejected: receipts Caselle refused, or that wait for review;
- pending: receipts not finished yet;
- voided: receipts voided (VOIDED rows, manual voids); void of a payment never posted (reported);
- reversed: ACH rejects applied; lockbox: CloudStore items queued for the lockbox.

Exports: CSV (one table, section column) and PDF (fpdf2).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from console.adapters.journal import DONE, IN_FLIGHT, NEEDS_REVIEW, PENDING, REJECTED, REPORTED, Entry
from console.domain.money import format_money

ZERO = Decimal("0.00")
METRICS = ("in_file", "posted", "rejected", "pending", "voided", "void_not_posted", "reversed", "lockbox")
METRIC_LABELS = {"in_file": "In file", "posted": "Posted", "rejected": "Rejected / review", "pending": "Pending",
                 "voided": "Voided", "void_not_posted": "Void, never posted", "reversed": "ACH reversed",
                 "lockbox": "To lockbox"}


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(METRICS, ZERO))

    def add(self, metric: str, amount: Decimal) -> None:
        self.counts[metric] += 1
        self.amounts[metric] += amount


@dataclass
class Exception_:
    key: str
    line: int | None
    file: str
    state: str
    outcome: str
    account: str
    amount: Decimal
    detail: str


@dataclass(frozen=True)
class CaselleBatch:
    """What Caselle says about a batch (all sources: counter, lockbox, files)."""

    batch_id: str
    status: str
    receipts: int  # not voided
    total: Decimal
    voided: int


@dataclass
class ReconciliationReport:
    title: str
    generated_at: dt.datetime
    files: list[str]
    total: Tally
    by_tender: dict[str, Tally]
    by_batch: dict[str, Tally]
    exceptions: list[Exception_]
    caselle_batches: dict[str, CaselleBatch] = field(default_factory=dict)
    caselle_note: str = ""  # why Caselle's side is missing, when it is

    def batch_difference(self, batch_id: str) -> Decimal | None:
        """Caselle's batch total minus what these files posted into it (other sources add to it)."""
        cb = self.caselle_batches.get(batch_id)
        t = self.by_batch.get(batch_id)
        if cb is None or t is None:
            return None
        return cb.total - (t.amounts["posted"] - t.amounts["voided"])


def add_caselle_batches(report: ReconciliationReport, caselle) -> ReconciliationReport:
    """Fetch Caselle's totals of the report's batches (``list_batches``); a failure is noted,
    never fatal: the journal's side of the report stands on its own."""
    ids = [b for b in report.by_batch if b and b != "—"]
    if not ids:
        return report
    try:
        batches = caselle.list_batches()
    except Exception as exc:  # noqa: BLE001 - any remote failure just leaves the column empty
        report.caselle_note = f"Caselle's batch totals could not be read: {exc}"
        return report
    wanted = set(ids)
    for b in batches:
        if b.batch_id in wanted:
            report.caselle_batches[b.batch_id] = CaselleBatch(b.batch_id, b.status, b.receipt_count, b.total,
                                                              b.voided_count)
    return report


def _amount(e: Entry) -> Decimal:
    try:
        return Decimal(str(e.payload.get("amount") or "0")).quantize(Decimal("0.01"))
    except ArithmeticError:
        return ZERO


def build_report(journal, *, day: dt.date | None = None, fingerprints: Sequence[str] | None = None,
                 title: str | None = None) -> ReconciliationReport:
    """The report for the files imported on ``day`` (local date; default today) or ``fingerprints``."""
    files = journal.files() if hasattr(journal, "files") else []
    if fingerprints is None:
        day = day or dt.date.today()
        chosen = [f for f in files if _local_day(f.imported_at) == day]
        title = title or f"Reconciliation — files imported {day:%m/%d/%Y}"
    else:
        wanted = set(fingerprints)
        chosen = [f for f in files if f.fingerprint in wanted]
        title = title or "Reconciliation — " + ", ".join(f.name for f in chosen)
    names = {f.fingerprint: f.name for f in chosen}
    entries: list[Entry] = []
    for f in chosen:
        entries.extend(journal.entries(fingerprint=f.fingerprint))
    return summarize(entries, names, title=title)


def summarize(entries: Iterable[Entry], file_names: dict[str, str] | None = None, *,
              title: str = "Reconciliation") -> ReconciliationReport:
    file_names = file_names or {}
    total = Tally()
    by_tender: dict[str, Tally] = {}
    by_batch: dict[str, Tally] = {}
    exceptions: list[Exception_] = []

    def bump(e: Entry, metric: str) -> None:
        amount = _amount(e)
        tender = str(e.payload.get("tender") or ("ACH" if e.kind == "ach_reject" else "—"))
        batch = str(e.payload.get("batch_id") or "—")
        total.add(metric, amount)
        by_tender.setdefault(tender, Tally()).add(metric, amount)
        by_batch.setdefault(batch, Tally()).add(metric, amount)

    for e in entries:
        if e.kind in ("receipt", "void", "lockbox_item", "ach_reject"):
            bump(e, "in_file")
        if e.kind == "receipt":
            if e.state == DONE:
                bump(e, "posted")
            elif e.state in (REJECTED, NEEDS_REVIEW):
                bump(e, "rejected")
            elif e.state in (PENDING, IN_FLIGHT):
                bump(e, "pending")
        elif e.kind in ("void", "manual_void"):
            if e.state == DONE:
                bump(e, "voided")
            elif e.state == REPORTED and e.outcome == "void_not_posted":
                bump(e, "void_not_posted")
        elif e.kind == "ach_reject" and e.state == DONE:
            bump(e, "reversed")
        elif e.kind == "lockbox_item":
            bump(e, "lockbox")
        if e.state in (REJECTED, NEEDS_REVIEW) or (e.state in (PENDING, IN_FLIGHT) and e.kind != "lockbox_item"):
            exceptions.append(Exception_(e.key, e.line, file_names.get(e.file_fingerprint, ""), e.state, e.outcome,
                                         str(e.payload.get("account", "")), _amount(e), e.detail[:200]))
    return ReconciliationReport(title, dt.datetime.now().replace(microsecond=0), sorted(set(file_names.values())),
                                total, dict(sorted(by_tender.items())), dict(sorted(by_batch.items())), exceptions)


def _local_day(iso_utc: str) -> dt.date:
    when = dt.datetime.fromisoformat(iso_utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone().date()


# --------------------------------------------------------------------------- exports
def to_csv(report: ReconciliationReport, path: Path | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Report", report.title])
    w.writerow(["Generated", report.generated_at.isoformat(sep=" ")])
    w.writerow(["Files", "; ".join(report.files)])
    w.writerow([])
    header = ["Section", "Group"]
    for m in METRICS:
        header += [f"{METRIC_LABELS[m]} count", f"{METRIC_LABELS[m]} amount"]
    w.writerow(header)

    def row(section: str, group: str, t: Tally) -> None:
        cells = [section, group]
        for m in METRICS:
            cells += [t.counts[m], f"{t.amounts[m]:.2f}"]
        w.writerow(cells)

    row("Total", "All", report.total)
    for k, t in report.by_tender.items():
        row("Tender", k, t)
    for k, t in report.by_batch.items():
        row("Batch", k, t)
    if report.caselle_batches or report.caselle_note:
        w.writerow([])
        w.writerow(["Caselle batches", "Batch", "Status", "Receipts", "Total", "Voided",
                    "Posted by these files (net of voids)", "Other sources"])
        for k, cb in sorted(report.caselle_batches.items()):
            t = report.by_batch[k]
            w.writerow(["", k, cb.status, cb.receipts, f"{cb.total:.2f}", cb.voided,
                        f"{t.amounts['posted'] - t.amounts['voided']:.2f}", f"{report.batch_difference(k):.2f}"])
        if report.caselle_note:
            w.writerow(["", report.caselle_note])
    if report.exceptions:
        w.writerow([])
        w.writerow(["Exceptions", "Key", "File", "Line", "State", "Outcome", "Account", "Amount", "Detail"])
        for x in report.exceptions:
            w.writerow(["", x.key, x.file, x.line or "", x.state, x.outcome, x.account, f"{x.amount:.2f}", x.detail])
    text = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(text.encode("utf-8"))
    return text


def _latin(text: str) -> str:
    return text.replace("—", "-").encode("latin-1", "replace").decode("latin-1")


def table_widths(page_width: float) -> list[float]:
    """Column widths (mm) of the PDF tables: a name column, then one per metric, together the page width."""
    first = 30.0
    return [first] + [(page_width - first) / len(METRICS)] * len(METRICS)


def to_pdf(report: ReconciliationReport, path: Path, *, training: bool = False) -> Path:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="Letter")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _latin(report.title + ("   [TRAINING]" if training else "")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, _latin(f"Generated {report.generated_at:%m/%d/%Y %H:%M}"), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, _latin("Files: " + ("; ".join(report.files) or "none")), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    widths = table_widths(pdf.epw)

    def fitted(text: str, width: float, style: str = "") -> str:
        # a cell never runs past its border (nor the page): smaller type for a long figure
        size = 7.0
        pdf.set_font("Helvetica", style, size)
        while size > 4.5 and pdf.get_string_width(text) > width - 2:
            size -= 0.5
            pdf.set_font("Helvetica", style, size)
        return text

    def table(title: str, rows: list[tuple[str, Tally]]) -> None:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 7, _latin(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "B", 7)
        pdf.cell(widths[0], 6, "", border=1)
        for i, m in enumerate(METRICS):
            pdf.cell(widths[i + 1], 6, fitted(_latin(METRIC_LABELS[m]), widths[i + 1], "B"), border=1, align="C")
        pdf.ln()
        for name, t in rows:
            pdf.cell(widths[0], 6, fitted(_latin(name[:22]), widths[0]), border=1)
            for i, m in enumerate(METRICS):
                text = f"{t.counts[m]}  {format_money(t.amounts[m])}" if t.counts[m] else "-"
                pdf.cell(widths[i + 1], 6, fitted(_latin(text), widths[i + 1]), border=1, align="R")
            pdf.ln()
        pdf.ln(2)

    table("Totals", [("All", report.total)])
    table("By tender", list(report.by_tender.items()))
    table("By batch", list(report.by_batch.items()))
    if report.caselle_batches or report.caselle_note:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 7, "Caselle batch totals (all sources)", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        for k, cb in sorted(report.caselle_batches.items()):
            diff = report.batch_difference(k)
            pdf.cell(0, 5, _latin(f"{k} ({cb.status.lower()}): {cb.receipts} receipts {format_money(cb.total)}; "
                                  f"from these files {format_money(cb.total - diff)}; other sources "
                                  f"{format_money(diff)}"), new_x="LMARGIN", new_y="NEXT")
        if report.caselle_note:
            pdf.multi_cell(0, 5, _latin(report.caselle_note), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    if report.exceptions:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 7, f"Exceptions ({len(report.exceptions)})", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 7)
        for x in report.exceptions[:500]:
            pdf.multi_cell(0, 4.5, _latin(f"{x.key}  line {x.line or '-'}  {x.state} {x.outcome}  {x.account}  "
                                          f"{format_money(x.amount)}  {x.detail}"), new_x="LMARGIN", new_y="NEXT")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


# --------------------------------------------------------------------------- one day, for every front end
def report_for_day(journal, caselle_factory, day: dt.date) -> ReconciliationReport:
    """The end-of-day report of ``day`` with Caselle's batch totals, as the Posting tab, the
    ``posting report`` command and the Day Close show it (``caselle_factory()`` may fail: the
    journal's side stands on its own)."""
    report = build_report(journal, day=day)
    try:
        caselle = caselle_factory()
    except Exception as exc:  # noqa: BLE001 - any failure only leaves Caselle's column empty
        report.caselle_note = f"Caselle's batch totals could not be read: {exc}"
        return report
    return add_caselle_batches(report, caselle)


def to_dict(report: ReconciliationReport) -> dict:
    """The report as JSON-ready data (amounts as strings with two decimals)."""
    def tally(t: Tally) -> dict:
        return {m: {"count": t.counts[m], "amount": f"{t.amounts[m]:.2f}"} for m in METRICS}

    return {"title": report.title, "generated_at": report.generated_at.isoformat(sep=" "), "files": report.files,
            "total": tally(report.total), "by_tender": {k: tally(t) for k, t in report.by_tender.items()},
            "by_batch": {k: tally(t) for k, t in report.by_batch.items()},
            "caselle_batches": {k: {"status": cb.status, "receipts": cb.receipts, "total": f"{cb.total:.2f}",
                                    "voided": cb.voided, "other_sources": f"{report.batch_difference(k):.2f}"}
                                for k, cb in sorted(report.caselle_batches.items())},
            "caselle_note": report.caselle_note or None,
            "exceptions": [{"key": x.key, "file": x.file, "line": x.line, "state": x.state, "outcome": x.outcome,
                            "account": x.account, "amount": f"{x.amount:.2f}", "detail": x.detail}
                           for x in report.exceptions]}
