"""Split an indexed batch into one PDF per bill and cross-check it with the invoice file.

Naming (the profile's ``bills.naming``, default ``{account}_{invoice}.pdf``):
- with an invoice file loaded, a bill is named from its account's invoice; an invoice's
  ``BillImage`` column, when filled, is the name Invoice Cloud expects and wins;
- without an invoice file, ``{account}.pdf``.

Nothing is half-done: every file is written into a staging folder inside the output folder
and moved into place (``os.replace``, atomic per file) only when all bills were written. A
cancel or an error leaves the output folder as it was.

Held back (listed, not written): accounts found more than once in the batch (which copy is
right is unknown) and two bills that would get the same file name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium

from console.bills.indexer import BatchIndex
from console.bills.naming import (  # noqa: F401 - check_naming and windows_safe are used through this module too
    DEFAULT_NAMING,
    NO_INVOICE_NAMING,
    bill_file_name,
    check_naming,
    safe_file_name,
    windows_safe,
)
from console.bills.pdf import PDFIUM_LOCK, open_document
from console.errors import Cancelled, UserFacingError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvoiceRef:
    """What the split needs from one invoice of the invoice file."""

    account: str
    invoice: str
    bill_image: str = ""
    bill_date: str = ""  # sortable (ISO) so the latest invoice of an account can be picked
    line: int | None = None
    invoice_type: int | None = None  # 42 utility; CloudStore / AR types choose their own bill template


@dataclass(frozen=True)
class BillFile:
    account: str
    pages: tuple[int, ...]
    file_name: str
    invoice: str | None = None
    status: str = "ok"  # "ok" | "no-invoice" | "duplicate" | "name-clash"
    message: str = ""

    @property
    def held(self) -> bool:
        return self.status in ("duplicate", "name-clash")

    def as_dict(self) -> dict:
        return {"account": self.account, "pages": list(self.pages), "file": self.file_name,
                "invoice": self.invoice, "status": self.status, "message": self.message}


@dataclass
class CrossCheck:
    invoices_without_image: list[InvoiceRef] = field(default_factory=list)
    images_without_invoice: list[str] = field(default_factory=list)  # accounts
    several_invoices: dict[str, list[str]] = field(default_factory=dict)  # account -> invoices

    @property
    def clean(self) -> bool:
        return not self.invoices_without_image and not self.images_without_invoice

    def as_dict(self) -> dict:
        return {
            "invoices_without_image": [{"account": r.account, "invoice": r.invoice, "line": r.line}
                                       for r in self.invoices_without_image],
            "images_without_invoice": list(self.images_without_invoice),
            "several_invoices": dict(self.several_invoices),
        }


@dataclass
class SplitResult:
    out_dir: Path
    files: list[BillFile]  # planned bills in batch order, with status
    cross_check: CrossCheck | None = None

    @property
    def written(self) -> list[BillFile]:
        return [f for f in self.files if not f.held]

    @property
    def held(self) -> list[BillFile]:
        return [f for f in self.files if f.held]

    def path_of(self, bill: BillFile) -> Path:
        return self.out_dir / bill.file_name

    def as_dict(self) -> dict:
        return {
            "out_dir": str(self.out_dir),
            "written": [f.as_dict() for f in self.written],
            "held": [f.as_dict() for f in self.held],
            "cross_check": self.cross_check.as_dict() if self.cross_check else None,
        }


# ---- pure parts -------------------------------------------------------------------------------

def invoices_by_account(invoices: Iterable[InvoiceRef]) -> dict[str, list[InvoiceRef]]:
    out: dict[str, list[InvoiceRef]] = {}
    for inv in invoices:
        out.setdefault(inv.account.strip(), []).append(inv)
    return out


def _pick(refs: list[InvoiceRef]) -> InvoiceRef:
    """The invoice a bill image belongs to when an account has several: the latest bill date."""
    return max(enumerate(refs), key=lambda t: (t[1].bill_date, t[0]))[1]


def cross_check(index: BatchIndex, invoices: Iterable[InvoiceRef]) -> CrossCheck:
    by_account = invoices_by_account(invoices)
    accounts_with_image = {b.account for b in index.bills}
    result = CrossCheck()
    for account, refs in by_account.items():
        if account not in accounts_with_image:
            result.invoices_without_image.extend(refs)
        if len(refs) > 1:
            result.several_invoices[account] = [r.invoice for r in refs]
    seen: set[str] = set()
    for b in index.bills:
        if b.account not in by_account and b.account not in seen:
            result.images_without_invoice.append(b.account)
            seen.add(b.account)
    return result


def plan_split(index: BatchIndex, invoices: Iterable[InvoiceRef] | None = None,
               naming: str = DEFAULT_NAMING) -> list[BillFile]:
    """Decide a file name and a status for every bill of the batch (nothing is written)."""
    check_naming(naming)
    by_account = invoices_by_account(invoices) if invoices is not None else None
    dups = index.duplicate_accounts
    planned: list[BillFile] = []
    for bill in index.bills:
        invoice: str | None = None
        status, message = "ok", ""
        if by_account is None:
            name = bill_file_name(NO_INVOICE_NAMING, bill.account)
        elif bill.account in by_account:
            ref = _pick(by_account[bill.account])
            invoice = ref.invoice
            image = ref.bill_image.strip()
            if image and safe_file_name(image) == image and image.lower().endswith(".pdf"):
                name = image
            else:
                name = bill_file_name(naming, bill.account, invoice)
                if image:
                    message = f"BillImage {image!r} is not a plain .pdf file name; named {name}"
        else:
            name = bill_file_name(NO_INVOICE_NAMING, bill.account)
            status, message = "no-invoice", "no invoice for this account in the invoice file"
        if bill.account in dups:
            status = "duplicate"
            message = f"account {bill.account} starts {len(index.bill_for(bill.account))} bills in this batch"
        planned.append(BillFile(bill.account, bill.pages, name, invoice, status, message))

    clashes: dict[str, list[int]] = {}
    for i, f in enumerate(planned):
        if f.status != "duplicate":
            clashes.setdefault(f.file_name.lower(), []).append(i)
    for idxs in clashes.values():
        if len(idxs) > 1:
            accounts = ", ".join(planned[i].account for i in idxs)
            for i in idxs:
                f = planned[i]
                planned[i] = BillFile(f.account, f.pages, f.file_name, f.invoice, "name-clash",
                                      f"accounts {accounts} would all be named {f.file_name}")
    return planned


# ---- writing ----------------------------------------------------------------------------------

def split_batch(
    pdf_path: Path | str,
    index: BatchIndex,
    out_dir: Path | str,
    *,
    invoices: Iterable[InvoiceRef] | None = None,
    naming: str = DEFAULT_NAMING,
    progress: Callable[..., None] | None = None,
    cancel=None,
) -> SplitResult:
    """Write one PDF per bill into ``out_dir``; all or nothing (see the module doc)."""
    invoices = list(invoices) if invoices is not None else None
    planned = plan_split(index, invoices, naming)
    index.check_unchanged()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserFacingError(f"Cannot create the output folder {out_dir}: {exc.strerror or exc}") from None
    to_write = [f for f in planned if not f.held]
    total = len(to_write)
    staging = Path(tempfile.mkdtemp(prefix=".split-", dir=out_dir))
    try:
        with PDFIUM_LOCK:
            src = open_document(pdf_path)
            try:
                created = creation_stamp(src, Path(pdf_path))
                if len(src) != index.pages:
                    raise UserFacingError(f"{Path(pdf_path).name} has {len(src)} pages but was indexed with "
                                          f"{index.pages}; index it again")
                for n, bill in enumerate(to_write, 1):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("Split cancelled; nothing was written")
                    _write_bill(src, bill.pages, staging / bill.file_name, created)
                    if progress is not None:
                        progress(n, total, f"Wrote {bill.file_name}")
            finally:
                src.close()
        for bill in to_write:  # every file is complete: move them into place
            os.replace(staging / bill.file_name, out_dir / bill.file_name)
    except OSError as exc:
        raise UserFacingError(f"Cannot write bill PDFs into {out_dir}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    check = cross_check(index, invoices) if invoices is not None else None
    log.info("split %s into %s: %d written, %d held", Path(pdf_path).name, out_dir, len(to_write),
             len(planned) - len(to_write))
    return SplitResult(out_dir, planned, check)


_TRAILER_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]")


_CREATION_DATE = re.compile(rb"/CreationDate\s*\((D:[0-9+\-Z']+)\)")


def _write_bill(src: pdfium.PdfDocument, pages: tuple[int, ...], dest: Path, created: bytes) -> None:
    new = pdfium.PdfDocument.new()
    try:
        new.import_pages(src, [p - 1 for p in pages])
        buf = io.BytesIO()
        new.save(buf)
    finally:
        new.close()
    dest.write_bytes(reproducible(buf.getvalue(), created))


def creation_stamp(src: pdfium.PdfDocument, path: Path) -> bytes:
    """The batch's own creation date (else its file time), as PDFium writes dates."""
    raw = (src.get_metadata_dict().get("CreationDate") or "").strip()
    m = re.match(r"D:(\d{14})", raw)
    if m:
        return f"D:{m.group(1)}+00'00'".encode()
    when = dt.datetime.fromtimestamp(Path(path).stat().st_mtime, dt.UTC)
    return when.strftime("D:%Y%m%d%H%M%S+00'00'").encode()


def reproducible(data: bytes, created: bytes) -> bytes:
    """The same bill split twice must be the same file, byte for byte: the transfer journal
    knows a file by its SHA-256, so a re-split bill is then recognised as already sent.
    PDFium stamps every new file with the time of saving and a random trailer /ID; the date
    becomes the batch's and the /ID a digest of the content (same lengths: offsets stay valid)."""
    d = _CREATION_DATE.search(data)
    if d is not None and len(d.group(1)) == len(created):
        data = data[:d.start(1)] + created + data[d.end(1):]
    m = _TRAILER_ID.search(data, max(0, len(data) - 4096))
    if m is None:
        return data
    width = len(m.group(1))
    body = data[:m.start()] + data[m.end():]
    digest = hashlib.sha256(body).hexdigest().upper()[:width].ljust(width, "0").encode()
    return data[:m.start(1)] + digest + data[m.end(1):m.start(2)] + digest + data[m.end(2):]
