"""Conformance of the ic-invoice-v1 reader with file-layouts.md §"Common rules" and §1.

Every case is built from the format description, not from the samples. Cases where the
reader deviates from the description are marked ``xfail(strict=True)`` with the rule and
what the reader does instead: they start passing (and then fail as XPASS, to be unmarked)
once console/files is changed. The other cases pin the rules the reader already follows.
"""

from __future__ import annotations

import datetime as dt

import pytest

from console.services.invoices import check_invoices

COLUMNS = ("AccountNumber,InvoiceNumber,InvoiceType,CustomerName,ServiceAddress,MailAddress1,"
           "MailAddress2,MailCity,MailState,MailZip,Email,Phone,BillDate,DueDate,PreviousBalance,"
           "CurrentCharges,TotalAmountDue,MinimumAmountDue,AllowPartialPayments,Paperless,AutoPay,"
           "BillImage").split(",")
TODAY = dt.date(2030, 1, 1)


def _row(i: int, **values: str) -> dict[str, str]:
    row = {
        "AccountNumber": f"10-{i:04d}-00", "InvoiceNumber": f"INV{i:05d}", "InvoiceType": "42",
        "CustomerName": f"SMITH JOHN {i}", "ServiceAddress": "1 MAIN ST", "MailAddress1": "PO BOX 1",
        "MailAddress2": "", "MailCity": "SPRINGVILLE", "MailState": "UT", "MailZip": "84663",
        "Email": "a@example.org", "Phone": "(435) 555-0101", "BillDate": "11/01/2030",
        "DueDate": "11/25/2030", "PreviousBalance": "10.00", "CurrentCharges": "5.00",
        "TotalAmountDue": "15.00", "MinimumAmountDue": "1.00", "AllowPartialPayments": "Y",
        "Paperless": "N", "AutoPay": "N", "BillImage": f"10-{i:04d}-00.pdf",
    }
    row.update(values)
    return row


