"""The common rules of every delimited layout (file-layouts.md, "Common rules"), checked through
the reader with small hand-written files: header, quoting, blank lines, trailer, encodings,
line ends, value notations, and where each problem is reported."""

from __future__ import annotations

import codecs
import datetime as dt
import threading
from decimal import Decimal

import pytest

from console.errors import Cancelled
from console.files.reader import UnreadableFileError, read_bytes

TODAY = dt.date(2026, 11, 1)
H = "AccountNumber,InvoiceNumber,InvoiceType,CustomerName,BillDate,DueDate,PreviousBalance,CurrentCharges,TotalAmountDue"


def row(n: int = 1, *, total="15.50", prev="10.00", cur="5.50", acct=None, name='"SMITH, ANN"',
        bill="11/01/2026", due="11/25/2026") -> str:
    return f"{acct or f'12-3456-{n:02d}'},INV{n},42,{name},{bill},{due},{prev},{cur},{total}"


def read(text: str, layout="ic-invoice-v1", *, encoding="utf-8", **kw):
    return read_bytes(text.encode(encoding), layout, today=TODAY, **kw)


def where(problems) -> list[tuple]:
    return [(p.line, p.column, p.rule) for p in problems]


# -- header -------------------------------------------------------------------------
def test_header_any_case_any_order():
    cols = H.split(",")
    values = row().replace('"SMITH, ANN"', "SMITH ANN").split(",")
    order = list(reversed(range(len(cols))))
    text = ",".join(cols[i].upper() if i % 2 else cols[i].lower() for i in order) + "\n" + \
        ",".join(values[i] for i in order) + "\n"
    r = read(text)
    assert r.ok, r.errors
    assert r.records[0].values["TotalAmountDue"] == Decimal("15.50")
    assert r.records[0].values["AccountNumber"] == "12-3456-01"


def test_unknown_column_is_a_warning_and_ignored():
    r = read(H + ",Color\n" + row() + ",blue\n")
    assert r.ok
    assert where(r.warnings) == [(1, "Color", "unknown_column")]
    assert "Color" not in r.records[0].values


def test_missing_required_column_is_an_error_once():
    h = H.replace(",CustomerName", "")
    r = read(h + "\n" + row().replace(',"SMITH, ANN"', "") + "\n" + row(2).replace(',"SMITH, ANN"', "") + "\n")
    assert where(r.errors) == [(1, "CustomerName", "missing_column")]


def test_missing_optional_column_is_fine_and_gets_its_default():
    r = read(H + "\n" + row() + "\n")
    assert r.ok and r.records[0].values["MinimumAmountDue"] == Decimal("0")


def test_duplicate_header_column():
    r = read(H + ",accountnumber\n" + row() + ",12-3456-01\n")
    assert ("duplicate_column") in [p.rule for p in r.errors]


def test_empty_file_and_header_only():
    assert where(read("").errors) == [(None, None, "empty_file")]
    assert where(read("\r\n\r\n").errors) == [(None, None, "empty_file")]
    r = read(H + "\n")
    assert r.ok and len(r.records) == 0 and [p.rule for p in r.warnings] == ["no_records"]


# -- quoting, blank lines, line ends ----------------------------------------------------
def test_rfc4180_quoting_commas_quotes_and_line_breaks_keep_physical_lines():
    text = (H + "\r\n"
            + row(1, name='"SMITH, ANN ""NAN"""') + "\r\n"
            + row(2, name='"TWO\r\nLINES"') + "\r\n"
            + row(3, total="15.5x") + "\r\n")
    r = read(text)
    assert r.records[0].values["CustomerName"] == 'SMITH, ANN "NAN"'
    assert r.records[1].values["CustomerName"] == "TWO\r\nLINES"
    assert [rec.line for rec in r.records] == [2, 3, 5]
    assert where(r.errors) == [(5, "TotalAmountDue", "amount")]


