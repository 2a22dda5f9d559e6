"""The sandbox's ACH rejects are dated like real ones: on or before the sandbox's "today" (the
export's ``as_of``), never before the payment they return."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from console.sandbox import exports
from console.sandbox import seed as demo


def _check(rows: list[dict], payments: list[dict], as_of: dt.date) -> None:
    paid = {p["PaymentId"]: p["PaymentDate"].date() for p in payments}
    assert rows  # at least one reject per export
    for r in rows:
        assert r["ReturnDate"] <= as_of, (r["PaymentId"], r["ReturnDate"], as_of)
        assert r["ReturnDate"] >= paid[r["PaymentId"]]


@settings(max_examples=40, deadline=None)
@given(count=st.integers(20, 300), seed=st.integers(0, 100_000),
       as_of=st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)))
def test_return_dates_are_never_after_the_sandboxs_today(count, seed, as_of):
    _check(exports.rejects(count, seed, as_of=as_of), exports.payments(count, seed, as_of=as_of), as_of)


def test_default_export_is_dated_by_the_demo_today():
    # the default the sandbox's Invoice Cloud stand-in serves; many rejects, several return codes
    rows, payments = exports.rejects(3000, 7), exports.payments(3000, 7)
    assert len(rows) > 20 and len({r["ReturnCode"] for r in rows}) > 4
    _check(rows, payments, demo.DEMO_AS_OF)
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
        assert rec["ReturnDate"] <= demo.DEMO_AS_OF
