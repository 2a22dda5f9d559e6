"""Layout files: the shipped ones match file-layouts.md; bad layouts are refused with a reason;
an administrator's copy wins; rules are registered functions referenced by name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from console.files import rules
from console.files.layouts import LayoutError, list_layouts, load_layout, parse_layout
from console.files.reader import read_bytes
from console.paths import Paths

SPEC = {
    "ic-invoice-v1": "AccountNumber, InvoiceNumber, InvoiceType, CustomerName, ServiceAddress, MailAddress1, "
                     "MailAddress2, MailCity, MailState, MailZip, Email, Phone, BillDate, DueDate, PreviousBalance, "
                     "CurrentCharges, TotalAmountDue, MinimumAmountDue, AllowPartialPayments, Paperless, AutoPay, "
                     "BillImage",
    "ic-payments-v1": "PaymentId, ConfirmationNumber, AccountNumber, InvoiceNumber, InvoiceType, PayerName, Tender, "
                      "CardLast4, Amount, ConvenienceFee, PaymentDate, SettlementDate, Status",
    "ic-ach-rejects-v1": "PaymentId, AccountNumber, Amount, ReturnCode, ReturnDate, Reason",
    "ic-changes-v1": "ChangeId, AccountNumber, ChangedAt, Field, OldValue, NewValue",
    "ic-balance-v1": "AdjustmentId, AccountNumber, InvoiceNumber, AdjustedAt, AdjustmentAmount, BalanceDue, "
                     "MinimumAmountDue, Reason",
    "ic-conversion-v1": "AccountNumber, CustomerName, Email, Phone, Paperless, AutoPay, Registered, EffectiveDate",
}
# Optional columns a layout gained after the spec, by version (docs/layouts.md): the spec's stay first, in order.
ADDED = {"ic-invoice-v1": (2, "AutoPayDate, NotifyDate1, NotifyDate2, NotifyDate3, BillExpires")}
CONTROL = {"ic-invoice-v1": ("sum", "TotalAmountDue"), "ic-payments-v1": ("sum", "Amount"),
           "ic-ach-rejects-v1": ("sum", "Amount"), "ic-changes-v1": ("count", None),
           "ic-balance-v1": ("sum", "AdjustmentAmount"), "ic-conversion-v1": ("count", None)}


@pytest.mark.parametrize("name", sorted(SPEC))
def test_shipped_layouts_match_the_spec(name):
    layout = load_layout(name)
    assert layout.name == name and layout.kind == "delimited"
    version, added = ADDED.get(name, (1, ""))
    assert layout.version == version
    assert list(layout.names) == [c.strip() for c in f"{SPEC[name]}, {added}".split(",") if c.strip()]
    assert not any(layout.column(c.strip()).required for c in added.split(",") if c.strip())
    assert (layout.trailer.control, layout.trailer.column) == CONTROL[name]
    assert layout.trailer.marker == "TRAILER" and not layout.trailer.required
    text = layout.source.read_text(encoding="utf-8")
    assert text.startswith("#") and "docs/layouts.md" in text  # documented in its header comment


def test_every_shipped_layout_is_listed_and_other_formats_are_skipped():
    names = list_layouts()
    assert set(SPEC) | {"ic-invoice-fixed-v1"} <= set(names)
    assert "lockbox-bai80" not in names  # the lockbox builder's layout is another format
    assert list_layouts(kind="fixed") == ["ic-invoice-fixed-v1"]


def test_unknown_layout_name():
    with pytest.raises(LayoutError):
        load_layout("no-such-layout")
    with pytest.raises(LayoutError):
        load_layout("../../etc/passwd")


BASE = {"name": "t", "columns": [{"name": "A", "type": "amount"}]}


@pytest.mark.parametrize("change, words", [
    ({"columns": [{"name": "A", "type": "money"}]}, "type"),
    ({"columns": [{"name": "A", "pattern": "("}]}, "pattern"),
    ({"columns": [{"name": "A"}, {"name": "a"}]}, "twice"),
    ({"columns": [{"name": "A", "colour": "red"}]}, "unknown keys"),
    ({"columns": [{"type": "text"}]}, "name"),
    ({"columns": [{"name": "A", "type": "enum"}]}, "values"),
    ({"columns": [{"name": "A", "type": "amount", "default": "x"}]}, "default"),
    ({"columns": [{"name": "A", "type": "date", "format": "DD.MM.YY"}]}, "date format"),
    ({"kind": "fixed", "columns": [{"name": "A"}]}, "start"),
    ({"trailer": {"control": "sum"}}, "trailer"),
    ({"trailer": {"control": "average", "column": "A"}}, "trailer control"),
    ({"checks": [{"rule": "no_such_rule"}]}, "unknown rule"),
    ({"checks": [{"rule": "balance_forward", "total": "Nope"}]}, "Nope"),
    ({"columns": [{"name": "A", "type": "amount", "minimum": 0.5}]}, "float"),
])
def test_bad_layouts_are_refused_with_a_reason(change, words):
    with pytest.raises(LayoutError) as exc:
        parse_layout({**BASE, **change})
    assert words.lower() in str(exc.value).lower()


def test_an_administrator_copy_wins(tmp_path):
    shipped = load_layout("ic-ach-rejects-v1")
    folder = Paths.default().config_dir / "layouts"
    folder.mkdir(parents=True)
    text = shipped.source.read_text(encoding="utf-8").replace('name = "Reason"', 'name = "Reason"\nrequired = true')
    (folder / "ic-ach-rejects-v1.toml").write_text(text, encoding="utf-8")
    copy = load_layout("ic-ach-rejects-v1")
    assert copy.source == folder / "ic-ach-rejects-v1.toml"
    assert copy.column("Reason").required and not shipped.column("Reason").required


def test_a_layout_can_be_loaded_by_path(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text('name = "mine"\n[[columns]]\nname = "A"\ntype = "int"\nrequired = true\n', encoding="utf-8")
    layout = load_layout(str(p))
    r = read_bytes(b"a\n1\n\n2\n", layout)
    assert r.ok and r.column("A") == [1, 2]


def test_rules_are_registered_functions_referenced_by_name(tmp_path):
    @rules.rule("test_even_only")
    def even_only(table, check):
        col = table.name(check.params["column"])
        for i, v in enumerate(table.col(col)):
            if v is not None and v % 2:
                yield i, col, f"{col} {v} is odd"

    try:
        layout = parse_layout({"name": "t", "columns": [{"name": "N", "type": "int"}],
                               "checks": [{"rule": "test_even_only", "column": "N"}]})
        r = read_bytes(b"N\n2\n3\n", layout)
        assert [(p.line, p.column, p.rule, p.message) for p in r.errors] == [(3, "N", "test_even_only", "N 3 is odd")]
    finally:
        del rules.RULES["test_even_only"]


def test_same_rule_as_warning_or_error():
    def layout(kind):
        return parse_layout({"name": "t", "columns": [{"name": "D", "type": "date"}],
                             kind: [{"rule": "date_in_past", "column": "D"}]})

    data = b"D\n01/01/2020\n"
    assert not read_bytes(data, layout("checks"), today=dt.date(2026, 1, 1)).ok
    w = read_bytes(data, layout("warnings"), today=dt.date(2026, 1, 1))
    assert w.ok and [p.rule for p in w.warnings] == ["date_in_past"]


def test_docs_describe_the_layout_format():
    doc = Path(__file__).resolve().parents[2] / "docs" / "layouts.md"
    text = doc.read_text(encoding="utf-8")
    for word in ("[[columns]]", "[[checks]]", "[[warnings]]", "[trailer]", "implied_decimals", "balance_forward"):
        assert word in text


def test_a_layout_message_with_unknown_placeholders_does_not_break_reading():
    layout = parse_layout({"name": "t", "columns": [{"name": "A", "type": "amount"}],
                           "warnings": [{"rule": "negative_value", "column": "A",
                                         "message": "credit {value} {nope} {0}"}]})
    r = read_bytes(b"A\n-1.00\n", layout)
    assert r.warnings[0].message.startswith("credit")


def test_a_delimited_layout_without_a_header_reads_columns_by_position():
    layout = parse_layout({"name": "t", "header": False, "columns": [
        {"name": "Account", "required": True}, {"name": "Amount", "type": "amount", "required": True}],
        "trailer": {"control": "sum", "column": "Amount"}})
    r = read_bytes(b"A-1,1.50\nA-2,2.50\nTRAILER,2,4.00\n", layout)
    assert r.ok and r.column("Amount") == [Decimal("1.50"), Decimal("2.50")] and r.records[1].line == 2
    bad = read_bytes(b"A-1,x\n", layout)
    assert [(p.line, p.column, p.rule) for p in bad.errors] == [(1, "Amount", "amount")]
    assert [p.rule for p in read_bytes(b"", layout).errors] == ["empty_file"]
