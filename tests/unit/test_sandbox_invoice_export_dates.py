"""The sandbox's training invoice file opens clean on any day: written for a day, checked on that
day, it has no errors and no "due date in the past" warning — at month and year ends, on a leap
day, on any weekday — and the same day always gives the same file."""

from __future__ import annotations

import datetime as dt

import pytest

from console.sandbox import seed
from console.sandbox.invoice_export import write_invoice_export
from console.services.invoices import check_invoices

DAYS = [
    dt.date(2026, 11, 25),  # the day the demo data used to be frozen on
    dt.date(2026, 11, 30),  # month end, a Monday (cycle 1's own weekday)
    dt.date(2026, 12, 31),  # year end
    dt.date(2027, 1, 1),  # new year
    dt.date(2027, 2, 28),  # end of February, not a leap year
    dt.date(2028, 2, 29),  # leap day
    dt.date(2028, 3, 1),  # the day after a leap day
    dt.date(2027, 6, 6),  # a Sunday
]


def _rules(problems) -> set[str]:
    return {p.rule for p in problems}


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_training_file_checked_on_its_day_has_no_errors_and_no_past_due_dates(tmp_path, day):
    path = tmp_path / f"ICExport-{day:%b%Y}.txt"
    summary = write_invoice_export(path, as_of=day)
    assert summary["as_of"] == day.isoformat()
    check = check_invoices(path, today=day)
    assert check.errors == []
    assert check.record_count == seed.DEFAULT_COUNT
    assert "date_in_past" not in _rules(check.warnings)
    # what is left are the realistic warnings of a real export: credit balances
    assert _rules(check.warnings) <= {"negative_value", "repeated_value"}
    bills = check.result.column("BillDate")
    dues = check.result.column("DueDate")
    assert max(bills) < day and min(bills) >= day - dt.timedelta(days=7)  # the bills of the week before
    assert min(dues) >= day + dt.timedelta(days=14)


def test_a_training_file_still_opens_clean_two_weeks_later(tmp_path):
    day = dt.date(2028, 2, 29)
    path = tmp_path / "ICExport.txt"
    write_invoice_export(path, as_of=day)
    assert "date_in_past" not in _rules(check_invoices(path, today=day + dt.timedelta(days=14)).warnings)
    # ... but not forever: a file kept for weeks has stale due dates, and the check says so
    assert "date_in_past" in _rules(check_invoices(path, today=day + dt.timedelta(days=30)).warnings)


def test_written_today_by_default_and_the_same_day_gives_the_same_file(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    assert write_invoice_export(a, count=50)["as_of"] == dt.date.today().isoformat()
    write_invoice_export(b, count=50, as_of=dt.date.today())
    assert a.read_bytes() == b.read_bytes()
    check = check_invoices(a)  # checked against the real today
    assert check.ok and "date_in_past" not in _rules(check.warnings)
    other_day = tmp_path / "c.txt"
    write_invoice_export(other_day, count=50, as_of=dt.date.today() + dt.timedelta(days=7))
    assert other_day.read_bytes() != a.read_bytes()
