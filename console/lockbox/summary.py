"""The summary sheet a clerk prints for the manual import into Caselle.

Totals per GL account, batch totals, item count, file name and SHA-256 fingerprint — as text
(CLI, clipboard, e-mail body) and as a one-or-more-page PDF (fpdf2, core fonts only).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from console.domain.money import format_money
from console.lockbox.format import LockboxFile


@dataclass(frozen=True)
class GlTotal:
    gl_account: str
    items: int
    total: Decimal


@dataclass(frozen=True)
class Summary:
    file_name: str
    fingerprint: str
    layout: str
    destination: str
    lockbox_number: int | None
    created: datetime | None
    items: int
    total: Decimal
    batches: list[tuple[int, str, int, Decimal]]  # number, deposit date, items, total
    gl_totals: list[GlTotal]
    prepared_by: str = ""
    status: str = ""
    training: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "file": self.file_name, "fingerprint": self.fingerprint, "layout": self.layout,
            "destination": self.destination, "lockbox_number": self.lockbox_number,
            "created": self.created.isoformat(timespec="minutes") if self.created else None,
            "items": self.items, "total": str(self.total),
            "batches": [{"batch": n, "deposit_date": d, "items": c, "total": str(t)} for n, d, c, t in self.batches],
            "gl_totals": [{"gl_account": g.gl_account, "items": g.items, "total": str(g.total)}
                          for g in self.gl_totals],
            "prepared_by": self.prepared_by, "status": self.status, "training": self.training,
        }


def gl_totals(file: LockboxFile) -> list[GlTotal]:
    acc: dict[str, list] = {}
    for it in file.items:
        slot = acc.setdefault(it.gl_account, [0, Decimal("0.00")])
        slot[0] += 1
        slot[1] += it.amount
    return [GlTotal(gl, n, t) for gl, (n, t) in sorted(acc.items())]


def summarize(file: LockboxFile, file_name: str, *, prepared_by: str = "", status: str = "",
              training: bool = False, notes: list[str] | None = None) -> Summary:
    lockbox_number = next((b.lockbox_number for b in file.batches if b.lockbox_number is not None), None)
    return Summary(
        file_name=file_name, fingerprint=file.fingerprint, layout=file.layout, destination=file.destination,
        lockbox_number=lockbox_number, created=file.created, items=len(file.items), total=file.total,
        batches=[(b.number, b.deposit_date.strftime("%m/%d/%Y") if b.deposit_date else "", b.item_count, b.total)
                 for b in file.batches],
        gl_totals=gl_totals(file), prepared_by=prepared_by, status=status, training=training,
        notes=list(notes or []),
    )


def _money(d: Decimal) -> str:
    return format_money(d)


def summary_lines(s: Summary) -> list[str]:
    """The sheet as fixed-width text lines (monospace)."""
    out = []
    if s.training:
        out.append("*** TRAINING (sandbox) — not for import into a live Caselle ***")
    out += [
        "CloudStore lockbox — summary for the Caselle import",
        "",
        f"File name    : {s.file_name}",
        f"SHA-256      : {s.fingerprint}",
        f"Layout       : {s.layout}",
        f"Destination  : {s.destination}" + (f"    Lockbox number: {s.lockbox_number:07d}"
                                              if s.lockbox_number is not None else ""),
        f"Created      : {s.created.strftime('%m/%d/%Y %H:%M') if s.created else '-'}"
        + (f"    Prepared by: {s.prepared_by}" if s.prepared_by else ""),
    ]
    if s.status:
        out.append(f"Status       : {s.status}")
    out += [
        f"Items        : {s.items:,}    Batches: {len(s.batches)}    File total: {_money(s.total)}",
        "",
        "Totals per GL account",
        f"  {'GL account':<20} {'Items':>7} {'Amount':>18}",
    ]
    out += [f"  {g.gl_account:<20} {g.items:>7,} {_money(g.total):>18}" for g in s.gl_totals]
    out += [
        f"  {'Total':<20} {sum(g.items for g in s.gl_totals):>7,} {_money(sum((g.total for g in s.gl_totals), Decimal('0.00'))):>18}",
        "",
        "Batch totals",
        f"  {'Batch':>5}  {'Deposit date':<12} {'Items':>7} {'Amount':>18}",
    ]
    out += [f"  {n:>5}  {d:<12} {c:>7,} {_money(t):>18}" for n, d, c, t in s.batches]
    out += [f"  {'Total':>5}  {'':<12} {s.items:>7,} {_money(s.total):>18}"]
    if s.notes:
        out += ["", "Notes"] + [f"  - {n}" for n in s.notes]
    out += [
        "",
        "Before importing, check that Caselle's import totals match the batch totals above.",
        "",
        "Imported by: ____________________   Date: ____________   Caselle batch: ____________",
    ]
    return out


def summary_text(s: Summary) -> str:
    return "\n".join(summary_lines(s)) + "\n"


def write_summary_pdf(s: Summary, path: Path) -> Path:
    """Write the sheet as a PDF (atomically) and return its path."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="Letter")
    pdf.set_title(f"Lockbox summary {s.file_name}")
    pdf.set_author(s.prepared_by or "Biller Console")
    pdf.set_creator("Biller Console")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, _latin1("CloudStore lockbox - summary for the Caselle import"), new_x="LMARGIN", new_y="NEXT")
    if s.training:
        pdf.set_text_color(180, 0, 0)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, "TRAINING (sandbox) - not for import into a live Caselle", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 10)
    facts = [
        ("File name", s.file_name), ("SHA-256", s.fingerprint), ("Layout", s.layout),
        ("Destination", s.destination),
        ("Lockbox number", f"{s.lockbox_number:07d}" if s.lockbox_number is not None else "-"),
        ("Created", s.created.strftime("%m/%d/%Y %H:%M") if s.created else "-"),
        ("Prepared by", s.prepared_by or "-"),
    ]
    if s.status:
        facts.append(("Status", s.status))
    facts += [("Items", f"{s.items:,}"), ("Batches", str(len(s.batches))), ("File total", _money(s.total))]
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(34, 6, _latin1(label))
        pdf.set_font("Courier" if label == "SHA-256" else "Helvetica", "", 9 if label == "SHA-256" else 10)
        pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _table(pdf, "Totals per GL account", ("GL account", "Items", "Amount"), (70, 30, 50),
           [(g.gl_account, f"{g.items:,}", _money(g.total)) for g in s.gl_totals],
           ("Total", f"{sum(g.items for g in s.gl_totals):,}",
            _money(sum((g.total for g in s.gl_totals), Decimal("0.00")))))
    pdf.ln(4)
    _table(pdf, "Batch totals", ("Batch", "Deposit date", "Items", "Amount"), (25, 45, 30, 50),
           [(str(n), d, f"{c:,}", _money(t)) for n, d, c, t in s.batches],
           ("Total", "", f"{s.items:,}", _money(s.total)))
    if s.notes:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, "Notes", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for n in s.notes:
            pdf.multi_cell(0, 5, _latin1(f"- {n}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, "Before importing, check that Caselle's import totals match the batch totals above.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.cell(0, 6, "Imported by: ______________________   Date: ____________   Caselle batch: ____________",
             new_x="LMARGIN", new_y="NEXT")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pdf.output(str(tmp))
    os.replace(tmp, path)
    return path


def _table(pdf, title: str, headers: tuple[str, ...], widths: tuple[int, ...], rows: list[tuple[str, ...]],
           total: tuple[str, ...]) -> None:
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(230, 230, 230)
    for i, (h, w) in enumerate(zip(headers, widths, strict=True)):
        pdf.cell(w, 6, h, border=1, align="L" if i == 0 else "R", fill=True)
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for row in rows:
        for i, (v, w) in enumerate(zip(row, widths, strict=True)):
            pdf.cell(w, 6, _latin1(v), border=1, align="L" if i == 0 else "R")
        pdf.ln()
    pdf.set_font("Helvetica", "B", 10)
    for i, (v, w) in enumerate(zip(total, widths, strict=True)):
        pdf.cell(w, 6, _latin1(v), border=1, align="L" if i == 0 else "R")
    pdf.ln()


def _latin1(text: str) -> str:
    """Core PDF fonts are Latin-1: replace anything else."""
    return text.replace("—", "-").encode("latin-1", "replace").decode("latin-1")
