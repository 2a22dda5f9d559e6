"""PackedText: a text column kept as joined chunks behaves like the list of its cells."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.files.layouts import load_layout
from console.files.packed import PackedAmounts, PackedText
from console.files.reader import read_bytes
from console.files.writer import write_delimited

CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL, max_size=8), max_size=6), st.data())
def test_packed_text_is_the_list_of_its_cells(chunks, data):
    packed = PackedText()
    flat: list[str] = []
    for chunk in chunks:
        packed.add_chunk(chunk)
        flat.extend(chunk)
    assert len(packed) == len(flat)
    assert list(packed) == flat and packed == flat and flat == packed
    assert packed.tolist() == flat
    for i in range(-len(flat), len(flat)):
        assert packed[i] == flat[i]
    if flat:
        j = data.draw(st.integers(0, len(flat) - 1))
        assert (flat[j] in packed) and packed.count(flat[j]) == flat.count(flat[j])
        start, stop = data.draw(st.integers(0, len(flat))), data.draw(st.integers(0, len(flat)))
        assert packed[start:stop] == flat[start:stop]
        assert packed[::-1] == flat[::-1]
        # a preview drops a cut last row
        assert packed.pop() == flat.pop()
        assert list(packed) == flat and len(packed) == len(flat)
    with pytest.raises(IndexError):
        packed[len(flat)]


def test_cells_holding_the_separator_are_kept_as_they_are():
    packed = PackedText()
    packed.add_chunk(["a\x00b", "c"])
    packed.add_chunk(["d", ""])
    assert list(packed) == ["a\x00b", "c", "d", ""]
    assert packed[0] == "a\x00b" and packed[3] == ""


def test_long_slices_and_empty():
    packed = PackedText(str(i) for i in range(1000))
    assert packed[100:900] == [str(i) for i in range(100, 900)]
    assert PackedText() == [] and len(PackedText()) == 0
    with pytest.raises(IndexError):
        PackedText().pop()
    assert "PackedText(['0', '1'" in repr(packed)


def test_a_packed_read_holds_what_a_plain_read_holds():
    """The invoice check packs its text columns: every value, record and problem is the same."""
    layout = load_layout("ic-invoice-v1")
    rows = []
    for i in range(3000):
        rows.append({
            "AccountNumber": f"{i % 2900:02d}-{i:04d}", "InvoiceNumber": f"INV{i:06d}",
            "CustomerName": f"SMITH, ANN {i}" if i % 7 else "  ", "ServiceAddress": f"{i} MAIN ST",
            "MailAddress1": "" if i % 3 else f"PO BOX {i}", "MailCity": "PROVO", "MailState": "UT",
            "MailZip": "84601" if i != 1500 else "8460", "Email": "" if i % 2 else f"a{i}@example.org",
            "Phone": "(801) 555-0101" if i % 5 else "", "BillDate": dt.date(2026, 11, 1),
            "DueDate": dt.date(2026, 11, 25), "PreviousBalance": "0.00" if i % 4 else "-12.00",
            "CurrentCharges": "10.00", "TotalAmountDue": "10.00" if i % 4 else "-2.00",
            "MinimumAmountDue": "2.50" if i % 4 else ("0.00" if i % 8 else "1.00"),
            "InvoiceType": 42 if i % 10 else 101,
            "BillImage": f"{i}.pdf", "MailAddress2": "APT 1\nREAR" if i == 7 else "",
        })
    lines = write_delimited(rows, layout).split("\r\n")
    lines = [ln.replace(",10.00,", ",10.0x,") if "INV000900" in ln else ln for ln in lines]  # an unreadable amount
    data = "\r\n".join(lines).encode()
    plain = read_bytes(data, layout)
    packed = read_bytes(data, layout, pack_text=True, pack_amounts=True)
    assert any(isinstance(v, PackedText) for v in packed.columns.values())
    assert isinstance(packed.columns["TotalAmountDue"], PackedAmounts)
    assert not any(isinstance(v, PackedText) for v in plain.columns.values())
    for name in layout.names:
        assert list(packed.columns[name]) == list(plain.columns[name]), name
    assert list(packed.records) == list(plain.records)
    assert packed.errors == plain.errors and packed.warnings == plain.warnings
    assert packed.errors  # the bad zip (and the blank required name) are found either way
    rules = {p.rule for p in packed.errors} | {p.rule for p in packed.warnings}
    assert {"format", "amount", "negative_value", "minimum_when_nothing_due"} <= rules
    assert packed.total("TotalAmountDue") == plain.total("TotalAmountDue")


def test_the_invoice_summary_is_the_same_from_packed_columns(tmp_path):
    from console.services.invoices import check_invoices, summarize

    layout = load_layout("ic-invoice-v1")
    rows = [{"AccountNumber": f"A{i % 40}", "InvoiceNumber": f"I{i}", "InvoiceType": (42, 101, 7)[i % 3],
             "CustomerName": "X", "BillDate": dt.date(2026, 11, 1), "DueDate": dt.date(2026, 11, 25),
             "PreviousBalance": "-5.00" if i % 5 == 0 else "1.00", "CurrentCharges": "2.25",
             "TotalAmountDue": "-2.75" if i % 5 == 0 else "3.25", "MinimumAmountDue": "0.00"} for i in range(400)]
    path = tmp_path / "inv.txt"
    path.write_text(write_delimited(rows, layout), encoding="utf-8")
    check = check_invoices(path, today=dt.date(2026, 10, 1))
    plain = read_bytes(path.read_bytes(), layout, today=dt.date(2026, 10, 1))
    assert isinstance(check.result.columns["TotalAmountDue"], PackedAmounts)
    assert check.summary == summarize(plain)
    assert check.summary.credit_balance_count == 80 and len(check.summary.by_type) == 3
    assert check.total_amount_due == plain.total("TotalAmountDue")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-10**9, 10**9)), max_size=12))
def test_packed_amounts_are_decimals_with_two_places(cents):
    from decimal import Decimal

    packed = PackedAmounts(list(cents))
    want = [None if c is None else (Decimal(c) / 100).quantize(Decimal("0.01")) for c in cents]
    assert list(packed) == want and packed == want and len(packed) == len(want)
    assert all(v is None or str(v) == f"{v:.2f}" for v in packed)  # always two places
    for i in range(len(want)):
        assert packed[i] == want[i]
    assert packed[1:3] == want[1:3]
    if want:
        assert packed.pop() == want.pop() and packed == want


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"-?[0-9]{0,4}\.[0-9]{2}", fullmatch=True),
                          st.text(alphabet="0123456789.-\n_ ", max_size=8)), min_size=1, max_size=12))
def test_cents_fast_path_agrees_with_the_rule_book(cells):
    from console.domain.money import AmountError, parse_amount, to_cents
    from console.files import convert

    found = convert._canonical_cents(cells)
    if found is None:
        return
    cents, negative = found
    for cell, c in zip(cells, cents, strict=True):
        try:
            want = to_cents(parse_amount(cell))
        except AmountError:
            pytest.fail(f"{cell!r} passed the fast check but is not an amount")
        assert c == want, cell
    assert negative == any("-" in c for c in cells)
