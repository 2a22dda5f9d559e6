"""The reader's speed paths give exactly what the cell-by-cell rule book gives.

- whole-chunk pattern checks (convert.column_matcher): one regex call over the cells joined by
  NUL, used only for patterns proved unable to see past their own cell;
- amount bounds read off the canonical text (no '-', no zero amount).
"""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from console.files.convert import Converter, chunk_matches, column_matcher
from console.files.layouts import Column, load_layout

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
                          st.sampled_from(["", "0.00", "-0.00", "000.00", "0.01", "100.00", "100.01"])),
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
