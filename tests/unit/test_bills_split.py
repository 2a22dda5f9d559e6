"""Split: one PDF per bill with the right pages, naming, held bills, cross-check, all-or-nothing."""

from __future__ import annotations

import threading

import pytest

from console.bills.indexer import index_batch
from console.bills.split import (
    InvoiceRef,
    check_naming,
    cross_check,
    plan_split,
    safe_file_name,
    split_batch,
)
from console.errors import Cancelled, ValidationError
from tests.bills_pdfs import TEMPLATE, make_pdf, page_marks


@pytest.fixture
def batch(tmp_path):
    pages = ["Acct: A1", "cont", "Acct: B2", "Acct: C3", "cont", "cont", "Acct: D4"]
    pdf = make_pdf(tmp_path / "batch.pdf", pages)
    return pdf, index_batch(pdf, TEMPLATE)


def test_split_without_invoices_writes_account_pdfs_holding_the_right_pages(tmp_path, batch):
    pdf, index = batch
    out = tmp_path / "out"
    result = split_batch(pdf, index, out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["A1.pdf", "B2.pdf", "C3.pdf", "D4.pdf"]  # no staging folder left behind
    assert page_marks(out / "A1.pdf") == ["PAGE-MARK-1", "PAGE-MARK-2"]
    assert page_marks(out / "B2.pdf") == ["PAGE-MARK-3"]
    assert page_marks(out / "C3.pdf") == ["PAGE-MARK-4", "PAGE-MARK-5", "PAGE-MARK-6"]
    assert page_marks(out / "D4.pdf") == ["PAGE-MARK-7"]
    assert result.cross_check is None and len(result.written) == 4


def test_split_with_invoices_names_and_cross_checks(tmp_path, batch):
    pdf, index = batch
    invoices = [
        InvoiceRef("A1", "INV-1"),
        InvoiceRef("B2", "INV-2", bill_image="custom-b2.pdf"),
        InvoiceRef("C3", "INV-3a", bill_date="2026-10-01"),
        InvoiceRef("C3", "INV-3b", bill_date="2026-11-01"),
        InvoiceRef("E5", "INV-5", line=6),
    ]
    out = tmp_path / "out"
    result = split_batch(pdf, index, out, invoices=invoices)
    by_account = {f.account: f for f in result.files}
    assert by_account["A1"].file_name == "A1_INV-1.pdf"
    assert by_account["B2"].file_name == "custom-b2.pdf"  # BillImage wins
    assert by_account["C3"].file_name == "C3_INV-3b.pdf"  # the latest invoice of the account
    assert by_account["D4"].file_name == "D4.pdf" and by_account["D4"].status == "no-invoice"
    assert sorted(p.name for p in out.iterdir()) == ["A1_INV-1.pdf", "C3_INV-3b.pdf", "D4.pdf", "custom-b2.pdf"]
    check = result.cross_check
    assert [(r.account, r.invoice) for r in check.invoices_without_image] == [("E5", "INV-5")]
    assert check.images_without_invoice == ["D4"]
    assert check.several_invoices == {"C3": ["INV-3a", "INV-3b"]}


def test_duplicates_are_held_back_not_written(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: A1", "Acct: B2", "Acct: A1"])
    index = index_batch(pdf, TEMPLATE)
    out = tmp_path / "out"
    result = split_batch(pdf, index, out)
    assert [p.name for p in out.iterdir()] == ["B2.pdf"]
    assert [(f.account, f.status) for f in result.held] == [("A1", "duplicate"), ("A1", "duplicate")]


def test_name_clash_is_held(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: A1", "Acct: B2"])
    index = index_batch(pdf, TEMPLATE)
    plan = plan_split(index, [InvoiceRef("A1", "X", bill_image="same.pdf"),
                              InvoiceRef("B2", "Y", bill_image="SAME.pdf")])
    assert {f.status for f in plan} == {"name-clash"}


def test_unsafe_bill_image_name_falls_back_to_the_naming(tmp_path, batch):
    _, index = batch
    plan = plan_split(index, [InvoiceRef("A1", "1", bill_image="../../etc/passwd.pdf")])
    a1 = next(f for f in plan if f.account == "A1")
    assert a1.file_name == "A1_1.pdf" and "not a plain" in a1.message


def test_cancel_leaves_the_output_folder_as_it_was(tmp_path, batch):
    pdf, index = batch
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    cancel = threading.Event()

    def progress(done, total, message=""):
        if done == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        split_batch(pdf, index, out, progress=progress, cancel=cancel)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_changed_batch_is_refused(tmp_path, batch):
    pdf, index = batch
    make_pdf(pdf, ["Acct: A1"])  # the file changed after indexing
    with pytest.raises(Exception, match="index it again"):
        split_batch(pdf, index, tmp_path / "out")


def test_naming_rules():
    assert check_naming("{account}-{invoice}.pdf")
    for bad in ("{invoice}.pdf", "{account}.txt", "{account}_{oops}.pdf", "{account"):
        with pytest.raises(ValidationError):
            check_naming(bad)
    assert safe_file_name(" 12/34 ") == "12_34"
    assert safe_file_name("..") == "bill"


def test_cross_check_is_pure(batch):
    _, index = batch
    check = cross_check(index, [InvoiceRef("A1", "1"), InvoiceRef("B2", "2"), InvoiceRef("C3", "3"),
                                InvoiceRef("D4", "4")])
    assert check.clean


def test_splitting_twice_gives_the_same_bytes(tmp_path, batch):
    import pdfplumber

    pdf, index = batch
    split_batch(pdf, index, tmp_path / "one")
    split_batch(pdf, index, tmp_path / "two")
    for f in (tmp_path / "one").iterdir():
        assert f.read_bytes() == (tmp_path / "two" / f.name).read_bytes(), f.name
    # still a valid PDF after the date and /ID are made reproducible
    with pdfplumber.open(tmp_path / "one" / "C3.pdf") as doc:
        assert len(doc.pages) == 3 and "PAGE-MARK-4" in doc.pages[0].extract_text()