def test_blank_lines_are_ignored_but_counted_as_lines():
    text = "\n" + H + "\n\n" + row(1) + "\n   \n\n" + row(2, total="1") + "\n\n"
    r = read(text)
    assert [rec.line for rec in r.records] == [4, 7]
    assert where(r.errors) == [(7, "TotalAmountDue", "balance_forward")]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_ends(eol):
    r = read(eol.join([H, row(1), row(2, total="x"), ""]))
    assert len(r.records) == 2
    assert where(r.errors) == [(3, "TotalAmountDue", "amount")]


def test_wrong_field_count_is_reported_on_its_line():
    r = read(H + "\n" + row() + ",extra\n" + row(2).rsplit(",", 2)[0] + "\n")
    assert (2, None, "field_count") in where(r.errors)
    assert (3, None, "field_count") in where(r.errors)


def test_runaway_quote_is_reported_not_raised():
    text = H + "\n" + row(1) + "\n" + '12-3456-02,INV2,42,"OPEN QUOTE' + ("x" * 200 + "\n") * 6000
    r = read(text)
    assert not r.ok
    assert any(p.rule in ("quoting", "field_count") for p in r.errors)


# -- trailer -------------------------------------------------------------------------
def test_trailer_ok_and_values():
    r = read(H + "\n" + row(1) + "\n" + row(2) + "\nTRAILER,2,31.00\n")
    assert r.ok and r.trailer == (2, Decimal("31.00"))


@pytest.mark.parametrize("trailer, rule, column", [
    ("TRAILER,3,31.00", "trailer_count", "count"),
    ("TRAILER,2,31.01", "trailer_total", "control total"),
    ("TRAILER,2", "trailer_format", None),
    ("TRAILER,two,31.00", "trailer_format", "count"),
    ("TRAILER,2,31.001", "trailer_format", "control total"),
])
def test_trailer_mismatch_rejects_the_file(trailer, rule, column):
    r = read(H + "\n" + row(1) + "\n" + row(2) + "\n" + trailer + "\n")
    assert where(r.errors) == [(4, column, rule)]


def test_trailer_padded_with_empty_cells_is_accepted():
    r = read(H + "\n" + row(1) + "\nTRAILER,1,15.50,,,,,,\n")
    assert r.ok and r.trailer == (1, Decimal("15.50"))
    r = read(H + "\n" + row(1) + "\nTRAILER,1,15.50,x\n")
    assert [(p.line, p.rule) for p in r.errors] == [(3, "trailer_format")]


def test_trailer_must_be_last():
    r = read(H + "\n" + row(1) + "\nTRAILER,1,15.50\n" + row(2) + "\n")
    assert (3, None, "trailer_not_last") in where(r.errors)


def test_trailer_total_not_compared_when_an_amount_is_unreadable():
    r = read(H + "\n" + row(1, total="abc") + "\nTRAILER,1,15.50\n")
    assert where(r.errors) == [(2, "TotalAmountDue", "amount")]
    # ... but the clerk is told the trailer total was left unchecked, and why
    assert (3, "control total", "trailer_total") in where(r.warnings)
    assert "not checked: 1 TotalAmountDue value cannot be read" in r.warnings[-1].message


def test_count_only_trailer():
    h = "ChangeId,AccountNumber,ChangedAt,Field,OldValue,NewValue"
    line = "C1,12-3456-00,11/20/2026 10:00:00,PAPERLESS,N,Y"
    assert read(f"{h}\n{line}\nTRAILER,1,0\n", "ic-changes-v1").ok
    assert where(read(f"{h}\n{line}\nTRAILER,2,0\n", "ic-changes-v1").errors) == [(3, "count", "trailer_count")]
    assert where(read(f"{h}\n{line}\nTRAILER,1,7\n", "ic-changes-v1").errors) == [(3, "control total", "trailer_total")]


# -- encodings -------------------------------------------------------------------------
def test_utf8_with_and_without_bom():
    text = H + "\n" + row(name='"NUÑEZ, ZOË"') + "\n"
    plain = read_bytes(text.encode("utf-8"), "ic-invoice-v1", today=TODAY)
    bom = read_bytes(codecs.BOM_UTF8 + text.encode("utf-8"), "ic-invoice-v1", today=TODAY)
    assert plain.ok and bom.ok and not plain.warnings and not bom.warnings
    assert plain.encoding == "utf-8" and bom.encoding == "utf-8-sig"
    assert bom.records[0].values["CustomerName"] == "NUÑEZ, ZOË"
    assert bom.records[0].values["AccountNumber"] == "12-3456-01"  # BOM not glued to the header


