"""Core API of the layout-driven reader: shapes, samples, trailer, encodings, line numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from console.errors import Problem
from console.files.layouts import load_layout
from console.files.reader import ReadResult, UnreadableFileError, read_bytes, read_file
from console.files.writer import write_delimited
from tests.data_files import INVOICES_INVALID, INVOICES_VALID

TODAY = dt.date(2026, 11, 1)

HEADER = ("AccountNumber,InvoiceNumber,InvoiceType,CustomerName,BillDate,DueDate,"
          "PreviousBalance,CurrentCharges,TotalAmountDue")


def inv(*rows: str, header: str = HEADER, trailer: str | None = None, eol: str = "\r\n") -> bytes:
    lines = [header, *rows] + ([trailer] if trailer else [])
    return (eol.join(lines) + eol).encode("utf-8")


ROW = "12-3456-00,INV1,42,\"SMITH, ANN\",11/01/2026,11/25/2026,10.00,5.50,15.50"


def test_result_shape_and_typed_values():
    r = read_bytes(inv(ROW), "ic-invoice-v1", today=TODAY)
    assert isinstance(r, ReadResult) and r.ok and r.errors == []
    rec = r.records[0]
    assert rec.line == 2
    v = rec.values
    assert v["AccountNumber"] == "12-3456-00" and v["CustomerName"] == "SMITH, ANN"
    assert v["InvoiceType"] == 42
    assert v["BillDate"] == dt.date(2026, 11, 1)
    assert v["TotalAmountDue"] == Decimal("15.50") and isinstance(v["TotalAmountDue"], Decimal)
    assert v["MinimumAmountDue"] == Decimal("0")  # layout default
    assert v["Paperless"] is None  # absent typed value without default
    assert v["Email"] == ""  # absent text
    assert r.trailer is None
    assert len(r.fingerprint) == 64 and r.encoding == "utf-8"
    assert r.layout.name == "ic-invoice-v1"


def test_public_samples():
    good = read_file(INVOICES_VALID, "ic-invoice-v1")
    assert good.ok and len(good.records) == 300 and good.encoding == "cp1252"
    assert good.total("TotalAmountDue") == Decimal("105968.55")
    assert any(w.rule == "encoding" for w in good.warnings)
    bad = read_file(INVOICES_INVALID, "ic-invoice-v1")
    lines = {p.line for p in bad.errors}
    assert {5, 9, 12, 15, 18, 21, 24, 27, 30, 33} <= lines
    assert lines <= {5, 9, 12, 15, 18, 21, 24, 27, 30, 33, 3, 41, 42}


def test_trailer_count_and_total_must_match():
    ok = read_bytes(inv(ROW, trailer="TRAILER,1,15.50"), "ic-invoice-v1", today=TODAY)
    assert ok.ok and ok.trailer == (1, Decimal("15.50"))
    bad_count = read_bytes(inv(ROW, trailer="TRAILER,2,15.50"), "ic-invoice-v1", today=TODAY)
    assert [(p.line, p.rule) for p in bad_count.errors] == [(3, "trailer_count")]
    bad_total = read_bytes(inv(ROW, trailer="TRAILER,1,15.51"), "ic-invoice-v1", today=TODAY)
    assert [(p.line, p.rule) for p in bad_total.errors] == [(3, "trailer_total")]


def test_every_problem_names_line_column_rule():
    r = read_bytes(inv(ROW.replace("15.50", "15.5x")), "ic-invoice-v1", today=TODAY)
    (p,) = r.errors
    assert isinstance(p, Problem)
    assert (p.line, p.column, p.rule) == (2, "TotalAmountDue", "amount")


def test_missing_file_and_binary_are_unreadable(tmp_path):
    with pytest.raises(UnreadableFileError):
        read_file(tmp_path / "nope.txt", "ic-invoice-v1")
    with pytest.raises(UnreadableFileError):
        read_bytes(bytes(range(256)) * 20, "ic-invoice-v1")


def test_write_then_read_round_trip():
    r = read_bytes(inv(ROW), "ic-invoice-v1", today=TODAY)
    text = write_delimited([rec.values for rec in r.records], load_layout("ic-invoice-v1"))
    again = read_bytes(text.encode(), "ic-invoice-v1", today=TODAY)
    assert again.ok and again.columns == r.columns and again.trailer == (1, Decimal("15.50"))
