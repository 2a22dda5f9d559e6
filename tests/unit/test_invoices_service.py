"""check_invoices: totals, per-type summary, accounts with several invoices, credit balances."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest

from console.errors import Cancelled
from console.files.reader import UnreadableFileError
from console.files.writer import write_delimited
from console.services.invoices import check_invoices

TODAY = dt.date(2026, 11, 1)


def inv(n, account, total, type_=42, prev="0.00"):
    total = Decimal(total)
    return {"AccountNumber": account, "InvoiceNumber": f"INV{n}", "InvoiceType": type_, "CustomerName": f"C {n}",
            "BillDate": dt.date(2026, 11, 1), "DueDate": dt.date(2026, 11, 25),
            "PreviousBalance": Decimal(prev), "CurrentCharges": total - Decimal(prev), "TotalAmountDue": total}


@pytest.fixture
def invoice_file(tmp_path):
    rows = [inv(1, "A-1", "100.00"), inv(2, "A-2", "-25.50", prev="-40.00"), inv(3, "A-1", "10.00", type_=101),
            inv(4, "A-3", "50.25"), inv(5, "A-1", "5.00"), inv(6, "A-4", "-1.00", prev="-1.00")]
    p = tmp_path / "inv.txt"
    p.write_text(write_delimited(rows, "ic-invoice-v1"), encoding="utf-8", newline="")
    return p


def test_totals_and_summary(invoice_file):
    c = check_invoices(invoice_file, today=TODAY)
    assert c.ok and c.record_count == 6 and len(c.records) == 6
    assert c.total_amount_due == Decimal("138.75")
    s = c.summary
    assert [(t.invoice_type, t.count, t.total) for t in s.by_type] == [
        (42, 5, Decimal("128.75")), (101, 1, Decimal("10.00"))]
    assert [(a.account, a.count, a.lines) for a in s.accounts_with_several] == [("A-1", 3, (2, 4, 6))]
    assert s.accounts_with_several_count == 1
    assert [(x.line, x.account, x.amount) for x in s.credit_balances] == [
        (3, "A-2", Decimal("-25.50")), (7, "A-4", Decimal("-1.00"))]
    assert s.credit_balance_count == 2 and s.credit_balance_total == Decimal("-26.50")
    assert s.bill_dates == (dt.date(2026, 11, 1),) * 2
    # the layout's warnings, kept apart from errors
    rules = sorted({w.rule for w in c.warnings})
    assert rules == ["negative_value", "repeated_value"]


def test_due_date_in_the_past_is_a_warning(invoice_file):
    c = check_invoices(invoice_file, today=dt.date(2026, 12, 1))
    assert c.ok and sum(w.rule == "date_in_past" for w in c.warnings) == 6


def test_as_dict_amounts_are_strings(invoice_file):
    d = check_invoices(invoice_file, today=TODAY).as_dict()
    assert d["records"] == 6 and d["total_amount_due"] == "138.75" and d["valid"] is True
    assert d["trailer"] == {"count": 6, "total": "138.75"}
    assert d["summary"]["credit_balances"]["total"] == "-26.50"
    assert d["summary"]["by_type"][1] == {"invoice_type": 101, "count": 1, "total": "10.00"}
    assert all(set(w) == {"line", "column", "rule", "message"} for w in d["warnings"])


def test_errors_and_total_over_readable_rows(tmp_path):
    rows = [inv(1, "A-1", "10.00"), inv(2, "A-2", "20.00")]
    text = write_delimited(rows, "ic-invoice-v1").replace("20.00,20.00", "20.00,2x.00")
    p = tmp_path / "bad.txt"
    p.write_text(text, encoding="utf-8", newline="")
    c = check_invoices(p, today=TODAY)
    assert not c.ok and [(e.line, e.column, e.rule) for e in c.errors] == [(3, "TotalAmountDue", "amount")]
    assert c.total_amount_due == Decimal("10.00")


def test_progress_cancel_and_unreadable(invoice_file, tmp_path):
    seen = []
    check_invoices(invoice_file, progress=lambda d, t, m="": seen.append((d, t)), today=TODAY)
    assert seen and seen[-1][0] == seen[-1][1]
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        check_invoices(invoice_file, cancel=stop)
    with pytest.raises(UnreadableFileError):
        check_invoices(tmp_path / "none.txt")


def test_fixed_width_layout_through_the_same_service(tmp_path):
    from console.files.writer import write_fixed

    p = tmp_path / "inv.dat"
    p.write_text(write_fixed([inv(1, "A-1", "12.00")], "ic-invoice-fixed-v1"), encoding="utf-8", newline="")
    c = check_invoices(p, "ic-invoice-fixed-v1", today=TODAY)
    assert c.ok and c.total_amount_due == Decimal("12.00") and c.summary.by_type[0].invoice_type == 42