def test_cp1252_is_accepted_with_a_warning():
    text = H + "\r\n" + row(name='"NUÑEZ, ZOË – €"') + "\r\n"
    r = read(text, encoding="cp1252")
    assert r.ok and r.encoding == "cp1252"
    assert r.records[0].values["CustomerName"] == "NUÑEZ, ZOË – €"
    assert [(p.rule, p.severity) for p in r.warnings] == [("encoding", "warning")]


def test_bytes_valid_in_no_encoding_are_an_error_on_their_line():
    data = (H + "\n" + row(1) + "\n").encode() + row(2, name="BAD\x81NAME").encode("latin-1") + b"\n"
    r = read_bytes(data, "ic-invoice-v1", today=TODAY)
    assert where(r.errors) == [(3, None, "encoding")]


@pytest.mark.parametrize("data", [
    codecs.BOM_UTF16_LE + (H + "\n").encode("utf-16-le"),
    b"\x00\x01\x02\x03" * 100,
    bytes(range(256)) * 8,
])
def test_not_a_text_file_is_unreadable(data):
    with pytest.raises(UnreadableFileError) as exc:
        read_bytes(data, "ic-invoice-v1")
    assert exc.value.problems[0].rule == "unreadable"


def test_fingerprint_is_sha256_of_the_raw_bytes():
    import hashlib

    data = (H + "\n" + row() + "\n").encode()
    assert read_bytes(data, "ic-invoice-v1").fingerprint == hashlib.sha256(data).hexdigest()


# -- value notations -------------------------------------------------------------------
@pytest.mark.parametrize("text, ok", [
    ("15.50", True), ("15.5", True), ("15", True), (".50", True), ("-15.50", True),
    ("15.505", False), ("1,015.50", False), ("$15.50", False), ("15.50-", False), ("+15.50", False),
    ("1e1", False), ("NaN", False), (" 15.50", True), ("15.", False),
])
def test_amount_notation(text, ok):
    # TotalAmountDue = PreviousBalance + CurrentCharges: keep the sum right for the valid ones
    value = Decimal(text.strip()) if ok else None
    prev = "0.00"
    r = read(H + "\n" + row(total=f'"{text}"', prev=prev, cur=str(value) if ok else "1.00") + "\n")
    if ok:
        assert r.ok, r.errors
        assert r.records[0].values["TotalAmountDue"] == value
        assert r.records[0].values["TotalAmountDue"].as_tuple().exponent == -2
    else:
        assert (2, "TotalAmountDue", "amount") in where(r.errors)


@pytest.mark.parametrize("text, ok", [
    ("11/01/2026", True), ("02/29/2028", True), ("02/29/2026", False), ("13/01/2026", False),
    ("2026-11-01", False), ("1/5/2026", False), ("11/01/26", False), ("", False),
])
def test_date_notation(text, ok):
    r = read(H + "\n" + row(bill=text, due="12/31/2099") + "\n")
    assert r.ok == ok
    if not ok:
        rule = "required" if not text else "date"
        assert (2, "BillDate", rule) in where(r.errors)


def test_timestamp_notations_and_flags():
    h = "AccountNumber,CustomerName,Email,Phone,Paperless,AutoPay,Registered,EffectiveDate"
    ok = read(f"{h}\n1,A,a@b.org,,Y,N,N,11/01/2026\n", "ic-conversion-v1")
    assert ok.ok and ok.records[0].values["Paperless"] is True and ok.records[0].values["AutoPay"] is False
    bad = read(f"{h}\n1,A,a@b.org,,y,YES,,11/01/2026\n", "ic-conversion-v1")
    assert where(bad.errors) == [(2, "Paperless", "flag"), (2, "AutoPay", "flag"), (2, "Registered", "required")]
    hc = "ChangeId,AccountNumber,ChangedAt,Field,OldValue,NewValue"
    r = read(f"{hc}\nC1,1,11/20/2026 10:00:00,PHONE,,\nC2,1,2026-11-20T10:00:05,EMAIL,,\n"
             f"C3,1,11/20/2026 25:00:00,EMAIL,,\nC4,1,11/20/2026,EMAIL,,\n", "ic-changes-v1")
    assert r.records[0].values["ChangedAt"] == dt.datetime(2026, 11, 20, 10, 0, 0)
    assert r.records[1].values["ChangedAt"] == dt.datetime(2026, 11, 20, 10, 0, 5)
    assert where(r.errors) == [(4, "ChangedAt", "timestamp"), (5, "ChangedAt", "timestamp")]


