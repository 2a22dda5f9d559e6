"""The sandbox invoice export: valid per every ic-invoice-v1 rule, deterministic, balance forward."""

from __future__ import annotations

import json
from decimal import Decimal

from console.cli import main
from console.files.reader import read_file
from console.sandbox import seed
from console.sandbox.invoice_export import invoice_export_text, invoice_rows, write_invoice_export


def test_export_reads_back_without_errors_and_with_a_matching_trailer(tmp_path):
    out = tmp_path / "ICExport.txt"
    summary = write_invoice_export(out, count=seed.DEFAULT_COUNT)
    result = read_file(out, "ic-invoice-v1")
    assert result.errors == []
    assert len(result) == summary["records"] == seed.DEFAULT_COUNT
    total = sum(result.column("TotalAmountDue"), Decimal("0.00"))
    assert result.trailer == (seed.DEFAULT_COUNT, total)
    assert summary["total_amount_due"] == f"{total:.2f}"
    # read on the day it was written for (today): no due date in the past, only credit balances
    assert {w.rule for w in result.warnings} <= {"negative_value", "repeated_value"}


def test_rows_are_balance_forward_and_consistent_with_the_demo_customers():
    customers = seed.demo_customers(120)
    rows = invoice_rows(120)
    for c, r in zip(customers, rows, strict=True):
        assert r["AccountNumber"] == c.account_number and r["InvoiceNumber"] == c.invoice_number
        assert r["TotalAmountDue"] == r["PreviousBalance"] + r["CurrentCharges"]
        assert r["TotalAmountDue"] == c.balance  # what the account owes now
        assert Decimal("0.00") <= r["MinimumAmountDue"] <= max(r["TotalAmountDue"], Decimal("0.00"))
        assert r["DueDate"] >= r["BillDate"]
        assert r["BillImage"] == f"{c.account_number}_{c.invoice_number}.pdf"
        assert r["InvoiceType"] == 42
    assert any(r["TotalAmountDue"] < 0 for r in invoice_rows())  # credit balances occur


def test_export_is_deterministic_utf8_crlf(tmp_path):
    a, b = invoice_export_text(80), invoice_export_text(80)
    assert a == b
    assert "\r\n" in a and "\n" not in a.replace("\r\n", "")
    out = tmp_path / "x.txt"
    write_invoice_export(out, count=seed.DEFAULT_COUNT)
    text = out.read_bytes().decode("utf-8")
    names = {c.name for c in seed.demo_customers()}
    accented = [n for n in names if any(ord(ch) > 127 for ch in n)]
    assert accented and any(n in text for n in accented)


def test_cli_flag_writes_the_export(tmp_path, capsys):
    out = tmp_path / "cycle.txt"
    assert main(["sandbox", "--export-invoices", str(out), "--invoice-count", "30", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["records"] == 30 and summary["path"] == str(out)
    assert read_file(out, "ic-invoice-v1").ok
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    assert main(["sandbox", "--export-invoices", str(blocker / "x.txt")]) == 1


def test_cli_refuses_a_zero_count(tmp_path):
    assert main(["sandbox", "--export-invoices", str(tmp_path / "x.txt"), "--invoice-count", "0"]) == 2
