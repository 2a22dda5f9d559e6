"""Property: whatever items are built, reading the file back gives the same items, batches and totals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from console.lockbox.format import (
    FileHeader,
    LockboxItem,
    build_lockbox,
    read_lockbox,
    to_ascii,
    verify_roundtrip,
)
from console.lockbox.layout import load_lockbox_layout

LAYOUT = load_lockbox_layout()
ident = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=15)
any_text = st.text(max_size=60)  # any Unicode, controls included: transliterated and truncated
items = st.lists(
    st.builds(
        LockboxItem,
        payment_id=ident, confirmation=ident, reference=st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                                                 max_size=20),
        item_code=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=8),
        gl_account=st.from_regex(r"\d{2}-\d{4}-\d{3}", fullmatch=True),
        amount=st.integers(1, 9_999_999_999).map(lambda c: Decimal(c).scaleb(-2)),
        payer_name=any_text, invoice_number=any_text,
        deposit_date=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    ),
    min_size=1, max_size=40, unique_by=lambda i: to_ascii(i.confirmation),
)


@settings(max_examples=100, deadline=None)
@given(items=items, max_items=st.integers(1, 7))
def test_round_trip_identity(items, max_items):
    from dataclasses import replace

    layout = replace(LAYOUT, max_items_per_batch=max_items)
    built = build_lockbox(items, FileHeader("TOWN", 7, datetime(2026, 5, 1, 13, 45)), layout)
    assert built.ok, built.errors
    lines = built.data.decode("ascii").split("\r\n")
    assert lines[-1] == "" and all(len(x) == 80 and x.isprintable() for x in lines[:-1])
    back = read_lockbox(built.data, layout)
    assert verify_roundtrip(built, back) == []
    assert back.items == built.items
    assert back.total == sum((i.amount for i in items), Decimal(0))
    assert all(b.item_count <= max_items for b in back.batches)
    assert sorted(i.amount for i in back.items) == sorted(i.amount for i in items)
    assert [i.confirmation for i in back.items] == [to_ascii(i.confirmation)
                                                    for i in sorted(items, key=lambda i: i.deposit_date)]
