"""The sandbox's exports are dated like real ones, relative to the sandbox's "today" (the
export's ``as_of``, by default the day the console runs): payments in the days before it and
never before the bill they pay, settled by then; ACH rejects on or before it, never before the
payment they return."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from console.sandbox import exports
from console.sandbox import seed as demo


def _check_payments(payments: list[dict], as_of: dt.date, customer_count: int = demo.DEFAULT_COUNT) -> None:
    bills = {c.account_number: c for c in demo.demo_customers(customer_count, as_of=as_of)}
    for p in payments:
        paid = p["PaymentDate"].date()
        assert as_of - dt.timedelta(days=3) <= paid < as_of, (p["PaymentId"], paid, as_of)
        assert p["SettlementDate"] == paid + dt.timedelta(days=1) <= as_of
        if p["InvoiceType"] == exports.UTILITY_INVOICE_TYPE:
            bill = bills[p["AccountNumber"]]
            assert p["InvoiceNumber"] == bill.invoice_number and paid >= bill.bill_date


def _check(rows: list[dict], payments: list[dict], as_of: dt.date, customer_count: int = demo.DEFAULT_COUNT) -> None:
    _check_payments(payments, as_of, customer_count)
    paid = {p["PaymentId"]: p["PaymentDate"].date() for p in payments}
    assert rows  # at least one reject per export
    for r in rows:
        assert r["ReturnDate"] <= as_of, (r["PaymentId"], r["ReturnDate"], as_of)
        assert r["ReturnDate"] >= paid[r["PaymentId"]]


@settings(max_examples=40, deadline=None)
@given(count=st.integers(20, 300), seed=st.integers(0, 100_000),
       as_of=st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)))
def test_return_dates_are_never_after_the_sandboxs_today(count, seed, as_of):
    # 80 customers: each example is another day, so the demo customers are generated again
    _check(exports.rejects(count, seed, as_of=as_of, customer_count=80),
           exports.payments(count, seed, as_of=as_of, customer_count=80), as_of, 80)


def test_default_export_is_dated_by_today():
    # the default the sandbox's Invoice Cloud stand-in serves; many rejects, several return codes
    rows, payments = exports.rejects(3000, 7), exports.payments(3000, 7)
    assert len(rows) > 20 and len({r["ReturnCode"] for r in rows}) > 4
    _check(rows, payments, demo.demo_today())
    paid = {p["PaymentId"]: p["PaymentDate"].date() for p in payments}
    assert any(r["ReturnDate"] > paid[r["PaymentId"]] for r in rows)  # after the payment where the calendar allows


def test_rejects_file_still_reads_and_matches_its_payments(tmp_path):
    from console.files.reader import read_file

    f = tmp_path / "r.csv"
    summary = exports.write_export("rejects", f, 200, 3)
    result = read_file(f, exports.LAYOUTS["rejects"])
    assert result.ok and len(result) == summary["rows"] > 0
    payments = {p["PaymentId"]: p for p in exports.payments(200, 3)}
    for rec in result.records:
        assert payments[rec["PaymentId"]]["Amount"] == rec["Amount"]
        assert rec["ReturnDate"] <= demo.demo_today()


def test_the_change_log_is_of_the_day_before():
    day = dt.date(2028, 2, 29)
    rows = exports.changes(150, 4, as_of=day)
    assert all(r["ChangedAt"].date() == day - dt.timedelta(days=1) for r in rows)
    assert [r["ChangedAt"] for r in rows] == sorted(r["ChangedAt"] for r in rows)
