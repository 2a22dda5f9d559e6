"""Small PDFs with known layouts for the bill-image tests (fpdf2 + pypdfium2 edits)."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
from fpdf import FPDF

from console.bills.template import BillTemplate

# The region the test template reads: a box near the top-left of a letter page.
REGION = (50.0, 40.0, 300.0, 70.0)
TEMPLATE = BillTemplate(region=REGION, pattern=r"Acct:\s*(?P<account>[A-Z0-9-]+)")


def make_pdf(path: Path, pages: list[str | None], *, body: bool = True) -> Path:
    """One letter page per entry: a string is written inside REGION (``"Acct: X"`` to match),
    ``None`` gives a page with only a drawing (no text layer)."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_auto_page_break(False)
    for i, content in enumerate(pages, 1):
        pdf.add_page()
        if content is None:
            pdf.set_fill_color(120, 120, 120)
            pdf.rect(50, 100, 300, 200, style="F")  # a "scanned" page: graphics, no text
            continue
        pdf.set_font("Helvetica", "", 12)
        pdf.text(60, 60, content)  # baseline at 60pt: inside REGION
        if body:
            # text outside the region that would match the pattern if the region were ignored
            pdf.text(60, 400, f"Acct: OUTSIDE{i}")
            pdf.text(60, 420, f"PAGE-MARK-{i}")
    pdf.output(str(path))
    return path


def rotate_pages(src: Path, dest: Path, rotations: dict[int, int]) -> Path:
    """Copy ``src`` setting /Rotate on 1-based pages."""
    doc = pdfium.PdfDocument(str(src))
    for number, degrees in rotations.items():
        doc[number - 1].set_rotation(degrees)
    doc.save(str(dest))
    doc.close()
    return dest


def page_marks(path: Path) -> list[str]:
    """The PAGE-MARK-n text of every page of a PDF (which source page it is)."""
    doc = pdfium.PdfDocument(str(path))
    out = []
    for page in doc:
        text = page.get_textpage().get_text_range()
        mark = next((w for w in text.split() if w.startswith("PAGE-MARK-")), "")
        out.append(mark)
    doc.close()
    return out
