"""Printing the cash day's documents (close-out, deposit slip, day summary) through the Qt print
dialog: the same :class:`~console.services.cash_pdf.SimpleDoc` the PDF is written from, as HTML."""

from __future__ import annotations

import html

from PySide6.QtGui import QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QWidget

from console.services.cash_pdf import SimpleDoc


def doc_html(doc: SimpleDoc) -> str:
    e = html.escape
    parts = [f"<h2>{e(doc.title)}{' [TRAINING]' if doc.training else ''}</h2>"]
    parts += [f"<div>{e(line)}</div>" for line in doc.header]
    for s in doc.sections:
        parts.append(f"<h3>{e(s.title)}</h3>")
        if s.headers:
            parts.append("<table border='1' cellspacing='0' cellpadding='3' width='100%'><tr>"
                         + "".join(f"<th>{e(h)}</th>" for h in s.headers) + "</tr>")
            for row in s.rows:
                parts.append("<tr>" + "".join(
                    f"<td align='{'right' if i >= s.align_right_from else 'left'}'>{e(c)}</td>"
                    for i, c in enumerate(row)) + "</tr>")
            parts.append("</table>")
        parts += [f"<div>{e(line)}</div>" for line in s.lines]
    parts += [f"<p>{e(who)}: ______________________________ Date: ____________</p>" for who in doc.signatures]
    return "\n".join(parts)


def print_doc(parent: QWidget | None, doc: SimpleDoc) -> bool:
    """The print dialog, then the document; False when the operator cancelled."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setDocName(doc.title)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(f"Print — {doc.title}")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    text = QTextDocument()
    text.setHtml(doc_html(doc))
    text.print_(printer)
    return True
