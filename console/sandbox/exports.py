"""Deterministic Invoice Cloud data for the sandbox: payments, ACH rejects and change logs.

Generated from the demo customers (:mod:`console.sandbox.seed`): the same ``count``, ``seed``
and ``as_of`` always give the same rows, and a longer export starts with the rows of a
shorter one (row *i* depends only on the seed and *i*). ``as_of`` is the export's day, by
default the day the console runs (:func:`~console.sandbox.seed.demo_today`), so the rows are
always recent and never dated in the future. The Invoice Cloud stand-in serves them over
HTTP; ``biller-console sandbox --export-payments FILE`` writes them as files.

Dates, relative to ``as_of``: payments are made in the three days before it (an export is
taken of what was paid, never of what has not happened yet), a utility payment never before
the bill it pays (its invoice number), and settle the day after (at the latest on ``as_of``).

Payments (``ic-payments-v1``): about 62 % CARD and 38 % ACH utility payments (invoice type
42) against active demo customers; unless ``receipts_only``, about 5 % CloudStore items
(invoice types 801–805, which go to the lockbox) and about 2 % VOIDED rows (payments voided
in Invoice Cloud before they were ever sent: posting reports them, it never invents a
receipt to void). Rejects (``ic-ach-rejects-v1``) return about 4 % (at least one) of the ACH
payments of the payments export with the same ``seed`` and ``count``, 2–60 days later but
never after ``as_of`` (the sandbox's today: a return date is never in the future).
Changes (``ic-changes-v1``) touch AUTOPAY, PAPERLESS, PHONE and EMAIL, with some accounts
changed twice (the latest wins) and some changes that already hold (no-ops).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

from console.sandbox import seed as demo

CLOUDSTORE_TYPES = (801, 802, 803, 804, 805)
UTILITY_INVOICE_TYPE = 42
RETURN_CODES = (("R01", "Insufficient funds"), ("R02", "Account closed"), ("R03", "No account / unable to locate"),
                ("R04", "Invalid account number"), ("R07", "Authorization revoked by customer"),
                ("R08", "Payment stopped"), ("R10", "Customer advises not authorized"), ("R16", "Account frozen"))
CARD_FEE = Decimal("2.95")
_CENT = Decimal("0.01")


def _customers(customer_count: int = demo.DEFAULT_COUNT, as_of: dt.date | None = None) -> list[demo.DemoCustomer]:
    return [c for c in demo.demo_customers(customer_count, as_of=as_of) if c.status == "ACTIVE"]


def _row_rng(seed: int, kind: str, i: int) -> random.Random:
    return random.Random(f"{kind}:{seed}:{i}")


def payment_id(seed: int, i: int) -> str:
    return f"P{seed % 100000:05d}{i + 1:06d}"


def payments(count: int, seed: int = 1, *, as_of: dt.date | None = None, receipts_only: bool = False,
             customer_count: int = demo.DEFAULT_COUNT) -> list[dict]:
    """``count`` payment rows (typed values, the layout's column names)."""
    as_of = as_of or demo.demo_today()
    customers = _customers(customer_count, as_of)
    rows = []
    for i in range(count):
        rng = _row_rng(seed, "payment", i)
        c = customers[rng.randrange(len(customers))]
        tender = "CARD" if rng.random() < 0.62 else "ACH"
        cloudstore = not receipts_only and rng.random() < 0.05
        voided = not receipts_only and rng.random() < 0.02
        if cloudstore:
            inv_type = rng.choice(CLOUDSTORE_TYPES)
            invoice = f"CS{seed % 1000:03d}{i + 1:06d}"
            amount = Decimal(rng.randrange(500, 50000)) / 100
        else:
            inv_type = UTILITY_INVOICE_TYPE
            invoice = c.invoice_number
            if c.amount_due > 0 and rng.random() < 0.7:
                amount = c.amount_due
            else:
                amount = Decimal(rng.randrange(1000, 25000)) / 100
        day = as_of - dt.timedelta(days=1 + rng.randrange(0, 3))
        if not cloudstore:
            day = max(day, c.bill_date)  # a bill is paid once it is out (bills are dated before as_of)
        at = dt.datetime.combine(day, dt.time(7, 0)) + dt.timedelta(seconds=rng.randrange(0, 14 * 3600))
        rows.append({
            "PaymentId": payment_id(seed, i),
            "ConfirmationNumber": f"C{rng.randrange(10**11, 10**12)}",
            "AccountNumber": c.account_number,
            "InvoiceNumber": invoice,
            "InvoiceType": inv_type,
            "PayerName": c.name.upper()[:40],
            "Tender": tender,
            "CardLast4": f"{rng.randrange(0, 10000):04d}" if tender == "CARD" else "",
            "Amount": amount.quantize(_CENT),
            "ConvenienceFee": CARD_FEE if tender == "CARD" else Decimal("0.00"),
            "PaymentDate": at,
            "SettlementDate": day + dt.timedelta(days=1),
            "Status": "VOIDED" if voided else "APPROVED",
        })
    return rows


def rejects(count: int, seed: int = 1, *, as_of: dt.date | None = None,
            customer_count: int = demo.DEFAULT_COUNT) -> list[dict]:
    """ACH rejects for some ACH utility payments of ``payments(count, seed)``."""
    as_of = as_of or demo.demo_today()
    ach = [p for p in payments(count, seed, as_of=as_of, customer_count=customer_count)
           if p["Tender"] == "ACH" and p["Status"] == "APPROVED" and p["InvoiceType"] == UTILITY_INVOICE_TYPE]
    rows = []
    for i, p in enumerate(ach):
        rng = _row_rng(seed, "reject", i)
        if rng.random() >= 0.04 and not (i == len(ach) - 1 and not rows):
            continue
        code, reason = rng.choice(RETURN_CODES)
        late = rng.randrange(2, 61) if code in ("R05", "R07", "R10") else rng.randrange(2, 6)
        # a return has happened by the export's day: never dated after ``as_of`` (nor before the payment)
        paid = p["PaymentDate"].date()
        returned = max(paid, min(paid + dt.timedelta(days=late), as_of))
        rows.append({"PaymentId": p["PaymentId"], "AccountNumber": p["AccountNumber"], "Amount": p["Amount"],
                     "ReturnCode": code, "ReturnDate": returned, "Reason": reason})
    return rows


def changes(count: int, seed: int = 1, *, as_of: dt.date | None = None,
            customer_count: int = demo.DEFAULT_COUNT) -> list[dict]:
    """``count`` change-log rows against demo customers, from 06:00 on the day before ``as_of``,
    seven minutes apart (the first 154 rows fall on that day; a longer log runs on)."""
    as_of = as_of or demo.demo_today()
    customers = _customers(customer_count, as_of)
    rows = []
    recent: list[tuple[demo.DemoCustomer, str]] = []
    for i in range(count):
        rng = _row_rng(seed, "change", i)
        if recent and rng.random() < 0.15:
            c, fld = rng.choice(recent)  # a second change of the same field: the latest wins
        else:
            c = customers[rng.randrange(len(customers))]
            fld = rng.choice(("AUTOPAY", "PAPERLESS", "PHONE", "EMAIL"))
            if fld == "PAPERLESS" and not c.email:
                fld = "EMAIL"  # paperless needs an e-mail address: such customers first give one
        recent.append((c, fld))
        noop = rng.random() < 0.15
        if fld == "AUTOPAY":
            old = "ENROLLED" if c.autopay else "UNENROLLED"
            new = old if noop else ("UNENROLLED" if c.autopay else "ENROLLED")
        elif fld == "PAPERLESS":
            old = "Y" if c.paperless else "N"
            new = old if noop else ("N" if c.paperless else "Y")
        elif fld == "PHONE":
            old = c.phone
            new = old if noop and old else f"{rng.choice(('435', '801', '385'))}-555-01{rng.randrange(0, 100):02d}"
        else:
            old = c.email
            base = c.account_number.replace("-", "")
            new = old if noop and old else f"acct{base}.{rng.randrange(100, 999)}@example.org"
        at = dt.datetime.combine(as_of - dt.timedelta(days=1), dt.time(6, 0)) + dt.timedelta(minutes=7 * i)
        rows.append({"ChangeId": f"CH{seed % 100000:05d}{i + 1:06d}", "AccountNumber": c.account_number,
                     "ChangedAt": at, "Field": fld, "OldValue": old, "NewValue": new})
    return rows


LAYOUTS = {"payments": "ic-payments-v1", "rejects": "ic-ach-rejects-v1", "changes": "ic-changes-v1"}
GENERATORS = {"payments": payments, "rejects": rejects, "changes": changes}


def to_csv(kind: str, rows: list[dict]) -> str:
    from console.files.writer import write_delimited

    return write_delimited(rows, LAYOUTS[kind])


def write_export(kind: str, path: Path, count: int, seed: int = 1, **kw) -> dict:
    """Write an export file; returns a summary (rows, control total)."""
    rows = GENERATORS[kind](count, seed, **kw)
    text = to_csv(kind, rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(text.encode("utf-8"))
    tmp.replace(path)
    total = sum((r.get("Amount", Decimal("0")) for r in rows), Decimal("0.00"))
    summary = {"file": str(path), "kind": kind, "rows": len(rows), "control_total": str(total)}
    if kind == "payments":
        receipts = [r for r in rows if r["Status"] == "APPROVED" and r["InvoiceType"] == UTILITY_INVOICE_TYPE]
        summary.update(receipts=len(receipts), receipts_total=str(sum((r["Amount"] for r in receipts), Decimal("0.00"))),
                       cloudstore=sum(1 for r in rows if r["InvoiceType"] in CLOUDSTORE_TYPES
                                      and r["Status"] == "APPROVED"),
                       voided=sum(1 for r in rows if r["Status"] == "VOIDED"))
    return summary
