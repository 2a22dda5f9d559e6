"""Accounts Receivable bills: a bill template per invoice type (utility bills and CloudStore / AR invoices
differ), chosen by the invoice type of the matching invoice; the setting is checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF

from console.bills.by_type import choose_template, templates_by_type
from console.bills.indexer import index_batch
from console.bills.service import sandbox_template_path, template_for_batch
from console.bills.split import InvoiceRef
from console.bills.template import load_template
from console.config import _BY_NAME as SETTINGS
from console.config import coerce, sandbox_profile
from console.domain.invoice_types import parse_type_map
from console.sandbox.bill_pdf import build_bill_batch
from console.sandbox.seed import demo_customers

AR_TEMPLATE = """name = "Accounts receivable invoice"
region = [30, 680, 320, 712]
pattern = 'Customer No\\.\\s*(?P<account>AR-\\d{5})'
continuation = "none"
"""
AR_ACCOUNTS = ["AR-00017", "AR-00018", "AR-00031"]


def _ar_batch(path: Path) -> Path:
    pdf = FPDF(unit="pt", format="Letter")
    pdf.set_font("Helvetica", size=12)
    for account in AR_ACCOUNTS:
        pdf.add_page()
        pdf.text(40, 60, "JUNIPER SPRINGS - ACCOUNTS RECEIVABLE INVOICE")
        pdf.text(40, 700, f"Customer No. {account}")
    pdf.output(str(path))
    return path


@pytest.fixture
def setup(tmp_path):
    ar_tpl = tmp_path / "ar.toml"
    ar_tpl.write_text(AR_TEMPLATE, encoding="utf-8")
    utility = tmp_path / "utility.pdf"
    customers = demo_customers()[:3]
    build_bill_batch(customers, utility)
    mapping = {42: sandbox_template_path(), 801: ar_tpl}
    refs = ([InvoiceRef(a, f"INV-{a}", invoice_type=801) for a in AR_ACCOUNTS]
            + [InvoiceRef(c.account_number, c.invoice_number, invoice_type=42) for c in customers])
    return {"ar": _ar_batch(tmp_path / "ar.pdf"), "utility": utility, "mapping": mapping, "refs": refs,
            "ar_tpl": ar_tpl, "customers": customers, "default": load_template(sandbox_template_path())}


def test_the_ar_batch_gets_the_ar_template_by_its_invoices_type(setup):
    choice = choose_template(setup["ar"], setup["refs"], setup["mapping"], setup["default"])
    assert choice.invoice_type == 801 and choice.template.name == "Accounts receivable invoice"
    assert "type 801 invoice" in choice.reason
    index = index_batch(setup["ar"], choice.template, workers=1)
    assert [b.account for b in index.bills] == AR_ACCOUNTS and not index.unmatched_pages


def test_the_utility_batch_keeps_the_utility_template(setup):
    choice = choose_template(setup["utility"], setup["refs"], setup["mapping"], setup["default"])
    assert choice.invoice_type == 42
    index = index_batch(setup["utility"], choice.template, workers=1)
    assert [b.account for b in index.bills] == [c.account_number for c in setup["customers"]]


def test_an_account_whose_invoice_has_another_type_does_not_choose_that_template(setup):
    wrong = [InvoiceRef(a, "X", invoice_type=42) for a in AR_ACCOUNTS]  # the invoice file says utility
    choice = choose_template(setup["ar"], wrong, {801: setup["ar_tpl"]}, setup["default"])
    assert choice.invoice_type is None and choice.template == setup["default"]
    no_file = choose_template(setup["ar"], None, {801: setup["ar_tpl"]}, setup["default"])
    assert no_file.invoice_type == 801  # without an invoice file the template that finds an account wins


def test_the_profile_setting_drives_the_choice(setup):
    profile = sandbox_profile().with_values(
        bills_templates_by_type=[f"42={sandbox_template_path()}", f"801={setup['ar_tpl']}"])
    assert templates_by_type(profile) == setup["mapping"]
    assert template_for_batch(setup["ar"], None, profile, setup["refs"]).name == "Accounts receivable invoice"
    assert template_for_batch(setup["ar"], sandbox_template_path(), profile, setup["refs"]) == setup["default"]
    assert template_for_batch(setup["ar"], None, sandbox_profile(), setup["refs"]) == setup["default"]


def test_the_setting_is_checked():
    assert parse_type_map("42=a.toml, 801=b.toml") == {42: "a.toml", 801: "b.toml"}
    with pytest.raises(ValueError, match="is not TYPE=template"):
        coerce(SETTINGS["bills_templates_by_type"], "utility.toml")
    with pytest.raises(ValueError, match="given twice"):
        coerce(SETTINGS["bills_templates_by_type"], "42=a.toml,42=b.toml")


def test_the_invoice_file_gives_each_invoice_its_type(tmp_path):
    from console.bills.service import load_invoice_refs
    from console.sandbox.invoice_export import write_invoice_export

    path = tmp_path / "invoices.txt"
    write_invoice_export(path, 5)
    refs = load_invoice_refs(path)
    assert len(refs) == 5 and {r.invoice_type for r in refs} == {42}
