"""PackedText: a text column kept as joined chunks behaves like the list of its cells."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.files.layouts import load_layout
from console.files.packed import PackedText
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
            "AccountNumber": f"{i % 2900:02d}-{i:04d}", "InvoiceNumber": f"INV{i:06d}", "InvoiceType": 42,
            "CustomerName": f"SMITH, ANN {i}" if i % 7 else "  ", "ServiceAddress": f"{i} MAIN ST",
            "MailAddress1": "" if i % 3 else f"PO BOX {i}", "MailCity": "PROVO", "MailState": "UT",
            "MailZip": "84601" if i != 1500 else "8460", "Email": "" if i % 2 else f"a{i}@example.org",
            "Phone": "(801) 555-0101" if i % 5 else "", "BillDate": dt.date(2026, 11, 1),
            "DueDate": dt.date(2026, 11, 25), "PreviousBalance": "0.00",
            "CurrentCharges": "10.00", "TotalAmountDue": "10.00", "MinimumAmountDue": "2.50",
            "BillImage": f"{i}.pdf", "MailAddress2": "APT 1\nREAR" if i == 7 else "",
        })
    data = write_delimited(rows, layout).encode()
    plain = read_bytes(data, layout)
    packed = read_bytes(data, layout, pack_text=True)
    assert any(isinstance(v, PackedText) for v in packed.columns.values())
    assert not any(isinstance(v, PackedText) for v in plain.columns.values())
    for name in layout.names:
        assert list(packed.columns[name]) == list(plain.columns[name]), name
    assert list(packed.records) == list(plain.records)
    assert packed.errors == plain.errors and packed.warnings == plain.warnings
    assert packed.errors  # the bad zip (and the blank required name) are found either way
