"""The printed counter receipt: one painter routine for the printer and for PDF.

``paint_receipt`` lays out a :class:`ReceiptDocument` (masked card only) in a page rectangle;
``save_receipt_pdf`` writes it with ``QPdfWriter``; ``print_receipt`` shows the print dialog.
A TRAINING receipt (the sandbox profile) carries a large diagonal TRAINING mark and a banner.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QWidget

from console.domain.money import format_money
from console.services.counter import ReceiptDocument


def paint_receipt(p: QPainter, page: QRectF, doc: ReceiptDocument) -> None:
    """Draw ``doc`` into ``page`` (device units); works at any resolution."""
    unit = min(page.width() / 46.0, page.height() / 62.0)  # one "em" of the layout; the whole receipt fits
    y = page.top()

    def font(size: float, bold: bool = False) -> QFont:
        f = QFont("Helvetica")
        f.setPixelSize(max(6, int(size * unit)))
        f.setBold(bold)
        return f

    def line(text: str, size: float = 1.6, bold: bool = False, align=Qt.AlignmentFlag.AlignLeft,
             color: str = "#111827") -> None:
        nonlocal y
        p.setFont(font(size, bold))
        p.setPen(QColor(color))
        h = size * unit * 1.6
        p.drawText(QRectF(page.left(), y, page.width(), h), int(align | Qt.AlignmentFlag.AlignVCenter), text)
        y += h

    if doc.training:
        p.save()
        p.setPen(QColor(220, 38, 38, 60))
        p.setFont(font(9, True))
        p.translate(page.center())
        p.rotate(-30)
        p.drawText(QRectF(-page.width(), -6 * unit, 2 * page.width(), 12 * unit), Qt.AlignmentFlag.AlignCenter,
                   "TRAINING")
        p.restore()
        line("TRAINING — NOT A REAL PAYMENT", 1.5, True, Qt.AlignmentFlag.AlignHCenter, "#b91c1c")
    line("PAYMENT RECEIPT", 2.6, True, Qt.AlignmentFlag.AlignHCenter)
    if doc.biller:
        line(doc.biller, 1.5, False, Qt.AlignmentFlag.AlignHCenter, "#4b5563")
    y += unit
    line(format_money(doc.amount), 4.2, True, Qt.AlignmentFlag.AlignHCenter)
    line(doc.status, 1.6, True, Qt.AlignmentFlag.AlignHCenter, "#b91c1c" if doc.status == "VOIDED" else "#15803d")
    y += unit
    p.setPen(QPen(QColor("#9ca3af"), max(1.0, unit * 0.08)))
    p.drawLine(int(page.left()), int(y), int(page.right()), int(y))
    y += unit
    label_w = page.width() * 0.34
    for label, value in doc.lines():
        p.setFont(font(1.5))
        p.setPen(QColor("#4b5563"))
        h = 1.5 * unit * 1.7
        p.drawText(QRectF(page.left(), y, label_w, h), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                   label)
        p.setFont(font(1.5, True))
        p.setPen(QColor("#111827"))
        p.drawText(QRectF(page.left() + label_w, y, page.width() - label_w, h),
                   int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), value)
        y += h
    y += unit
    p.drawLine(int(page.left()), int(y), int(page.right()), int(y))
    y += unit
    thanks = "Card payment approved." if doc.tender == "CARD" else "Payment received."
    line(f"{thanks} Keep this receipt for your records.", 1.3, False, Qt.AlignmentFlag.AlignHCenter, "#4b5563")
    if doc.virtual_site:
        line(f"Pay online: {doc.virtual_site}", 1.3, True, Qt.AlignmentFlag.AlignHCenter, "#1e3a8a")
    if doc.training:
        line("TRAINING", 2.0, True, Qt.AlignmentFlag.AlignHCenter, "#b91c1c")


def _page_rect(device, layout: QPageLayout | None = None) -> QRectF:
    r = QRectF(0, 0, device.width(), device.height())
    width = min(r.width(), r.height() * 0.75)  # keep a receipt-like column on a letter page
    return QRectF(r.left() + (r.width() - width) / 2, r.top(), width, r.height())


def save_receipt_pdf(doc: ReceiptDocument, path: Path) -> Path:
    """Write the receipt as a one-page PDF (written to ``path.part`` then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    writer = QPdfWriter(str(tmp))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.Letter))
    writer.setPageMargins(QMarginsF(18, 18, 18, 18), QPageLayout.Unit.Millimeter)
    writer.setResolution(300)
    writer.setTitle(f"Receipt {doc.receipt_number or doc.transaction_id}")
    writer.setCreator("Biller Console")
    painter = QPainter(writer)
    try:
        paint_receipt(painter, _page_rect(writer), doc)
    finally:
        painter.end()
    tmp.replace(path)
    return path


def print_receipt(parent: QWidget | None, doc: ReceiptDocument) -> bool:
    """Show the print dialog and print the receipt; False when the cashier cancelled."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setDocName(f"Receipt {doc.receipt_number or doc.transaction_id}")
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print receipt")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    painter = QPainter(printer)
    try:
        paint_receipt(painter, _page_rect(printer), doc)
    finally:
        painter.end()
    return True


class ReceiptPreview(QWidget):
    """The receipt on screen, drawn by the same routine as the printout."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.doc: ReceiptDocument | None = None
        self.setMinimumSize(220, 240)  # it scales; 360 made the console taller than a 700- or 800-px screen
        self.setAccessibleName("Receipt preview")

    def set_document(self, doc: ReceiptDocument | None) -> None:
        self.doc = doc
        self.setAccessibleDescription("" if doc is None else
                                      f"Receipt {doc.receipt_number}, {format_money(doc.amount)}, {doc.status}")
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#f3f4f6"))
        if self.doc is not None:
            area = QRectF(self.rect()).adjusted(8, 8, -8, -8)
            width = min(area.width(), area.height() * 0.8)  # a receipt-shaped paper, centred
            paper = QRectF(area.left() + (area.width() - width) / 2, area.top(), width, area.height())
            p.fillRect(paper, QColor("white"))
            p.setPen(QColor("#d1d5db"))
            p.drawRect(paper)
            paint_receipt(p, paper.adjusted(14, 14, -14, -14), self.doc)
        p.end()