def _field(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _text(rows: list[dict[str, str]], newline: str = "\r\n", trailer: str | None = None) -> str:
    lines = [",".join(COLUMNS)] + [",".join(_field(r[c]) for c in COLUMNS) for r in rows]
    if trailer is not None:
        lines.append(trailer)
    return newline.join(lines) + newline


def _check(tmp_path, text: str | bytes):
    path = tmp_path / "invoices.txt"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return check_invoices(path, today=TODAY)


def _errors(check) -> list[tuple]:
    return [(p.line, p.column, p.rule) for p in check.result.errors]


def _second_row_errors(tmp_path, **values: str) -> list[tuple]:
    """Errors of a file whose second invoice (physical line 3) carries ``values``."""
    return _errors(_check(tmp_path, _text([_row(1), _row(2, **values)])))


# ---- rules the reader follows (kept so a change that breaks them is seen) -----------------------

def test_quoted_delimiters_and_newlines_keep_physical_line_numbers(tmp_path):
    rows = [_row(1, CustomerName="SMITH, JOHN \"JJ\"", ServiceAddress="1 MAIN\nAPT 2"), _row(2),
            _row(3, TotalAmountDue="99.00")]
    check = _check(tmp_path, _text(rows))
    # header 1, first invoice on lines 2-3, second on 4, third on 5
    assert _errors(check) == [(5, "TotalAmountDue", "balance_forward")]
    assert len(check.result) == 3


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_line_ends_bom_blank_lines_and_trailer(tmp_path, newline):
    body = _text([_row(1), _row(2)], newline=newline)
    text = body + newline + "TRAILER,2,30.00" + newline + newline
    check = _check(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert _errors(check) == [] and check.ok
    assert str(check.total_amount_due) == "30.00" and len(check.result) == 2


def test_cp1252_is_accepted_with_a_warning(tmp_path):
    check = _check(tmp_path, _text([_row(1, CustomerName="NUÑEZ, ZOË")]).encode("cp1252"))
    assert check.ok and "encoding" in {w.rule for w in check.result.warnings}


@pytest.mark.parametrize(("trailer", "rule"), [("TRAILER,3,30.00", "trailer_count"),
                                               ("TRAILER,2,30.01", "trailer_total")])
def test_trailer_that_disagrees_rejects_the_file(tmp_path, trailer, rule):
    check = _check(tmp_path, _text([_row(1), _row(2)], trailer=trailer))
    assert not check.ok and rule in {r for _, _, r in _errors(check)}


def test_header_any_case_any_order_unknown_column_warns_missing_required_errors(tmp_path):
    cols = list(reversed(COLUMNS))
    text = ",".join(c.upper() for c in cols) + ",Extra\r\n" + ",".join(_field(_row(1)[c]) for c in cols) + ",x\r\n"
    check = _check(tmp_path, text)
    assert check.ok and "unknown_column" in {w.rule for w in check.result.warnings}
    text = ",".join(c for c in COLUMNS if c != "DueDate") + "\r\n"
    assert (1, "DueDate", "missing_column") in _errors(_check(tmp_path, text))


@pytest.mark.parametrize(("values", "column"), [
    ({"AccountNumber": "A" * 21}, "AccountNumber"),
    ({"AccountNumber": "10 0001"}, "AccountNumber"),
    ({"InvoiceNumber": "INV00001"}, "InvoiceNumber"),  # duplicate of line 2
    ({"InvoiceType": "42.0"}, "InvoiceType"),
    ({"PreviousBalance": "10.000"}, "PreviousBalance"),
    ({"PreviousBalance": "1,010.00", "TotalAmountDue": "1015.00"}, "PreviousBalance"),
    ({"PreviousBalance": "$10.00"}, "PreviousBalance"),
    ({"PreviousBalance": "+10.00"}, "PreviousBalance"),
    ({"TotalAmountDue": "15.01"}, "TotalAmountDue"),
    ({"MinimumAmountDue": "15.01"}, "MinimumAmountDue"),
    ({"MinimumAmountDue": "-1.00"}, "MinimumAmountDue"),
    ({"BillDate": "02/29/2029", "DueDate": "03/01/2029"}, "BillDate"),
    ({"BillDate": "2030-11-01"}, "BillDate"),
    ({"DueDate": "10/31/2030"}, "DueDate"),
    ({"Email": "a@b"}, "Email"),
    ({"Phone": "1-435-555-0101"}, "Phone"),
    ({"Phone": "435-555-010"}, "Phone"),
    ({"MailState": "UTA"}, "MailState"),
    ({"MailZip": "846631"}, "MailZip"),
    ({"Paperless": "Yes"}, "Paperless"),
])
def test_each_broken_rule_is_an_error_on_its_line_and_column(tmp_path, values, column):
    assert [(line, col) for line, col, _ in _second_row_errors(tmp_path, **values)] == [(3, column)]


@pytest.mark.parametrize("values", [
    {"PreviousBalance": "-20.00", "TotalAmountDue": "-15.00", "MinimumAmountDue": "0"},  # credit: warning
    {"PreviousBalance": "10", "CurrentCharges": "5", "TotalAmountDue": "15.0"},
    {"DueDate": "11/01/2030"},  # due on the bill date
    {"MailZip": "84663-1234"}, {"MailZip": "846631234"}, {"Phone": "435.555.0101"},
    {"MinimumAmountDue": ""}, {"MinimumAmountDue": "15.00"},
    {"AccountNumber": "10-0001-00"},  # an account with two invoices: warning
])
def test_valid_values_are_not_errors(tmp_path, values):
    assert _second_row_errors(tmp_path, **values) == []


# ---- once deviations from the description, now fixed ----------------------------------------

@pytest.mark.parametrize("values", [
    {"PreviousBalance": "-20.00", "TotalAmountDue": "-15.00", "MinimumAmountDue": "-3.75"},
    {"PreviousBalance": "-20.00", "TotalAmountDue": "-15.00", "MinimumAmountDue": "1.00"},
    {"PreviousBalance": "-5.00", "TotalAmountDue": "0.00", "MinimumAmountDue": "1.00"},
])
def test_minimum_is_unconstrained_when_nothing_is_due(tmp_path, values):
    assert _second_row_errors(tmp_path, **values) == []


@pytest.mark.parametrize(("values", "column"), [
    ({"CurrentCharges": "٥.00"}, "CurrentCharges"),
    ({"MinimumAmountDue": "１.00"}, "MinimumAmountDue"),
    ({"InvoiceType": "４２"}, "InvoiceType"),
    ({"BillDate": "١١/٠١/٢٠٣٠"}, "BillDate"),
    ({"MailZip": "٨٤٦٦٣"}, "MailZip"),
    ({"Phone": "٤٣٥٥٥٥٠١٠١"}, "Phone"),
])
def test_only_ascii_digits_are_digits(tmp_path, values, column):
    assert [(line, col) for line, col, _ in _second_row_errors(tmp_path, **values)] == [(3, column)]


@pytest.mark.parametrize("phone", ["435/555/0101", "[435] 555-0101", "435_555_0101"])
def test_phone_ignores_any_punctuation(tmp_path, phone):
    assert _second_row_errors(tmp_path, Phone=phone) == []


def test_an_unterminated_quote_is_named(tmp_path):
    lines = _text([_row(1), _row(2), _row(3)]).split("\r\n")
    lines[2] = lines[2].replace("SMITH JOHN 2", '"SMITH JOHN 2')
    check = _check(tmp_path, "\r\n".join(lines))
    assert any(p.line == 3 and "quote" in f"{p.rule} {p.message}".lower() for p in check.result.errors)
