"""Small table PDFs (fpdf2) for the cash day: the drawer close-out, the deposit slip, the day close.

A :class:`SimpleDoc` is a title, a few header lines and sections, each a table (headers and
rows of text) or lines of text; :func:`write_pdf` lays it out on Letter paper, the same
core font and latin-1 rules as the reconciliation report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Section:
    title: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    widths: list[float] | None = None  # relative widths; equal when None
    align_right_from: int = 1  # columns from this index on are right-aligned (figures)


@dataclass
class SimpleDoc:
    title: str
    header: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    training: bool = False

    def text(self) -> str:
        """The document as plain text (what the PDF says; also what tests compare)."""
        out = [self.title] + list(self.header)
        for s in self.sections:
            out.append(s.title)
            if s.headers:
                out.append(" | ".join(s.headers))
            out += [" | ".join(r) for r in s.rows] + list(s.lines)
        return "\n".join(out)


def latin(text: str) -> str:
    return (text.replace("—", "-").replace("–", "-").replace("…", "...")
            .encode("latin-1", "replace").decode("latin-1"))


def write_pdf(doc: SimpleDoc, path: Path, *, landscape: bool = False) -> Path:
    from fpdf import FPDF

    pdf = FPDF(orientation="L" if landscape else "P", unit="mm", format="Letter")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, latin(doc.title + ("   [TRAINING]" if doc.training else "")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for line in doc.header:
        pdf.cell(0, 5, latin(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for s in doc.sections:
        _section(pdf, s)
    if doc.signatures:
        pdf.ln(6)
        pdf.set_font("Helvetica", "", 9)
        for who in doc.signatures:
            pdf.cell(0, 8, latin(f"{who}: ______________________________   Date: ____________"),
                     new_x="LMARGIN", new_y="NEXT")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _section(pdf, s: Section) -> None:
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 7, latin(s.title), new_x="LMARGIN", new_y="NEXT")
    if s.headers:
        rel = s.widths or [1.0] * len(s.headers)
        widths = [pdf.epw * w / sum(rel) for w in rel]
        pdf.set_font("Helvetica", "B", 8)
        for w, h in zip(widths, s.headers, strict=True):
            pdf.cell(w, 6, latin(h), border=1, align="C")
        pdf.ln()
        pdf.set_font("Helvetica", "", 8)
        for row in s.rows:
            for i, (w, text) in enumerate(zip(widths, row, strict=True)):
                text = latin(text)
                while len(text) > 3 and pdf.get_string_width(text) > w - 2:
                    text = text[:-2] + "."
                pdf.cell(w, 5.5, text, border=1, align="R" if i >= s.align_right_from else "L")
            pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for line in s.lines:
        pdf.multi_cell(0, 4.5, latin(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
