"""The invoice-file options set "via BIF customization": AutoPayDate, NotifyDate1-3 and BillExpires are
filled from the profile's rules when the export is built, and the layout checks every rule."""

from __future__ import annotations

import datetime as dt

import pytest

from console.config import _BY_NAME as SETTINGS
from console.config import coerce, sandbox_profile
from console.domain.bif import BifRules
from console.files.layouts import load_layout
from console.files.reader import read_bytes
from console.sandbox.invoice_export import invoice_export_text, invoice_rows
from tests.unit.test_files_layout_rules import TODAY, VALID, csv_text

DUE = dt.date(2026, 11, 25)


def _check(**cells):
    return read_bytes(csv_text("ic-invoice-v1", [{**VALID["ic-invoice-v1"], **cells}]), "ic-invoice-v1", today=TODAY)


def test_the_columns_start_in_layout_version_2():
    layout = load_layout("ic-invoice-v1")
    assert layout.version == 2
    for name in ("AutoPayDate", "NotifyDate1", "NotifyDate2", "NotifyDate3", "BillExpires"):
        col = layout.column(name)
        assert col.type == "date" and not col.required and "version 2" in col.description


@pytest.mark.parametrize("cells", [
    {"AutoPayDate": "11/25/2026"},  # on the due date
    {"AutoPayDate": "11/22/2026", "AutoPay": "Y"},
    {"NotifyDate1": "11/15/2026", "NotifyDate2": "11/22/2026", "NotifyDate3": "11/24/2026"},
    {"NotifyDate2": "11/20/2026"},  # gaps are fine
    {"BillExpires": "11/26/2026"},
])
def test_dates_in_order_are_valid(cells):
    r = _check(**cells)
    assert r.ok, r.errors


@pytest.mark.parametrize("cells, column, words", [
    ({"AutoPayDate": "11/26/2026"}, "AutoPayDate", "on or before the due date"),
    ({"NotifyDate1": "11/22/2026", "NotifyDate2": "11/22/2026"}, "NotifyDate2", "notification dates go in order"),
    ({"NotifyDate3": "12/01/2026"}, "NotifyDate3", "each before the due date"),
    ({"BillExpires": "11/24/2026"}, "BillExpires", "expires after its due date"),
])
def test_each_rule_names_line_field_and_rule(cells, column, words):
    r = _check(**cells)
    assert [(p.line, p.column, p.rule) for p in r.errors] == [(2, column, "date_order")]
    assert words in r.errors[0].message


def test_the_rules_fill_the_columns():
    rules = BifRules(autopay_days_before_due=3, notify_days_before_due=(10, 3), expire_days_after_due=30)
    row = rules.fill({"DueDate": DUE, "AutoPay": True})
    assert row["AutoPayDate"] == dt.date(2026, 11, 22)
    assert (row["NotifyDate1"], row["NotifyDate2"], row["NotifyDate3"]) == (dt.date(2026, 11, 15),
                                                                           dt.date(2026, 11, 22), None)
    assert row["BillExpires"] == dt.date(2026, 12, 25)
    no_autopay = BifRules().fill({"DueDate": DUE, "AutoPay": False})
    assert no_autopay["AutoPayDate"] is None and no_autopay["BillExpires"] is None


def test_the_profile_rules_and_their_settings_checks():
    profile = sandbox_profile().with_values(bif_autopay_days_before_due=5, bif_notify_days_before_due=["3", "14"],
                                           biller_expire_bill=True, bif_expire_days_after_due=10)
    rules = BifRules.from_profile(profile)
    assert rules == BifRules(5, (14, 3), 10)
    assert BifRules.from_profile(sandbox_profile()).expire_days_after_due is None  # expiry off by default
    with pytest.raises(ValueError, match="between 1 and 60"):
        coerce(SETTINGS["bif_notify_days_before_due"], "10, 0")
    with pytest.raises(ValueError, match="twice"):
        coerce(SETTINGS["bif_notify_days_before_due"], "3,3")
    with pytest.raises(ValueError, match="between 0 and 30"):
        coerce(SETTINGS["bif_autopay_days_before_due"], "31")


def test_the_export_is_built_with_the_profile_rules_and_checks_clean():
    as_of = dt.date(2026, 11, 1)
    rules = BifRules(autopay_days_before_due=2, notify_days_before_due=(7,), expire_days_after_due=15)
    rows = invoice_rows(40, as_of=as_of, rules=rules)
    auto = [r for r in rows if r["AutoPay"]]
    assert auto and all(r["AutoPayDate"] == r["DueDate"] - dt.timedelta(days=2) for r in auto)
    assert all(r["AutoPayDate"] is None for r in rows if not r["AutoPay"])
    assert all(r["NotifyDate1"] == r["DueDate"] - dt.timedelta(days=7) and r["NotifyDate2"] is None for r in rows)
    text = invoice_export_text(40, as_of=as_of, rules=rules)
    result = read_bytes(text.encode("utf-8"), "ic-invoice-v1", today=as_of)
    assert result.ok, result.errors[:3]
    assert "AutoPayDate,NotifyDate1,NotifyDate2,NotifyDate3,BillExpires" in text.splitlines()[0]
