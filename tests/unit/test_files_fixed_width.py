"""Fixed-width layouts through the same reader (ic-invoice-fixed-v1): positions from the layout,
implied cents, YYYYMMDD dates, record length, the fixed-width trailer, round trip with write_fixed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from console.files.layouts import load_layout
from console.files.reader import read_bytes
from console.files.writer import write_fixed

TODAY = dt.date(2026, 11, 1)
LAYOUT = "ic-invoice-fixed-v1"


def inv(n: int, prev="10.00", cur="5.50", total=None, **extra) -> dict:
    total = Decimal(prev) + Decimal(cur) if total is None else Decimal(total)
    return {"AccountNumber": f"12-3456-{n:02d}", "InvoiceNumber": f"INV{n}", "InvoiceType": 42,
            "CustomerName": "NUÑEZ, ZOË", "Email": "z@example.org", "BillDate": dt.date(2026, 11, 1),
            "DueDate": dt.date(2026, 11, 25), "PreviousBalance": Decimal(prev), "CurrentCharges": Decimal(cur),
            "TotalAmountDue": total, "MinimumAmountDue": Decimal("0.00"), "Paperless": True, "AutoPay": False,
            "AllowPartialPayments": None, **extra}


def test_layout_is_fixed_with_positions():
    layout = load_layout(LAYOUT)
    assert layout.is_fixed and layout.record_length == 200
    assert (layout.column("AccountNumber").start, layout.column("AccountNumber").end) == (1, 20)
    ends = sorted((c.start, c.end) for c in layout.columns)
    assert all(a[1] < b[0] for a, b in zip(ends, ends[1:], strict=False)), "columns overlap"


def test_round_trip_and_typed_values():
    rows = [inv(1), inv(2, prev="-20.00", cur="5.00")]
    text = write_fixed(rows, LAYOUT)
    lines = text.split("\r\n")[:-1]
    assert all(len(line) == 200 for line in lines[:-1])
    assert lines[0][149:161] == "000000001000"  # PreviousBalance 10.00 in implied cents
    assert lines[1][149:161] == "-00000002000"
    assert lines[0][133:141] == "20261101"
    r = read_bytes(text.encode("utf-8"), LAYOUT, today=TODAY)
    assert r.ok, r.errors
    v = r.records[1].values
    assert v["PreviousBalance"] == Decimal("-20.00") and v["TotalAmountDue"] == Decimal("-15.00")
    assert v["BillDate"] == dt.date(2026, 11, 1) and v["CustomerName"] == "NUÑEZ, ZOË"
    assert v["Paperless"] is True and v["AutoPay"] is False and v["AllowPartialPayments"] is None
    assert r.trailer == (2, Decimal("0.50"))
    assert [rec.line for rec in r.records] == [1, 2]
    assert [w.rule for w in r.warnings] == ["negative_value"]


def test_rules_apply_with_lines_and_columns():
    rows = [inv(1), inv(2, total="99.99"), inv(3, DueDate=dt.date(2026, 10, 1)), inv(1)]
    rows[3]["InvoiceNumber"] = "INV9"
    text = write_fixed(rows, LAYOUT)
    r = read_bytes(text.encode(), LAYOUT, today=TODAY)
    got = [(p.line, p.column, p.rule) for p in r.errors]
    assert (2, "TotalAmountDue", "balance_forward") in got
    assert (3, "DueDate", "due_on_or_after_bill") in got
    assert (5, "control total", "trailer_total") not in got  # the trailer was written from these rows
    assert (4, "AccountNumber", "repeated_value") in [(p.line, p.column, p.rule) for p in r.warnings]


def test_record_length_bad_cells_and_trailer_mismatch():
    text = write_fixed([inv(1), inv(2)], LAYOUT)
    lines = text.split("\r\n")
    lines[0] = lines[0][:150]  # short record: amounts cut off
    lines[1] = lines[1][:133] + "20261340" + lines[1][141:]  # month 13
    lines[2] = lines[2][:7] + "0000000003" + lines[2][17:]  # trailer says 3 records
    r = read_bytes("\r\n".join(lines).encode(), LAYOUT, today=TODAY)
    got = [(p.line, p.column, p.rule) for p in r.errors]
    assert (1, None, "record_length") in got
    assert (1, "TotalAmountDue", "required") in got
    assert (2, "BillDate", "date") in got
    assert (3, "count", "trailer_count") in got


def test_blank_lines_and_lf_line_ends():
    text = write_fixed([inv(1), inv(2)], LAYOUT, line_ending="\n")
    r = read_bytes(("\n" + text.replace("\n", "\n\n", 1)).encode(), LAYOUT, today=TODAY)
    assert r.ok and [rec.line for rec in r.records] == [2, 4]


def test_a_value_wider_than_its_field_is_refused_by_the_writer():
    with pytest.raises(ValueError):
        write_fixed([inv(1, CustomerName="X" * 41)], LAYOUT)
