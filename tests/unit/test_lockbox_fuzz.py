"""Property: the reader never crashes on damaged input, and any damage to a valid file is reported."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from console.lockbox.format import FileHeader, LockboxItem, build_lockbox, read_lockbox
from console.lockbox.layout import load_lockbox_layout

LAYOUT = load_lockbox_layout()
CHECKED = {"batch", "item", "item_count", "batch_count", "record_count"}
VALID = build_lockbox(
    [LockboxItem(f"P{i}", f"C{i:05d}", f"AR-{i}", "101", "10-3210-000", Decimal(i * 101).scaleb(-2), "SMITH JOHN",
                 f"INV{i}", deposit_date=date(2026, 11, 21)) for i in range(1, 8)],
    FileHeader("TOWN", 1, datetime(2026, 11, 26, 8, 0)), LAYOUT).data


@settings(max_examples=300, deadline=None)
@given(pos=st.integers(0, len(VALID) - 1), byte=st.integers(0, 255))
def test_any_changed_byte_is_reported_or_harmless(pos, byte):
    data = bytearray(VALID)
    old = data[pos]
    data[pos] = byte
    f = read_lockbox(bytes(data), LAYOUT)
    if byte == old:
        assert f.ok
        return
    line_no, col = divmod(pos, LAYOUT.record_length + 2)
    record = VALID.split(b"\r\n")[line_no].decode()
    spec = LAYOUT.by_type[record[0]]
    field = next((f for f in spec.fields if f.start - 1 <= col < f.end), None)
    in_alpha = field is not None and field.kind == "alpha"
    # digits of fields nothing else checks (dates, times, the lockbox number) may change validly
    free_digits = (field is not None and field.kind in ("date", "time", "number") and field.name not in CHECKED
                   and chr(byte).isdigit())
    if not (in_alpha or free_digits) or not (32 <= byte < 127):
        # counts, sequences, amounts, totals, constants, record types, filler, line ends, or a
        # non-printable byte: always an error
        assert not f.ok, (line_no + 1, col + 1, byte)
        return
    # a printable change inside a text field (names, references) is still a valid file,
    # with the same totals
    if f.ok:
        original = read_lockbox(VALID, LAYOUT)
        assert f.total == original.total and f.record_count == original.record_count
        assert [i.amount for i in f.items] == [i.amount for i in original.items]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_reader(data):
    f = read_lockbox(data, LAYOUT)
    assert not f.ok or data.endswith(b"\r\n")
