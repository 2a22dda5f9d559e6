"""Every rule of every shipped layout, one broken at a time on an otherwise valid file.

``CASES`` lists (layout, changed cells, expected column, expected rule, severity). The last
test checks the table is complete: every column rule (required, pattern, type, range, enum,
unique) and every [[checks]] / [[warnings]] entry of every shipped layout has a case here —
adding a rule to a layout without a test fails the suite.
"""

from __future__ import annotations

import datetime as dt

import pytest

from console.files.layouts import list_layouts, load_layout
from console.files.reader import read_bytes
from console.files.writer import format_value

TODAY = dt.date(2026, 11, 1)

VALID = {
    "ic-invoice-v1": {
        "AccountNumber": "12-3456-00", "InvoiceNumber": "INV1", "InvoiceType": "42", "CustomerName": "SMITH, ANN",
        "ServiceAddress": "1 MAIN ST", "MailAddress1": "PO BOX 1", "MailAddress2": "", "MailCity": "SPRINGVILLE",
        "MailState": "UT", "MailZip": "84663-1234", "Email": "ann@example.org", "Phone": "(435) 555-0101",
        "BillDate": "11/01/2026", "DueDate": "11/25/2026", "PreviousBalance": "10.00", "CurrentCharges": "5.50",
        "TotalAmountDue": "15.50", "MinimumAmountDue": "3.00", "AllowPartialPayments": "Y", "Paperless": "N",
        "AutoPay": "N", "BillImage": "12-3456-00.pdf",
    },
    "ic-payments-v1": {
        "PaymentId": "P1", "ConfirmationNumber": "C1", "AccountNumber": "12-3456-00", "InvoiceNumber": "INV1",
        "InvoiceType": "42", "PayerName": "SMITH JOHN", "Tender": "CARD", "CardLast4": "1234", "Amount": "25.00",
        "ConvenienceFee": "2.95", "PaymentDate": "11/20/2026 10:00:00", "SettlementDate": "11/21/2026",
        "Status": "APPROVED",
    },
    "ic-ach-rejects-v1": {
        "PaymentId": "P1", "AccountNumber": "12-3456-00", "Amount": "25.00", "ReturnCode": "R01",
        "ReturnDate": "11/20/2026", "Reason": "Insufficient funds",
    },
    "ic-changes-v1": {
        "ChangeId": "C1", "AccountNumber": "12-3456-00", "ChangedAt": "11/20/2026 10:00:00", "Field": "PAPERLESS",
        "OldValue": "N", "NewValue": "Y",
    },
    "ic-balance-v1": {
        "AdjustmentId": "A1", "AccountNumber": "12-3456-00", "InvoiceNumber": "INV1",
        "AdjustedAt": "11/20/2026 10:00:00", "AdjustmentAmount": "-5.00", "BalanceDue": "20.00",
        "MinimumAmountDue": "5.00", "Reason": "Leak credit",
    },
    "ic-conversion-v1": {
        "AccountNumber": "12-3456-00", "CustomerName": "SMITH JOHN", "Email": "a@example.org",
        "Phone": "435-555-0101", "Paperless": "Y", "AutoPay": "N", "Registered": "Y", "EffectiveDate": "11/01/2026",
    },
}
# Second rows for rules about several rows (unique keys differ unless a case says otherwise).
SECOND = {
    "ic-invoice-v1": {"InvoiceNumber": "INV2", "AccountNumber": "12-3456-01", "BillImage": "12-3456-01.pdf"},
    "ic-payments-v1": {"PaymentId": "P2", "ConfirmationNumber": "C2"},
    "ic-ach-rejects-v1": {"PaymentId": "P2"},
    "ic-changes-v1": {"ChangeId": "C2", "AccountNumber": "12-3456-01"},
    "ic-balance-v1": {"AdjustmentId": "A2"},
    "ic-conversion-v1": {"AccountNumber": "12-3456-01"},
}