def test_bad_cells_keep_their_raw_text():
    r = read(H + "\n" + row(total="15.5x") + "\n")
    assert r.records[0].values["TotalAmountDue"] is None
    assert r.bad_cells == {(0, "TotalAmountDue"): "15.5x"}


# -- progress, cancel, limits -------------------------------------------------------
def test_progress_reaches_the_end_and_cancel_stops():
    text = H + "\n" + "\n".join(row(i) for i in range(1, 5001)) + "\n"
    calls = []
    r = read(text, progress=lambda done, total, message="": calls.append((done, total, message)))
    assert len(r.records) == 5000
    assert calls and calls[-1][0] == calls[-1][1] == len(text.encode())
    assert "5,000 records" in calls[-1][2]
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        read(text, cancel=stop)


def test_problems_are_capped_but_counted():
    text = H + "\n" + "\n".join(row(i, total="x") for i in range(1, 51)) + "\n"
    r = read(text, max_problems=10)
    assert len([p for p in r.errors if p.rule == "amount"]) == 10
    assert r.errors[-1].rule == "too_many_problems" and "40" in r.errors[-1].message
    assert not r.ok


def test_a_late_non_utf8_byte_rereads_the_file_as_cp1252():
    import hashlib

    head = (H + "\r\n" + "\r\n".join(row(i) for i in range(1, 6001)) + "\r\n").encode("utf-8")
    data = head + row(6001, name='"MÜLLER, ZOË"').encode("cp1252") + b"\r\n"
    progress = []
    r = read_bytes(data, "ic-invoice-v1", today=TODAY, progress=lambda d, t, m="": progress.append((d, t)))
    assert r.ok and r.encoding == "cp1252" and len(r.records) == 6001
    assert r.records[-1].values["CustomerName"] == "MÜLLER, ZOË"
    assert [w.rule for w in r.warnings] == ["encoding"]
    assert r.fingerprint == hashlib.sha256(data).hexdigest() and r.size == len(data)
    assert progress[-1] == (len(data), len(data))


def test_utf8_cut_inside_a_character_at_the_end():
    data = (H + "\n" + row(name='"ZOË"') + "\n").encode("utf-8") + "Ë".encode()[:1]
    r = read_bytes(data, "ic-invoice-v1", today=TODAY)
    assert r.encoding == "cp1252"
    assert not r.ok  # the stray last byte is a record with too few fields


def test_rules_still_apply_when_an_optional_column_is_missing():
    h = "AccountNumber,CustomerName,Phone,Paperless,AutoPay,Registered"
    r = read(f"{h}\n1,A,,Y,N,N\n2,B,,N,N,N\n", "ic-conversion-v1")
    assert [(p.line, p.column, p.rule) for p in r.errors] == [(2, "Email", "required_when_flag")]


def test_a_runaway_first_line_is_unreadable_not_empty():
    r = read("AccountNumber,InvoiceNumber\n\"" + "x" * 1_100_000 + "\n")
    assert [p.rule for p in r.errors] == ["quoting"]
    assert r.errors[0].line is not None and "cannot be read past this line" in r.errors[0].message


def test_a_quote_opened_on_the_last_line_is_named_too():
    r = read("AccountNumber,InvoiceNumber\n\"12-3,INV1\n")
    quoting = [p for p in r.errors if p.rule == "quoting"]
    assert [(p.line, p.message) for p in quoting] == [(2, "A quoted field on line 2 is never closed (a quote is missing)")]
    assert "The record has 1 field, 2 expected" in [p.message for p in r.errors]
