"""Opening bill PDFs with pypdfium2, with errors a clerk can act on.

PDFium is not thread-safe. Inside one process every pypdfium2 call of this package runs
under :data:`PDFIUM_LOCK` (pdfplumber also uses pypdfium2, so template authoring takes it
too); parallel work uses processes (see ``console.bills.indexer``).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pypdfium2 as pdfium

from console.errors import UserFacingError

PDFIUM_LOCK = threading.RLock()

_PDFIUM_ERRORS = {
    2: "the file cannot be opened",
    3: "it is not a PDF or it is damaged",
    4: "it is protected by a password",
    5: "its security handler is not supported",
    6: "a page is damaged",
}


_PDFIUM_HINTS = {
    4: "print or export the batch again without a password",
    5: "print or export the batch again without a password",
}


class BadPdfError(UserFacingError):
    """A bill PDF that cannot be read: names the file and what is wrong with it."""

    def __init__(self, path: Path | str, problem: str, *, hint: str | None = None):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"Cannot read bill PDF {self.path.name}: {problem}.", hint=hint)


def check_pdf_file(path: Path | str) -> Path:
    """Cheap checks before PDFium sees the file: exists, not empty, a PDF, not cut short.

    PDFium quietly repairs many damaged files, dropping what it cannot find; for a bill batch
    that would silently lose bills, so a file without its end-of-file marker is refused.
    """
    path = Path(path)
    if not path.exists():
        raise BadPdfError(path, "the file does not exist")
    if path.is_dir():
        raise BadPdfError(path, "it is a folder, not a file")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, size - 2048))
            tail = fh.read()
    except OSError as exc:
        raise BadPdfError(path, f"the file cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise BadPdfError(path, "the file is empty", hint="was it copied completely?")
    if b"%PDF-" not in head:
        raise BadPdfError(path, "it is not a PDF file (no %PDF header)",
                          hint="choose the bill batch PDF printed from the billing system")
    if b"%%EOF" not in tail:
        raise BadPdfError(path, "the file is truncated (its end-of-file marker is missing)",
                          hint="copy or print the batch again")
    return path


def open_document(path: Path | str, password: str | None = None) -> pdfium.PdfDocument:
    """Open a PDF for reading; raises :class:`BadPdfError` with the file name and the problem."""
    path = check_pdf_file(path)
    try:
        return pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        problem = _PDFIUM_ERRORS.get(code, f"PDFium could not load it ({exc})")
        raise BadPdfError(path, problem, hint=_PDFIUM_HINTS.get(code, "print the batch to PDF again")) from None
    except OSError as exc:
        raise BadPdfError(path, f"the file cannot be read ({exc.strerror or exc})") from None