E, W = "error", "warning"
# (layout, changes to row 1, changes to row 2 (None: one row only), column, rule, severity, line)
CASES = [
    # -- ic-invoice-v1 ------------------------------------------------------------
    ("ic-invoice-v1", {"AccountNumber": ""}, None, "AccountNumber", "required", E, 2),
    ("ic-invoice-v1", {"AccountNumber": "12 3456"}, None, "AccountNumber", "format", E, 2),
    ("ic-invoice-v1", {"AccountNumber": "1" * 21}, None, "AccountNumber", "format", E, 2),
    ("ic-invoice-v1", {"InvoiceNumber": ""}, None, "InvoiceNumber", "required", E, 2),
    ("ic-invoice-v1", {}, {"InvoiceNumber": "INV1"}, "InvoiceNumber", "unique", E, 3),
    ("ic-invoice-v1", {"InvoiceType": ""}, None, "InvoiceType", "required", E, 2),
    ("ic-invoice-v1", {"InvoiceType": "4.2"}, None, "InvoiceType", "int", E, 2),
    ("ic-invoice-v1", {"CustomerName": "  "}, None, "CustomerName", "required", E, 2),
    ("ic-invoice-v1", {"MailState": "Utah"}, None, "MailState", "format", E, 2),
    ("ic-invoice-v1", {"MailZip": "8466"}, None, "MailZip", "format", E, 2),
    ("ic-invoice-v1", {"MailZip": "84663-12"}, None, "MailZip", "format", E, 2),
    ("ic-invoice-v1", {"Email": "not-an-email@"}, None, "Email", "format", E, 2),
    ("ic-invoice-v1", {"Phone": "435-555-012"}, None, "Phone", "format", E, 2),
    ("ic-invoice-v1", {"Phone": "435-555-01234"}, None, "Phone", "format", E, 2),
    ("ic-invoice-v1", {"BillDate": ""}, None, "BillDate", "required", E, 2),
    ("ic-invoice-v1", {"BillDate": "02/30/2026"}, None, "BillDate", "date", E, 2),
    ("ic-invoice-v1", {"DueDate": ""}, None, "DueDate", "required", E, 2),
    ("ic-invoice-v1", {"DueDate": "11/31/2026"}, None, "DueDate", "date", E, 2),
    ("ic-invoice-v1", {"PreviousBalance": ""}, None, "PreviousBalance", "required", E, 2),
    ("ic-invoice-v1", {"PreviousBalance": "10.001"}, None, "PreviousBalance", "amount", E, 2),
    ("ic-invoice-v1", {"CurrentCharges": ""}, None, "CurrentCharges", "required", E, 2),
    ("ic-invoice-v1", {"CurrentCharges": "$5.50"}, None, "CurrentCharges", "amount", E, 2),
    ("ic-invoice-v1", {"TotalAmountDue": ""}, None, "TotalAmountDue", "required", E, 2),
    ("ic-invoice-v1", {"TotalAmountDue": "15,50"}, None, "TotalAmountDue", "amount", E, 2),
    ("ic-invoice-v1", {"MinimumAmountDue": "1.2.3"}, None, "MinimumAmountDue", "amount", E, 2),
    ("ic-invoice-v1", {"AllowPartialPayments": "yes"}, None, "AllowPartialPayments", "flag", E, 2),
    ("ic-invoice-v1", {"Paperless": "1"}, None, "Paperless", "flag", E, 2),
    ("ic-invoice-v1", {"AutoPay": "n"}, None, "AutoPay", "flag", E, 2),
    ("ic-invoice-v1", {"BillImage": "bills/12-3456-00.pdf"}, None, "BillImage", "format", E, 2),
    ("ic-invoice-v1", {"BillImage": "12-3456-00.tif"}, None, "BillImage", "format", E, 2),
    ("ic-invoice-v1", {"TotalAmountDue": "15.51"}, None, "TotalAmountDue", "balance_forward", E, 2),
    ("ic-invoice-v1", {"MinimumAmountDue": "15.51"}, None, "MinimumAmountDue", "minimum_within_total", E, 2),
    ("ic-invoice-v1", {"MinimumAmountDue": "-1.00"}, None, "MinimumAmountDue", "minimum_within_total", E, 2),
    # nothing due: the description leaves the minimum free ("when TotalAmountDue > 0"): a warning
    ("ic-invoice-v1", {"PreviousBalance": "-5.50", "TotalAmountDue": "0.00", "MinimumAmountDue": "1.00"}, None,
     "MinimumAmountDue", "minimum_when_nothing_due", W, 2),
    ("ic-invoice-v1", {"DueDate": "10/31/2026"}, None, "DueDate", "due_on_or_after_bill", E, 2),
    ("ic-invoice-v1", {}, {"AccountNumber": "12-3456-00"}, "AccountNumber", "repeated_value", W, 3),
    # the BIF-customization columns (version 2): optional dates in order around the due date (11/25/2026)
    ("ic-invoice-v1", {"AutoPayDate": "11/26/2026"}, None, "AutoPayDate", "date_order", E, 2),
    ("ic-invoice-v1", {"AutoPayDate": "2026-11-20"}, None, "AutoPayDate", "date", E, 2),
    ("ic-invoice-v1", {"NotifyDate1": "11/20/2026", "NotifyDate2": "11/15/2026"}, None, "NotifyDate2", "date_order",
     E, 2),
    ("ic-invoice-v1", {"NotifyDate1": "11/25/2026"}, None, "NotifyDate1", "date_order", E, 2),
    ("ic-invoice-v1", {"NotifyDate2": "11/10/2026", "NotifyDate3": "11/30/2026"}, None, "NotifyDate3", "date_order",
     E, 2),
    ("ic-invoice-v1", {"NotifyDate1": "11/31/2026"}, None, "NotifyDate1", "date", E, 2),
    ("ic-invoice-v1", {"NotifyDate2": "1/2/2026"}, None, "NotifyDate2", "date", E, 2),
    ("ic-invoice-v1", {"NotifyDate3": "x"}, None, "NotifyDate3", "date", E, 2),
    ("ic-invoice-v1", {"BillExpires": "11/25/2026"}, None, "BillExpires", "date_order", E, 2),
    ("ic-invoice-v1", {"BillExpires": "12/32/2026"}, None, "BillExpires", "date", E, 2),
    ("ic-invoice-v1", {"PreviousBalance": "-20.00", "TotalAmountDue": "-14.50", "MinimumAmountDue": "0"}, None,
     "TotalAmountDue", "negative_value", W, 2),
    ("ic-invoice-v1", {"BillDate": "10/01/2026", "DueDate": "10/25/2026"}, None, "DueDate", "date_in_past", W, 2),
    # -- ic-payments-v1 -------------------------------------------------------------
    ("ic-payments-v1", {"PaymentId": ""}, None, "PaymentId", "required", E, 2),
    ("ic-payments-v1", {}, {"PaymentId": "P1"}, "PaymentId", "unique", E, 3),
    ("ic-payments-v1", {"ConfirmationNumber": ""}, None, "ConfirmationNumber", "required", E, 2),
    ("ic-payments-v1", {"AccountNumber": ""}, None, "AccountNumber", "required", E, 2),
    ("ic-payments-v1", {"AccountNumber": "12/3456"}, None, "AccountNumber", "format", E, 2),
    ("ic-payments-v1", {"InvoiceType": ""}, None, "InvoiceType", "required", E, 2),
    ("ic-payments-v1", {"InvoiceType": "util"}, None, "InvoiceType", "int", E, 2),
    ("ic-payments-v1", {"Tender": ""}, None, "Tender", "required", E, 2),
    ("ic-payments-v1", {"Tender": "CHECK"}, None, "Tender", "enum", E, 2),
    ("ic-payments-v1", {"CardLast4": "123"}, None, "CardLast4", "format", E, 2),
    ("ic-payments-v1", {"CardLast4": "4111111111111111"}, None, "CardLast4", "format", E, 2),
    ("ic-payments-v1", {"Amount": ""}, None, "Amount", "required", E, 2),
    ("ic-payments-v1", {"Amount": "0.00"}, None, "Amount", "minimum", E, 2),
    ("ic-payments-v1", {"Amount": "-5.00"}, None, "Amount", "minimum", E, 2),
    ("ic-payments-v1", {"Amount": "5.5.5"}, None, "Amount", "amount", E, 2),
    ("ic-payments-v1", {"ConvenienceFee": "-0.01"}, None, "ConvenienceFee", "minimum", E, 2),
    ("ic-payments-v1", {"ConvenienceFee": "2.955"}, None, "ConvenienceFee", "amount", E, 2),
    ("ic-payments-v1", {"PaymentDate": ""}, None, "PaymentDate", "required", E, 2),
    ("ic-payments-v1", {"PaymentDate": "11/20/2026 10:00"}, None, "PaymentDate", "timestamp", E, 2),
    ("ic-payments-v1", {"SettlementDate": "11/21/26"}, None, "SettlementDate", "date", E, 2),
    ("ic-payments-v1", {"Status": ""}, None, "Status", "required", E, 2),
    ("ic-payments-v1", {"Status": "DECLINED"}, None, "Status", "enum", E, 2),
    ("ic-payments-v1", {"CardLast4": ""}, None, "CardLast4", "card_last4_only_for_card", E, 2),
    ("ic-payments-v1", {"Tender": "ACH"}, None, "CardLast4", "card_last4_only_for_card", E, 2),
    # -- ic-ach-rejects-v1 ----------------------------------------------------------
    ("ic-ach-rejects-v1", {"PaymentId": ""}, None, "PaymentId", "required", E, 2),
    ("ic-ach-rejects-v1", {}, {"PaymentId": "P1"}, "PaymentId", "unique", E, 3),
    ("ic-ach-rejects-v1", {"AccountNumber": ""}, None, "AccountNumber", "required", E, 2),
    ("ic-ach-rejects-v1", {"AccountNumber": "12_3456"}, None, "AccountNumber", "format", E, 2),
    ("ic-ach-rejects-v1", {"Amount": ""}, None, "Amount", "required", E, 2),
    ("ic-ach-rejects-v1", {"Amount": "0"}, None, "Amount", "minimum", E, 2),
    ("ic-ach-rejects-v1", {"Amount": "x"}, None, "Amount", "amount", E, 2),
    ("ic-ach-rejects-v1", {"ReturnCode": ""}, None, "ReturnCode", "required", E, 2),
    ("ic-ach-rejects-v1", {"ReturnCode": "R00"}, None, "ReturnCode", "format", E, 2),
    ("ic-ach-rejects-v1", {"ReturnCode": "C01"}, None, "ReturnCode", "format", E, 2),
    ("ic-ach-rejects-v1", {"ReturnDate": ""}, None, "ReturnDate", "required", E, 2),
    ("ic-ach-rejects-v1", {"ReturnDate": "2026-11-20"}, None, "ReturnDate", "date", E, 2),
    # -- ic-changes-v1 ----------------------------------------------------------------
    ("ic-changes-v1", {"ChangeId": ""}, None, "ChangeId", "required", E, 2),
    ("ic-changes-v1", {}, {"ChangeId": "C1"}, "ChangeId", "unique", E, 3),
    ("ic-changes-v1", {"AccountNumber": ""}, None, "AccountNumber", "required", E, 2),
    ("ic-changes-v1", {"AccountNumber": "#1"}, None, "AccountNumber", "format", E, 2),
    ("ic-changes-v1", {"ChangedAt": ""}, None, "ChangedAt", "required", E, 2),
    ("ic-changes-v1", {"ChangedAt": "yesterday"}, None, "ChangedAt", "timestamp", E, 2),
    ("ic-changes-v1", {"Field": ""}, None, "Field", "required", E, 2),
    ("ic-changes-v1", {"Field": "ADDRESS"}, None, "Field", "enum", E, 2),
    ("ic-changes-v1", {"Field": "AUTOPAY", "NewValue": "Y"}, None, "NewValue", "value_by_field", E, 2),
    ("ic-changes-v1", {"Field": "PAPERLESS", "NewValue": "ENROLLED"}, None, "NewValue", "value_by_field", E, 2),
    ("ic-changes-v1", {"Field": "PHONE", "NewValue": "555-0101"}, None, "NewValue", "value_by_field", E, 2),
    ("ic-changes-v1", {"Field": "EMAIL", "NewValue": "a@b"}, None, "NewValue", "value_by_field", E, 2),
    ("ic-changes-v1", {}, {"AccountNumber": "12-3456-00", "ChangedAt": "11/20/2026 11:00:00"},
     "ChangedAt", "latest_wins", W, 2),
    # -- ic-balance-v1 ----------------------------------------------------------------
    ("ic-balance-v1", {"AdjustmentId": ""}, None, "AdjustmentId", "required", E, 2),
    ("ic-balance-v1", {}, {"AdjustmentId": "A1"}, "AdjustmentId", "unique", E, 3),
    ("ic-balance-v1", {"AccountNumber": ""}, None, "AccountNumber", "required", E, 2),
    ("ic-balance-v1", {"AccountNumber": "12 3"}, None, "AccountNumber", "format", E, 2),
    ("ic-balance-v1", {"AdjustedAt": ""}, None, "AdjustedAt", "required", E, 2),
    ("ic-balance-v1", {"AdjustedAt": "2026-13-01T00:00:00"}, None, "AdjustedAt", "timestamp", E, 2),
    ("ic-balance-v1", {"AdjustmentAmount": ""}, None, "AdjustmentAmount", "required", E, 2),
    ("ic-balance-v1", {"AdjustmentAmount": "-5.001"}, None, "AdjustmentAmount", "amount", E, 2),
    ("ic-balance-v1", {"BalanceDue": ""}, None, "BalanceDue", "required", E, 2),
    ("ic-balance-v1", {"BalanceDue": "twenty"}, None, "BalanceDue", "amount", E, 2),
    ("ic-balance-v1", {"MinimumAmountDue": "5,00"}, None, "MinimumAmountDue", "amount", E, 2),
    ("ic-balance-v1", {"MinimumAmountDue": "20.01"}, None, "MinimumAmountDue", "minimum_within_total", E, 2),
    # -- ic-conversion-v1 -------------------------------------------------------------
    ("ic-conversion-v1", {"AccountNumber": ""}, None, "AccountNumber", "required", E, 2),
    ("ic-conversion-v1", {"AccountNumber": "12.3456"}, None, "AccountNumber", "format", E, 2),
    ("ic-conversion-v1", {}, {"AccountNumber": "12-3456-00"}, "AccountNumber", "unique", E, 3),
    ("ic-conversion-v1", {"Email": "a@@example.org"}, None, "Email", "format", E, 2),
    ("ic-conversion-v1", {"Phone": "555-0101"}, None, "Phone", "format", E, 2),
    ("ic-conversion-v1", {"Paperless": ""}, None, "Paperless", "required", E, 2),
    ("ic-conversion-v1", {"Paperless": "T"}, None, "Paperless", "flag", E, 2),
    ("ic-conversion-v1", {"AutoPay": ""}, None, "AutoPay", "required", E, 2),
    ("ic-conversion-v1", {"AutoPay": "true"}, None, "AutoPay", "flag", E, 2),
    ("ic-conversion-v1", {"Registered": ""}, None, "Registered", "required", E, 2),
    ("ic-conversion-v1", {"Registered": "0"}, None, "Registered", "flag", E, 2),
    ("ic-conversion-v1", {"EffectiveDate": "11/1/2026"}, None, "EffectiveDate", "date", E, 2),
    ("ic-conversion-v1", {"Email": ""}, None, "Email", "required_when_flag", E, 2),
]


