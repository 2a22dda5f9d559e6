"""A UTF-8 byte-order mark in front of Windows-1252 content (an editor "saved with BOM" a cp1252
export): the mark is skipped, never glued to the first column name, and the warning says so."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib

import pytest

from console.files.encoding import sniff
from console.files.reader import read_bytes

TODAY = dt.date(2026, 11, 1)

FILES = {
    "ic-invoice-v1": (
        "AccountNumber,InvoiceNumber,InvoiceType,CustomerName,BillDate,DueDate,PreviousBalance,CurrentCharges,"
        "TotalAmountDue",
        '12-3456-01,INV1,42,"MÜLLER, ZOË – €",11/01/2026,11/25/2026,10.00,5.50,15.50',
        "CustomerName", "MÜLLER, ZOË – €",
    ),
    "ic-payments-v1": (
        "AccountNumber,PaymentId,ConfirmationNumber,InvoiceNumber,InvoiceType,PayerName,Tender,CardLast4,Amount,"
        "ConvenienceFee,PaymentDate,SettlementDate,Status",
        "12-3456-01,P1,C1,INV1,42,NUÑEZ ZOË,CARD,1234,25.00,2.95,11/20/2026 10:00:00,11/21/2026,APPROVED",
        "PayerName", "NUÑEZ ZOË",
    ),
}


@pytest.mark.parametrize("layout", sorted(FILES))
def test_utf8_bom_before_cp1252_content_is_skipped_with_a_warning(layout):
    header, line, column, value = FILES[layout]
    data = codecs.BOM_UTF8 + (header + "\r\n" + line + "\r\n").encode("cp1252")
    r = read_bytes(data, layout, today=TODAY)
    assert r.ok, r.errors
    assert r.encoding == "cp1252"
    assert r.records[0].values["AccountNumber"] == "12-3456-01"  # not "ï»¿AccountNumber" missing
    assert r.records[0].values[column] == value
    assert [(p.rule, p.severity) for p in r.warnings] == [("encoding", "warning")]
    message = r.warnings[0].message
    assert "byte-order mark" in message and "Windows-1252" in message
    assert r.fingerprint == hashlib.sha256(data).hexdigest()  # the mark is still part of the file


def test_plain_cp1252_warning_does_not_mention_a_mark():
    header, line, _column, _value = FILES["ic-invoice-v1"]
    r = read_bytes((header + "\r\n" + line + "\r\n").encode("cp1252"), "ic-invoice-v1", today=TODAY)
    assert r.ok and r.encoding == "cp1252"
    assert "byte-order mark" not in r.warnings[0].message


def test_sniff_reports_the_mark():
    import io

    assert sniff(io.BytesIO(codecs.BOM_UTF8 + "ZOË".encode("cp1252"))).bom
    assert not sniff(io.BytesIO("ZOË".encode("cp1252"))).bom
