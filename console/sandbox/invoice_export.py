"""A realistic ``ic-invoice-v1`` file for the demo customers, as Caselle's "Invoice Cloud Export"
report would write it — so the Invoice Import tab has something real to open and send.

One line per demo customer's latest bill (balance forward): ``PreviousBalance`` is what was
carried into this bill (last bill's balance less payments, plus adjustments), so
``TotalAmountDue = PreviousBalance + CurrentCharges`` exactly; credit balances appear as
negative totals (a warning, as in real exports). The BIF-customization columns (AutoPayDate,
NotifyDate1-3, BillExpires: layout version 2) are filled from the profile's rules
(:class:`console.domain.bif.BifRules`). ``BillImage`` follows the bill-image naming
(``{account}_{invoice}.pdf``), matching the sandbox bill batch. Written through the layouts
helper's :func:`~console.files.writer.write_delimited` from the layout file, with the
trailer; UTF-8 (names such as "José Núñez" stay intact), CRLF.

Dated by ``as_of`` (default: the day the console runs): every bill is from the week before and
due about three weeks after it (:mod:`console.sandbox.seed`), so the file opens without a
"due date in the past" warning on any day; the same day always gives the same file.

``biller-console sandbox --export-invoices FILE [--count N]`` writes it.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from console.config import sandbox_profile
from console.domain.bif import BifRules
from console.files.layouts import Layout, load_layout
from console.files.writer import write_delimited
from console.sandbox import seed as demo

LAYOUT = "ic-invoice-v1"
UTILITY_INVOICE_TYPE = 42
BILL_IMAGE_NAMING = "{account}_{invoice}.pdf"
_ZERO = Decimal("0.00")


def invoice_row(c: demo.DemoCustomer) -> dict[str, Any]:
    """One invoice line (typed values, the layout's column names) for a demo customer."""
    carried = (c.previous_balance - c.payments_received + c.adjustments_total).quantize(_ZERO)
    total = (carried + c.current_charges).quantize(_ZERO)
    minimum = min(max(c.minimum_due, _ZERO), total) if total > 0 else _ZERO
    return {
        "AccountNumber": c.account_number,
        "InvoiceNumber": c.invoice_number,
        "InvoiceType": UTILITY_INVOICE_TYPE,
        "CustomerName": c.name,
        "ServiceAddress": c.service_address,
        "MailAddress1": c.mail_address1,
        "MailAddress2": c.mail_address2,
        "MailCity": c.mail_city,
        "MailState": c.mail_state,
        "MailZip": c.mail_zip,
        "Email": c.email or None,
        "Phone": c.phone or None,
        "BillDate": c.bill_date,
        "DueDate": c.due_date,
        "PreviousBalance": carried,
        "CurrentCharges": c.current_charges,
        "TotalAmountDue": total,
        "MinimumAmountDue": minimum,
        "AllowPartialPayments": c.partial_payments_allowed,
        "Paperless": c.paperless,
        "AutoPay": c.autopay,
        "BillImage": BILL_IMAGE_NAMING.format(account=c.account_number, invoice=c.invoice_number),
    }


def invoice_rows(count: int = demo.DEFAULT_COUNT, seed: int = demo.DEFAULT_SEED,
                 as_of: dt.date | None = None, *, rules: BifRules | None = None) -> list[dict[str, Any]]:
    """The rows, with the BIF-customization columns filled from ``rules`` (default: the sandbox
    profile's: AutoPay drafted 3 days before the due date, notices 10 and 3 days before)."""
    rules = rules or BifRules.from_profile(sandbox_profile())
    return [rules.fill(invoice_row(c)) for c in demo.demo_customers(count, seed, as_of)]


def invoice_export_text(count: int = demo.DEFAULT_COUNT, seed: int = demo.DEFAULT_SEED,
                        as_of: dt.date | None = None, *, layout: Layout | None = None,
                        rules: BifRules | None = None) -> str:
    return write_delimited(invoice_rows(count, seed, as_of, rules=rules), layout or load_layout(LAYOUT), trailer=True)


def write_invoice_export(path: Path, count: int = demo.DEFAULT_COUNT, seed: int = demo.DEFAULT_SEED,
                         as_of: dt.date | None = None, *, rules: BifRules | None = None) -> dict[str, Any]:
    """Write the export atomically; returns a summary (records, total due as a string, path,
    the day it is dated for). ``rules``: the profile's BIF rules (:mod:`console.domain.bif`)."""
    as_of = as_of or demo.demo_today()
    rows = invoice_rows(count, seed, as_of, rules=rules)
    text = write_delimited(rows, load_layout(LAYOUT), trailer=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)
    total = sum((r["TotalAmountDue"] for r in rows), _ZERO)
    return {"path": str(path), "records": len(rows), "total_amount_due": f"{total:.2f}", "layout": LAYOUT,
            "as_of": as_of.isoformat()}
