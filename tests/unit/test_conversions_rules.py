"""Conversion file rules: one row per account, flags, paperless needs an e-mail, phone / e-mail format,
duplicates, final-billed accounts, pending AutoPay; a build with errors writes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from console.adapters.caselle import CustomerPage, CustomerRecord
from console.config import sandbox_profile
from console.errors import ValidationError
from console.files.reader import read_file
from console.services.conversions import ConversionService, build_rows

DAY = dt.date(2026, 12, 1)


def _c(account: str, *, email: str = "pat@example.com", phone: str = "(435) 555-0142", paperless: bool = False,
       direct: str = "INACTIVE", status: str = "ACTIVE", name: str = "Pat Doe") -> CustomerRecord:
    return CustomerRecord(account_number=account, name=name, service_address="1 Main St", mail_address="",
                          phone=phone, email=email, balance=Decimal("10.00"), amount_due=Decimal("10.00"),
                          minimum_due=Decimal("10.00"), due_date=None, bill_expires=None,
                          partial_payments_allowed=True, autopay=direct == "ACTIVE", paperless=paperless,
                          status=status, direct_pay_status=direct)


def test_clean_rows_flags_and_registration():
    b = build_rows([_c("100102-01", paperless=True), _c("100106-01", direct="ACTIVE", email=""),
                    _c("100110-01", phone="")], effective_date=DAY)
    assert b.ok, b.errors
    assert [(r.account, r.paperless, r.autopay, r.registered) for r in b.rows] == [
        ("100102-01", True, False, True), ("100106-01", False, True, True), ("100110-01", False, False, False)]
    lines = b.text.splitlines()
    assert lines[0] == "AccountNumber,CustomerName,Email,Phone,Paperless,AutoPay,Registered,EffectiveDate"
    assert lines[1] == "100102-01,Pat Doe,pat@example.com,(435) 555-0142,Y,N,Y,12/01/2026"
    assert lines[-1] == "TRAILER,3,0"  # control total: the record count
    assert b.counts() == {"accounts": 3, "paperless": 1, "autopay": 1, "registered": 2}


def test_paperless_without_email_is_an_error_naming_the_account():
    b = build_rows([_c("100102-01"), _c("100106-01", paperless=True, email="")], effective_date=DAY)
    assert not b.ok
    [p] = b.errors
    assert (p.line, p.column, p.rule) == (3, "Email", "paperless_needs_email")
    assert "100106-01" in p.message and "e-mail" in p.message


@pytest.mark.parametrize(("change", "column", "rule"), [
    ({"phone": "555-0142"}, "Phone", "format"),
    ({"phone": "(435) 555-01423"}, "Phone", "format"),
    ({"email": "pat at example.com"}, "Email", "format"),
    ({"account_number": "100102 01"}, "AccountNumber", "format"),
])
def test_bad_values_are_errors_naming_the_account(change, column, rule):
    bad = dataclasses.replace(_c("100106-01"), **change)
    b = build_rows([_c("100102-01"), bad], effective_date=DAY)
    assert [(p.line, p.column, p.rule) for p in b.errors] == [(3, column, rule)]
    assert bad.account_number in b.errors[0].message


def test_duplicate_account_is_an_error():
    b = build_rows([_c("100102-01"), _c("100102-01")], effective_date=DAY)
    assert [(p.line, p.column, p.rule) for p in b.errors] == [(3, "AccountNumber", "unique")]


def test_final_billed_left_out_unless_asked_and_pending_autopay_warned():
    customers = [_c("100102-01"), _c("100106-01", status="FINAL"), _c("100110-01", direct="PENDING")]
    b = build_rows(customers, effective_date=DAY)
    assert [r.account for r in b.rows] == ["100102-01", "100110-01"] and b.skipped_final == 1
    assert b.ok and {p.rule for p in b.warnings} == {"final_billed", "autopay_pending"}
    assert all(p.severity == "warning" for p in b.warnings)
    assert b.rows[1].autopay is False
    assert len(build_rows(customers, effective_date=DAY, include_final=True).rows) == 3


def test_names_with_commas_and_quotes_round_trip(tmp_path):
    b = build_rows([_c("100102-01", name='Smith, "Bud" & Co.')], effective_date=DAY)
    assert b.ok
    path = tmp_path / "conv.csv"
    path.write_text(b.text, encoding="utf-8", newline="")
    res = read_file(path, "ic-conversion-v1")
    assert res.ok and res.records[0].values["CustomerName"] == 'Smith, "Bud" & Co.'


class _Pages:
    def __init__(self, customers, size=2):
        self.customers, self.size, self.calls = customers, size, 0

    def list_customers(self, *, after=None, limit=200):
        self.calls += 1
        rest = [c for c in self.customers if after is None or c.account_number > after]
        page = rest[: self.size]
        more = len(rest) > self.size
        return CustomerPage(len(self.customers), page[-1].account_number if more else None, tuple(page))


class _Transfer:
    def __init__(self):
        self.sent = []

    def send_file(self, path, **kw):
        self.sent.append((path, kw))
        return type("Sent", (), {"remote_path": f"/invoices/{path.name}", "status": "awaiting pickup"})()


def test_service_pages_writes_atomically_refuses_errors_and_sends_like_invoices(tmp_path):
    pages = _Pages([_c(f"10010{i}-01") for i in range(5)])
    transfer = _Transfer()
    svc = ConversionService(pages, transfer=transfer, today=lambda: DAY, profile=sandbox_profile())
    b = svc.build()
    assert len(b.rows) == 5 and pages.calls == 3  # every page read
    out = svc.write(b, tmp_path / "out" / "conv.csv", operator="clerk1")
    assert out.read_bytes().decode("utf-8") == b.text and not list(out.parent.glob("*.part"))
    sent = svc.send(out, operator="clerk1")
    assert sent.remote_path == "/invoices/conv.csv"
    assert transfer.sent[0][1]["kind"] == "invoices" and transfer.sent[0][1]["expected_sha256"]
    bad = build_rows([_c("100102-01", paperless=True, email="")], effective_date=DAY)
    with pytest.raises(ValidationError) as info:
        svc.write(bad, tmp_path / "bad.csv", operator="clerk1")
    assert not (tmp_path / "bad.csv").exists() and "100102-01" in info.value.problems[0].message
    broken = tmp_path / "broken.csv"
    broken.write_text(b.text.replace("TRAILER,5,0", "TRAILER,6,0"), encoding="utf-8")
    with pytest.raises(ValidationError):
        svc.send(broken, operator="clerk1")
    assert len(transfer.sent) == 1  # a file that fails the layout is never sent
