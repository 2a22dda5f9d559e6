"""The reader's speed paths give exactly what the cell-by-cell rule book gives.

- whole-chunk pattern checks (convert.column_matcher): one regex call over the cells joined by
  NUL, used only for patterns proved unable to see past their own cell;
- amount bounds read off the canonical text (no '-', no zero amount);
- facts the reader hands to the rules (distinct values of cached columns, columns without a
  negative value) and the chunk-wise duplicate check never hide a finding.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.files import convert, reader
from console.files.convert import Converter, chunk_matches, column_matcher
from console.files.layouts import Column, load_layout, parse_layout
from console.files.reader import read_bytes

SHIPPED_PATTERNS = sorted({c.pattern for name in ("ic-invoice-v1", "ic-payments-v1", "ic-changes-v1",
                                                  "ic-ach-rejects-v1", "ic-balance-v1", "ic-conversion-v1")
                           for c in load_layout(name).columns if c.pattern})


def test_shipped_patterns_that_are_not_simple_classes_get_a_chunk_matcher():
    for p in (r"\d{5}(?:-?\d{4})?", load_layout("ic-invoice-v1").column("Email").pattern,
              load_layout("ic-invoice-v1").column("Phone").pattern,
              load_layout("ic-invoice-v1").column("BillImage").pattern):
        assert column_matcher(p) is not None, p


def test_patterns_that_could_see_past_their_cell_are_refused():
    # may consume the NUL separator, anchors, lookarounds, back references, global flags
    for p in (".*", ".", r"[^a]+", r"\W", r"[\D]", r"[\x00-\x10]", "\x00", r"^a", r"a$", r"\ba",
              r"a(?=b)", r"(?<=a)b", r"(a)\1", r"(?i)abc", r"(?(1)a|b)"):
        assert column_matcher(p) is None, p


def test_a_matcher_never_accepts_a_cell_containing_the_separator():
    m = column_matcher(r"[a-z]+")
    assert m is not None
    assert chunk_matches(m, ["a", "b", ""])
    assert not chunk_matches(m, ["a\x00b"])  # two cells would fit, one cell does not
    assert not chunk_matches(m, ["a", ","])
    assert column_matcher(r"[^,]+") is None  # [^,] would match the separator
    assert chunk_matches(m, [])


PATTERNS = st.sampled_from([*SHIPPED_PATTERNS, r"[^,]+", r"a|ab", r"(?:ab|a)(?:bc|c)?", r"x*?y", r"\d+(?:\.\d+)?",
                            r"(?>a+)b", r"a*+b?", r"[^\x00-\x1f]{2,3}"])
CELLS = st.lists(st.one_of(st.text(alphabet="ab1234567890.-@x,y\x00 ()/eE\n", max_size=12),
                           st.sampled_from(["", "84663", "84663-1234", "a@b.org", "(801) 555-0101", "x.pdf", "ab",
                                            "٣٣٣٣٣", "abc", "1.5"])), max_size=30)


@settings(max_examples=400, deadline=None)
@given(PATTERNS, CELLS)
def test_chunk_match_equals_cell_by_cell(pattern, cells):
    m = column_matcher(pattern)
    if m is None:
        return
    rx = re.compile(pattern, re.DOTALL)
    want = all(c == "" or rx.fullmatch(c) for c in cells)
    assert chunk_matches(m, cells) == want


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([Column(name="A", type="amount", required=True, exclusive_minimum=Decimal(0)),
                        Column(name="A", type="amount", minimum=Decimal(0)),
                        Column(name="A", type="amount", exclusive_minimum=Decimal(0), maximum=Decimal("100.00"))]),
       st.lists(st.one_of(st.from_regex(r"-?\d{1,5}\.\d\d", fullmatch=True),
                          st.sampled_from(["", "0.00", "-0.00", "000.00", ".00", "-.00", ".01", "0.01", "100.00", "100.01"])),
                min_size=1, max_size=40))
def test_amount_bounds_agree_with_the_rule_book(column, cells):
    cells = tuple(cells)
    values, bad = Converter(column).column(cells)
    book = Converter(column)
    for i, s in enumerate(cells):
        try:
            want, rule = book.cell(s), None
        except Exception as exc:  # CellError
            want, rule = None, exc.rule
        assert values[i] == want and type(values[i]) is type(want)
        assert dict((j, e.rule) for j, e in bad).get(i) == rule


# -- what the reader tells the rules (rules.Table.distinct / never_negative) ---------------
TODAY = dt.date(2026, 11, 26)
LAYOUT = parse_layout({
    "name": "speed-facts", "kind": "delimited",
    "columns": [{"name": "Id", "unique": True}, {"name": "Account"},
                {"name": "Bill", "type": "date"}, {"name": "Due", "type": "date"},
                {"name": "Amount", "type": "amount", "default": "-1.00"}, {"name": "Code", "type": "int"}],
    "checks": [{"rule": "due_on_or_after_bill", "bill_date": "Bill", "due_date": "Due"}],
    "warnings": [{"rule": "date_in_past", "column": "Due"}, {"rule": "negative_value", "column": "Amount"},
                 {"rule": "negative_value", "column": "Code"}, {"rule": "repeated_value", "column": "Account"}],
})


def _read(rows: list[str]):
    text = "Id,Account,Bill,Due,Amount,Code\n" + "\n".join(rows) + "\n"
    return read_bytes(text.encode(), LAYOUT, today=TODAY)


def _found(r):
    return sorted((p.line, p.column, p.rule) for p in r.errors + r.warnings)


@pytest.fixture(params=["cached", "cache dropped", "small chunks"])
def mode(request, monkeypatch):
    if request.param == "cache dropped":
        monkeypatch.setattr(convert, "CACHE_LIMIT", 1)
    if request.param == "small chunks":
        monkeypatch.setattr(reader, "CHUNK", 2)
    return request.param


def test_clean_file_has_no_findings(mode):
    r = _read([f"{i},A{i},11/20/2026,12/20/2026,{i}.00,{i}" for i in range(1, 8)])
    assert _found(r) == []


def test_a_single_late_value_is_still_found_whatever_the_facts(mode):
    rows = [f"{i},A{i},11/20/2026,12/20/2026,{i}.00,{i}" for i in range(1, 8)]
    rows[4] = "5,A5,11/20/2026,11/19/2026,5.00,5"  # due before bill, and in the past
    rows[5] = "6,A6,11/20/2026,12/20/2026,-6.00,-6"  # negative amount and code
    rows[6] = "7,A7,11/20/2026,12/20/2026,,7"  # absent amount: default -1.00 is negative
    rows.append("3,A9,11/20/2026,12/20/2026,3.00,3")  # Id 3 again (unique, later chunk)
    rows.append("10,A2,11/20/2026,12/20/2026,3.00,3")  # account A2 again (repeated_value)
    r = _read(rows)
    assert _found(r) == [(6, "Due", "date_in_past"), (6, "Due", "due_on_or_after_bill"),
                         (7, "Amount", "negative_value"), (7, "Code", "negative_value"),
                         (8, "Amount", "negative_value"), (9, "Id", "unique"), (10, "Account", "repeated_value")]
    assert r.columns["Amount"][6] == Decimal("-1.00")


def test_blank_ids_are_not_duplicates(mode):
    r = _read([",B1,11/20/2026,12/20/2026,1.00,1", ",B2,11/20/2026,12/20/2026,1.00,1",
               "1,B3,11/20/2026,12/20/2026,1.00,1"])
    assert _found(r) == []


@pytest.mark.parametrize("zero", ["0.00", "00.00", ".00", "-0.00", "-.00"])
def test_a_zero_amount_breaks_a_greater_than_zero_bound_on_the_fast_path(zero):
    col = Column(name="Amount", type="amount", exclusive_minimum=Decimal(0))
    values, bad = Converter(col).column(("1.00", zero, "2.50") * 200)
    assert values[1] is None and values[0] == Decimal("1.00")
    assert [(i, e.rule) for i, e in bad][:1] == [(1, "minimum")]


# -- shape checks (convert.shape_table / ShapeMatcher) ---------------------------------------
SHAPE_PATTERNS = st.sampled_from([*SHIPPED_PATTERNS, r"a|ab", r"(?:ab|a)(?:bc|c)?", r"x*?y", r"\d+(?:\.\d+)?",
                                  r"(?>a+)b", r"a*+b?", r"[^\x00-\x1f]{2,3}", r"\w+\b", r"\bab\B.", r"a(?=b).",
                                  r"(?<=a)b|b", r"(?!ab)..", r"[^a-c]+", r"[\W\d]+", r"(?a)\w+", r"\s*\S+\s*",
                                  r"[A-Z]{2}\d{2}[A-Z0-9]{4}", r".\n?", r"^a$", r"(?m:^a$\n?)+"])
SHAPE_CELLS = st.lists(st.one_of(st.text(alphabet="abcAB1234567890.-@x,y _()/eE\n\r\t\x0b\x1cPpDdFfé٣", max_size=12),
                                 st.sampled_from(["", "84663", "84663-1234", "a@b.org", "(801) 555-0101", "x.pdf",
                                                  "ab", "abc", "1.5", "AB12CD34"])), max_size=30)


@settings(max_examples=500, deadline=None)
@given(SHAPE_PATTERNS, SHAPE_CELLS)
def test_shape_check_equals_cell_by_cell(pattern, cells):
    """A chunk's verdict by shapes is the regex's verdict cell by cell (or 'cannot tell')."""
    rx = re.compile(pattern, re.DOTALL)
    matcher = convert.ShapeMatcher.for_pattern(pattern, rx)
    assert matcher is not None, pattern
    want = all(c == "" or rx.fullmatch(c) for c in cells)
    chunk = cells * 3  # at most half as many shapes as cells: the shapes are always tried
    for _ in range(2):  # the second time answers from the remembered shapes
        verdict = matcher.matches(chunk)
        if verdict is None:  # only text the shapes cannot stand for is left to the regex
            assert not "".join(cells).isascii() or any("\x00" in c for c in cells)
            break
        assert verdict == want, (pattern, cells)


def test_shapes_stand_for_many_cells():
    rx = re.compile(load_layout("ic-invoice-v1").column("Phone").pattern, re.DOTALL)
    matcher = convert.ShapeMatcher.for_pattern(rx.pattern, rx)
    cells = [f"(801) 555-{i:04d}" for i in range(2000)]
    assert matcher.matches(cells) is True
    assert len(matcher.good) == 2  # "" and one shape: every digit is one class, "( )-" another
    assert matcher.matches(["(801) 555-01x1"]) is None  # one new shape in one cell: the regex decides
    assert matcher.matches(["(801) 555-01x1", "(801) 555-0101"] * 2) is False
    assert matcher.matches(["(801) 555-0101", "(801) 555-01x2"]) is False  # a known bad shape
    assert matcher.matches(["801.555.0101", "8015550101"] * 2) is True


def test_shapes_refuse_patterns_they_cannot_stand_for():
    for p in (r"(a)\1", r"(?i)abc", r"(?i:a)b", r"(?(1)a|b)", r"(a)?(?(1)b|c)", r"(?a:\w)+"):
        assert convert.shape_table(p) is None, p


def test_shapes_give_up_on_text_and_leave_it_to_the_regex():
    rx = re.compile(r"[a-z]{1,8}\d", re.DOTALL)
    matcher = convert.ShapeMatcher.for_pattern(rx.pattern, rx)
    assert matcher.matches(["café1"] * 4) is None  # not ASCII: the regex decides
    assert matcher.matches(["a\x00b1"] * 4) is None  # a NUL inside a cell
    assert matcher.paying
    # a long chunk with nearly one shape per cell: shapes stop paying for this column
    rx = re.compile(r"(?:a|bb|c){1,40}\d", re.DOTALL)  # each letter a class of its own
    matcher = convert.ShapeMatcher.for_pattern(rx.pattern, rx)
    rng = random.Random(5)
    cells = ["".join(rng.choices(["a", "bb", "c"], k=12)) + "1" for _ in range(1024)]
    assert matcher.matches(cells) is None
    assert not matcher.paying
    assert matcher.matches(["a1"] * 4) is None


def test_a_column_with_a_pattern_agrees_with_the_rule_book_through_shapes():
    conv = Converter(Column(name="X", type="text", pattern=r"\d{1,9}[A-Z]{0,3}"))
    cells = [f"{i}" for i in range(2048)]  # digits only: one shape per length
    assert conv.column(cells[:1024]) == (cells[:1024], [])
    values, bad = conv.column(cells[1024:] + ["12x"])
    assert [(i, e.rule) for i, e in bad] == [(1024, "format")]
    assert conv._shapes.paying and len(conv._shapes.good) <= 6


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"-?[0-9]{0,4}\.[0-9]{2}", fullmatch=True),
                          st.text(alphabet="0123456789.-\n", max_size=8),
                          st.sampled_from(["1.234", "1.2", "1..00", ".00", "-.00", "1.00-", "--1.00", "1.0a",
                                           "1\n2.00", "\u0661.00", "12", "-", "."])), min_size=1, max_size=12))
def test_canonical_amounts_agree_with_the_rule_book(cells):
    """The byte-level amount check accepts a chunk only when every cell is an amount the rule
    book reads to the same value."""
    from console.domain.money import AmountError, parse_amount

    fast = convert._canonical_amounts(cells)
    if fast is None:
        return
    for cell, value in zip(cells, fast, strict=True):
        try:
            want = parse_amount(cell)
        except AmountError:
            pytest.fail(f"{cell!r} passed the fast check but is not an amount")
        assert value == want and str(value) == str(want), cell


def test_canonical_amounts_refuse_what_is_not_two_places():
    for bad in (["1.234"], ["1.2"], ["1..00"], ["1.00-"], ["--1.00"], ["1\n2.00"], ["12", "1.00.00"], ["\u0661.00"]):
        assert convert._canonical_amounts(bad) is None, bad
    assert convert._canonical_amounts(["1.00", "-2.50", ".00", "0.10"]) == [Decimal("1.00"), Decimal("-2.50"),
                                                                          Decimal("0.00"), Decimal("0.10")]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["", "A", "B", "C", "D", "E", "F", "G", "H"]), max_size=40), st.data())
def test_distinct_tracking_equals_a_set(values, data):
    """Sorted columns are told distinct by comparing neighbours; anything else by a set."""
    if data.draw(st.booleans()):
        values = sorted(values)  # the usual export: in order (repeats adjacent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(values)), max_size=5)))
    tracker = reader._Distinct()
    store: list[str] = []
    for a, b in zip([0, *cuts], [*cuts, len(values)], strict=True):
        chunk = tuple(values[a:b])
        store.extend(chunk)
        tracker.add(chunk, store)
    present = [v for v in values if v]
    assert tracker.all_distinct == (len(set(present)) == len(present)), (values, cuts)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab,\"\r\n é€\x0c\x85\u2028\x1c", max_size=60), st.integers(1, 9),
       st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_block_lines_are_what_a_text_stream_gives(text, block, encoding):
    """Lines read a block at a time (ends kept) are exactly TextIOWrapper(newline="")'s, with a
    block boundary anywhere: inside a "\\r\\n", inside a multi-byte character, inside a line."""
    import io

    data = text.encode(encoding, errors="replace")
    want = list(io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline=""))
    old = reader.BLOCK
    reader.BLOCK = block
    try:
        lines = reader._Lines(io.BytesIO(data), encoding, "replace")
        got = list(lines.iterate())
    finally:
        reader.BLOCK = old
    assert got == want
    assert lines.size == len(data)
    import hashlib

    assert lines.digest.hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("block", [1, 3, 64, 1 << 20])
def test_a_file_reads_the_same_whatever_the_block_size(block):
    layout = load_layout("ic-invoice-v1")
    head = ",".join(layout.names)
    good = ('12-3456-00,INV1,42,"NÚÑEZ, ANA",1 MAIN ST,"PO BOX 9\r\nREAR",,PROVO,UT,84601,,,'
            '11/01/2026,11/25/2026,0.00,10.00,10.00,2.50,Y,N,N,a.pdf')
    bad = good.replace("INV1", "INV2").replace("84601", "8460").replace("10.00,10.00", "10.00,11.00")
    text = f"{head}\r\n{good}\r\n\r\n{bad}\r\n{good.replace('INV1', 'INV3')}\rTRAILER,3,31.00\r\n"
    want = read_bytes(text.encode(), layout)
    old = reader.BLOCK
    reader.BLOCK = block
    try:
        got = read_bytes(text.encode(), layout)
    finally:
        reader.BLOCK = old
    assert [(p.line, p.column, p.rule) for p in got.errors] == [(p.line, p.column, p.rule) for p in want.errors]
    assert got.lines == want.lines == [2, 5, 7]  # two records span two lines each
    assert list(got.records) == list(want.records) and got.fingerprint == want.fingerprint
    assert {(p.line, p.rule) for p in got.errors} >= {(5, "format"), (5, "balance_forward")}