def csv_text(layout_name: str, rows: list[dict]) -> bytes:
    layout = load_layout(layout_name)
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(layout.names)
    for r in rows:
        w.writerow([r.get(n, "") for n in layout.names])
    return out.getvalue().encode()


def _rows(layout, first, second):
    rows = [{**VALID[layout], **first}]
    if second is not None:
        rows.append({**VALID[layout], **SECOND[layout], **second})
    return rows


@pytest.mark.parametrize("layout", sorted(VALID))
def test_the_valid_rows_are_valid(layout):
    r = read_bytes(csv_text(layout, _rows(layout, {}, {})), layout, today=TODAY)
    assert r.ok and not r.warnings, (r.errors, r.warnings)


@pytest.mark.parametrize("layout, first, second, column, rule, severity, line", CASES,
                         ids=[f"{c[0]}:{c[3]}:{c[4]}:{i}" for i, c in enumerate(CASES)])
def test_each_rule(layout, first, second, column, rule, severity, line):
    r = read_bytes(csv_text(layout, _rows(layout, first, second)), layout, today=TODAY)
    got = [(p.line, p.column, p.rule) for p in (r.errors if severity == E else r.warnings)]
    assert got == [(line, column, rule)], (r.errors, r.warnings)
    if severity == W:
        assert r.ok  # warnings never make a file invalid
    else:
        assert not r.ok
    message = (r.errors if severity == E else r.warnings)[0].message
    assert message.strip()


