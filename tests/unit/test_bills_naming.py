"""Bill file names stay in their folder and are never Windows device names: one check for the
``--naming`` option, the profile setting (settings validation, so the Settings dialog) and the split."""

from __future__ import annotations

import pytest

from console.bills.indexer import index_batch
from console.bills.naming import bill_file_name, check_naming, safe_file_name, windows_safe
from console.bills.service import naming_for
from console.bills.split import InvoiceRef, plan_split, split_batch
from console.config import Profile, validate
from console.errors import ValidationError
from tests.bills_pdfs import TEMPLATE, make_pdf
from tests.profiles import SUPERVISOR, VALID

ESCAPES = ("../x_{account}.pdf", "/tmp/x_{account}.pdf", "..\\{account}.pdf", "sub/{account}.pdf",  # outside-path: ok
           "C:{account}.pdf", "C:\\bills\\{account}.pdf", "\\\\server\\share\\{account}.pdf",  # outside-path: ok
           "..{account}.pdf")  # the escapes refused, never read


@pytest.mark.parametrize("naming", ESCAPES)
def test_a_naming_that_leaves_the_folder_is_refused_naming_the_option(naming):
    with pytest.raises(ValidationError, match="--naming .*outside the output folder"):
        check_naming(naming, option="--naming")


@pytest.mark.parametrize("naming", ESCAPES)
def test_the_profile_setting_is_checked_by_settings_validation_and_the_service(naming):
    profile = Profile("cityhall", values={**VALID, "bills_naming": naming}, operators=(SUPERVISOR,))
    problems = [p for p in validate(profile) if p.column == "bills_naming"]
    assert len(problems) == 1 and "Bill image file name" in problems[0].message
    assert "outside the output folder" in problems[0].message
    with pytest.raises(ValidationError, match="bills.naming"):
        naming_for(profile)


def test_the_option_wins_over_the_setting_and_is_named_when_refused():
    profile = Profile("cityhall", values={**VALID, "bills_naming": "bill-{account}.pdf"}, operators=(SUPERVISOR,))
    assert naming_for(profile, "{account}-{invoice}.pdf") == "{account}-{invoice}.pdf"
    assert naming_for(profile, None) == "bill-{account}.pdf"
    with pytest.raises(ValidationError, match="^--naming '../x_{account}.pdf' would write outside"):
        naming_for(profile, "../x_{account}.pdf")


def test_a_plain_naming_is_valid_everywhere():
    profile = Profile("cityhall", values={**VALID, "bills_naming": "bill-{account}-{invoice}.pdf"},
                      operators=(SUPERVISOR,))
    assert not [p for p in validate(profile) if p.column == "bills_naming"]
    assert naming_for(profile) == "bill-{account}-{invoice}.pdf"


@pytest.mark.parametrize("name, cleaned", [
    ("CON", "_CON"), ("con.pdf", "_con.pdf"), ("NUL.tar.gz", "_NUL.tar.gz"), ("COM1.pdf", "_COM1.pdf"),
    ("lpt9.pdf", "_lpt9.pdf"), ("AUX .pdf", "_AUX .pdf"), ("CON.", "_CON"), ("a.pdf. .", "a.pdf"),
    ("COM10.pdf", "COM10.pdf"), ("CONSOLE.pdf", "CONSOLE.pdf"), ("bill.pdf", "bill.pdf"),
])
def test_windows_reserved_names_and_trailing_dots_are_cleaned(name, cleaned):
    assert windows_safe(name) == cleaned


def test_account_and_invoice_parts_cannot_make_a_device_or_a_path():
    assert safe_file_name("CON") == "_CON"
    assert safe_file_name("../..") == "bill"
    assert bill_file_name("{account}.pdf", "nul") == "_nul.pdf"
    assert bill_file_name("{account}_{invoice}.pdf", "../../etc", "x/y") == "etc_x_y.pdf"


def test_the_split_writes_reserved_accounts_under_clean_names_inside_the_folder(tmp_path):
    pdf = make_pdf(tmp_path / "batch.pdf", ["Acct: CON", "Acct: NUL", "Acct: COM1"])
    index = index_batch(pdf, TEMPLATE)
    out = tmp_path / "out"
    invoices = [InvoiceRef("CON", "PRN", bill_image="CON.pdf"), InvoiceRef("NUL", "7"), InvoiceRef("COM1", "8")]
    result = split_batch(pdf, index, out, invoices=invoices, naming="{account}.pdf")
    assert sorted(f.file_name for f in result.written) == ["_COM1.pdf", "_CON.pdf", "_NUL.pdf"]
    assert sorted(p.name for p in out.iterdir()) == ["_COM1.pdf", "_CON.pdf", "_NUL.pdf"]
    assert [p.name for p in tmp_path.iterdir() if p.name != "batch.pdf"] == ["out"]
    with pytest.raises(ValidationError, match="outside the output folder"):
        plan_split(index, invoices, "../x_{account}.pdf")


def test_the_cli_refuses_an_escaping_naming_and_writes_nothing(tmp_path, capsys):
    from console.cli import main

    pdf = make_pdf(tmp_path / "batch.pdf", ["Acct: A1", "Acct: B2"])
    template = tmp_path / "t.toml"
    template.write_text(f'region = {list(TEMPLATE.region)}\npattern = \'{TEMPLATE.pattern}\'\n')
    for naming in ("../x_{account}.pdf", str(tmp_path / "abs_{account}.pdf")):
        code = main(["bills", "split", str(pdf), "--template", str(template), "--out", str(tmp_path / "out"),
                     "--naming", naming])
        assert code == 1  # invalid input (the exit-code table)
        assert "--naming" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.pdf", "t.toml"]