def _rules_of(layout_name: str) -> set[tuple[str, str]]:
    """(column, rule) pairs a layout defines, as the reader names them."""
    layout = load_layout(layout_name)
    out = set()
    for c in layout.columns:
        if c.required:
            out.add((c.name, "required"))
        if c.unique:
            out.add((c.name, "unique"))
        if c.pattern:
            out.add((c.name, "format"))
        if c.type in ("int", "amount", "date", "timestamp", "flag", "enum"):
            out.add((c.name, c.type))
        if c.minimum is not None or c.exclusive_minimum is not None:
            out.add((c.name, "minimum"))
    for check in layout.checks:
        out.add(("*", check.rule))
    return out


@pytest.mark.parametrize("layout", [n for n in list_layouts() if n.startswith("ic-") and "fixed" not in n])
def test_every_rule_of_every_shipped_layout_has_a_case(layout):
    assert layout in VALID, f"no test data for layout {layout}"
    covered = {(c[3], c[4]) for c in CASES if c[0] == layout} | {("*", c[4]) for c in CASES if c[0] == layout}
    missing = {pair for pair in _rules_of(layout) if pair not in covered}
    assert not missing, f"rules without a test in {layout}: {sorted(missing)}"


def test_format_value_writes_what_the_reader_reads():
    layout = load_layout("ic-invoice-v1")
    assert format_value(layout.column("BillDate"), dt.date(2026, 1, 2)) == "01/02/2026"
    assert format_value(layout.column("Paperless"), True) == "Y"
    with pytest.raises(TypeError):
        format_value(layout.column("TotalAmountDue"), 1.5)
