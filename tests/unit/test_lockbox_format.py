"""Lockbox builder and reader (lockbox-bai80): exact positions, batching, text rules, round trip."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from console.errors import ValidationError
from console.lockbox.format import (
    FileHeader,
    LockboxItem,
    build_lockbox,
    read_lockbox,
    to_ascii,
    verify_roundtrip,
    write_lockbox,
)
from console.lockbox.layout import load_lockbox_layout, parse_layout

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "lockbox"
LAYOUT = load_lockbox_layout()
HEADER = FileHeader(destination="DEMO01", lockbox_number=4321, created=datetime(2026, 11, 26, 7, 5))


def item(n: int, amount: str = "12.34", *, name: str = "SMITH JOHN", code: str = "101",
         gl: str = "10-3210-000", deposit: date = date(2026, 11, 21), **kw) -> LockboxItem:
    fields = dict(
        payment_id=f"P{n:09d}", confirmation=f"C{n:012d}", reference=f"AR-{n}", item_code=code,
        gl_account=gl, amount=Decimal(amount), payer_name=name, invoice_number=f"CS{n:07d}",
        deposit_date=deposit, source_line=n + 1,
    )
    return LockboxItem(**{**fields, **kw})


def lines_of(data: bytes) -> list[str]:
    text = data.decode("ascii")
    assert text.endswith("\r\n")
    return text[:-2].split("\r\n")


def golden_items() -> list[LockboxItem]:
    return [
        item(1, "224.12", name="NGUYỄN VAN AN"),
        item(2, "1661.01", name="O'NEIL SEAN", code="102", gl="10-3220-100"),
        item(3, "0.01", name="BJÖRK ÅSA", code="103", gl="20-3450-000"),
        item(4, "99999999.99", name="A VERY LONG PAYER NAME THAT DOES NOT FIT IN THIRTY", code="104",
             gl="51-3700-010", deposit=date(2026, 11, 22), memo="M" * 50),
    ]


def test_golden_file_matches_byte_for_byte():
    built = build_lockbox(golden_items(), HEADER, LAYOUT)
    assert built.ok, built.errors
    assert built.data == (GOLDEN / "basic.txt").read_bytes()


def test_every_record_type_at_its_exact_positions():
    built = build_lockbox(golden_items(), HEADER, LAYOUT)
    lines = lines_of(built.data)
    assert all(len(x) == 80 for x in lines)
    assert "".join(x[0] for x in lines) == "1" + "56464647" + "5647" + "9"
    h = lines[0]
    assert h[0] == "1" and h[1:3] == "01" and h[3:13] == "DEMO01    " and h[13:23] == "INVCLOUD  "
    assert h[23:29] == "261126" and h[29:33] == "0705" and h[33:] == " " * 47
    b = lines[1]
    assert b[0] == "5" and b[1:4] == "001" and b[4:11] == "0004321" and b[11:17] == "261121" and b[17:] == " " * 63
    d = lines[2]
    assert d[0] == "6" and d[1:4] == "001" and d[4:7] == "001" and d[7:17] == "0000022412"
    assert d[17:37] == "AR-1".ljust(20) and d[37:57] == "10-3210-000".ljust(20)
    assert d[57:65] == "101     " and d[65:80] == "C000000000001  "
    o = lines[3]
    assert o[0] == "4" and o[1:4] == "001" and o[4:7] == "001" and o[7:37] == "NGUYEN VAN AN".ljust(30)
    assert o[37:80] == "CS0000001".ljust(43)
    t = lines[8]
    assert t[0] == "7" and t[1:4] == "001" and t[4:7] == "003" and t[7:19] == "000000188514" and t[19:] == " " * 61
    b2 = lines[9]
    assert b2[1:4] == "002" and b2[11:17] == "261122"
    o4 = lines[11]
    assert o4[7:37] == "A VERY LONG PAYER NAME THAT DO" and o4[37:80] == "M" * 43
    assert lines[10][7:17] == "9999999999"
    f = lines[-1]
    assert f[0] == "9" and f[1:4] == "002" and f[4:10] == "000014" and f[10:24] == "00010000188513"
    assert f[24:] == " " * 56


def test_truncation_is_reported_as_warnings():
    built = build_lockbox(golden_items(), HEADER, LAYOUT)
    assert {(w.line, w.rule, w.column) for w in built.warnings} == {
        (5, "truncated", "payer_name (8-37)"), (5, "truncated", "memo (38-80)")}


@pytest.mark.parametrize(("count", "batches"), [(1, [1]), (999, [999]), (1000, [999, 1]),
                                                (2500, [999, 999, 502])])
def test_batches_hold_at_most_999_items(count, batches):
    built = build_lockbox([item(i, "1.05") for i in range(1, count + 1)], HEADER, LAYOUT)
    assert [b.item_count for b in built.batches] == batches
    lines = lines_of(built.data)
    assert len(lines) == 2 + 2 * len(batches) + 2 * count
    assert int(lines[-1][4:10]) == len(lines)
    assert int(lines[-1][1:4]) == len(batches)
    assert Decimal(int(lines[-1][10:24])) / 100 == Decimal("1.05") * count
    trailers = [x for x in lines if x[0] == "7"]
    assert [int(x[4:7]) for x in trailers] == batches
    assert [Decimal(int(x[7:19])) / 100 for x in trailers] == [Decimal("1.05") * n for n in batches]
    details = [x for x in lines if x[0] == "6"]
    assert [(int(x[1:4]), int(x[4:7])) for x in details] == [
        (b, i) for b, n in enumerate(batches, start=1) for i in range(1, n + 1)]
    back = read_lockbox(built.data, LAYOUT)
    assert back.ok and verify_roundtrip(built, back) == []


def test_items_of_different_deposit_dates_never_share_a_batch():
    items = [item(1, deposit=date(2026, 11, 22)), item(2, deposit=date(2026, 11, 21)), item(3, deposit=date(2026, 11, 22))]
    built = build_lockbox(items, HEADER, LAYOUT)
    assert [(b.deposit_date, b.item_count) for b in built.batches] == [(date(2026, 11, 21), 1), (date(2026, 11, 22), 2)]
    assert [i.confirmation for i in built.items] == ["C000000000002", "C000000000001", "C000000000003"]


@pytest.mark.parametrize(("raw", "ascii_"), [
    ("NGUYỄN VAN AN", "NGUYEN VAN AN"), ("BJÖRK ÅSA", "BJORK ASA"), ("DUBOIS RENÉE", "DUBOIS RENEE"),
    ("TAB\tHERE", "TAB HERE"), ("  PADDED ", "PADDED"), ("ﬁNE", "fiNE"),
    # letters that do not decompose keep their usual spelling instead of vanishing
    ("ØYVIND ŁUKASZ", "OYVIND LUKASZ"), ("STRAßE ÆGIR", "STRASSE AEGIR"), ("søren łódź", "soren lodz"),
    ("ŒUVRE æble œil", "OEUVRE aeble oeil"), ("ĐOÀN đức", "DOAN duc"), ("ÞÓR þóra", "THOR thora"),
    ("YILDIZ ıŞIK", "YILDIZ iSIK"), ("O\u2019BRIEN \u2013 \u201cJR\u201d", "O'BRIEN - \"JR\""),
])
def test_non_ascii_text_is_transliterated(raw, ascii_):
    assert to_ascii(raw) == ascii_
    built = build_lockbox([item(1, name=raw)], HEADER, LAYOUT)
    assert built.data.isascii()
    assert lines_of(built.data)[3][7:37].rstrip() == ascii_
    assert [w.rule for w in built.warnings] == []  # nothing was lost


def test_characters_without_an_ascii_form_are_dropped_with_a_warning_on_the_item():
    built = build_lockbox([item(1, name="ŁÓDŹ 漢字 MÜLLER"), item(2), item(3, name="王小明")], HEADER, LAYOUT)
    assert built.ok and built.data.isascii()
    assert [lines_of(built.data)[n][7:37].rstrip() for n in (3, 5, 7)] == ["LODZ  MULLER", "SMITH JOHN", ""]
    warnings = [(w.line, w.rule) for w in built.warnings]
    assert warnings == [(2, "unrepresentable"), (4, "unrepresentable")]
    assert "P000000001" in built.warnings[0].message and "'漢', '字'" in built.warnings[0].message
    empty = built.warnings[1].message
    assert "P000000003" in empty and "empty" in empty and "'王'" in empty
    assert [i.payer_name for i in built.items] == ["LODZ  MULLER", "SMITH JOHN", ""]


def test_identity_fields_longer_than_their_field_block_the_file():
    built = build_lockbox([item(1), item(2, reference="X" * 21), item(3, confirmation="C" * 16)], HEADER, LAYOUT)
    assert not built.ok and built.data == b""
    assert {(p.line, p.column, p.rule) for p in built.errors} == {
        (3, "reference (18-37)", "width"), (4, "confirmation (66-80)", "width")}


def test_non_positive_or_fractional_amounts_block_the_file():
    built = build_lockbox([item(1, "0.00"), item(2, "-5.00"), item(3, "1.005"), item(4)], HEADER, LAYOUT)
    assert sorted(p.line for p in built.errors) == [2, 3, 4]
    assert built.data == b""


def test_amount_too_large_for_its_field_is_an_error():
    built = build_lockbox([item(1, "100000000.00")], HEADER, LAYOUT)
    assert [p.rule for p in built.errors] == ["range"]


def test_no_items_is_an_error():
    assert [p.rule for p in build_lockbox([], HEADER, LAYOUT).errors] == ["empty"]


# ---- reader ---------------------------------------------------------------------------

def _golden_lines() -> list[str]:
    return lines_of((GOLDEN / "basic.txt").read_bytes())


def _join(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def test_reader_reads_the_golden_file():
    f = read_lockbox((GOLDEN / "basic.txt").read_bytes(), LAYOUT)
    assert f.ok, f.errors
    assert f.destination == "DEMO01" and f.origin == "INVCLOUD" and f.created == datetime(2026, 11, 26, 7, 5)
    assert [(b.number, b.item_count, b.total, b.lockbox_number) for b in f.batches] == [
        (1, 3, Decimal("1885.14"), 4321), (2, 1, Decimal("99999999.99"), 4321)]
    assert f.total == Decimal("100001885.13") and f.record_count == 14
    assert [i.payer_name for i in f.items] == ["NGUYEN VAN AN", "O'NEIL SEAN", "BJORK ASA",
                                                "A VERY LONG PAYER NAME THAT DO"]
    assert [i.line for i in f.items] == [3, 5, 7, 11]


def _mutate(n: int, a: int, b: int, text: str) -> bytes:
    lines = _golden_lines()
    lines[n] = lines[n][:a] + text + lines[n][b:]
    return _join(lines)


@pytest.mark.parametrize(("edit", "line", "rule"), [
    ((2, 7, 17, "0000022413"), 9, "batch-total"),
    ((8, 4, 7, "004"), 9, "item-count"),
    ((13, 4, 10, "000015"), 14, "record-count"),
    ((13, 1, 4, "003"), 14, "batch-count"),
    ((13, 10, 24, "00010000188514"), 14, "file-total"),
    ((4, 4, 7, "003"), 5, "sequence"),
    ((5, 4, 7, "003"), 6, "overflow-match"),
    ((2, 7, 17, "00000224 2"), 3, "numeric"),
    ((1, 11, 17, "261399"), 2, "date"),
    ((0, 1, 3, "02"), 1, "const"),
    ((1, 40, 41, "X"), 2, "filler"),
    ((4, 65, 80, "C000000000001  "), 5, "duplicate"),
    ((3, 10, 11, "é"), 4, "ascii"),
])
def test_reader_names_line_and_rule(edit, line, rule):
    f = read_lockbox(_mutate(*edit), LAYOUT)
    assert (line, rule) in {(p.line, p.rule) for p in f.errors}, f.errors


def test_reader_structure_errors():
    lines = _golden_lines()
    assert "record-length" in {p.rule for p in read_lockbox(_join([lines[0] + " ", *lines[1:]]), LAYOUT).errors}
    missing_overflow = read_lockbox(_join(lines[:3] + lines[4:]), LAYOUT)
    assert (4, "order") in {(p.line, p.rule) for p in missing_overflow.errors}
    no_trailer = read_lockbox(_join(lines[:-1]), LAYOUT)
    assert (13, "order") in {(p.line, p.rule) for p in no_trailer.errors}
    lf = read_lockbox(("\n".join(lines) + "\n").encode(), LAYOUT)
    assert not lf.ok
    assert "line-ending" in {p.rule for p in read_lockbox(_join(lines)[:-2], LAYOUT).errors}
    unknown = read_lockbox(_join([lines[0], "8" + lines[1][1:], *lines[2:]]), LAYOUT)
    assert (2, "record-type") in {(p.line, p.rule) for p in unknown.errors}
    assert [p.rule for p in read_lockbox(b"", LAYOUT).errors] == ["empty"]


# ---- writing --------------------------------------------------------------------------

def test_write_is_verified_and_atomic(tmp_path):
    built = build_lockbox(golden_items(), HEADER, LAYOUT)
    out = tmp_path / "lockbox.txt"
    back = write_lockbox(out, built, LAYOUT)
    assert out.read_bytes() == built.data and back.fingerprint == built.fingerprint
    assert [p.name for p in tmp_path.iterdir()] == ["lockbox.txt"]
    with pytest.raises(ValidationError):
        write_lockbox(out, built, LAYOUT)  # never overwrites unless asked
    write_lockbox(out, built, LAYOUT, overwrite=True)


def test_a_file_that_does_not_read_back_is_not_kept(tmp_path):
    built = build_lockbox(golden_items(), HEADER, LAYOUT)
    built.data = built.data.replace(b"NGUYEN VAN AN", b"NGUYEN VAN AX")  # bytes differ from what was built
    out = tmp_path / "lockbox.txt"
    with pytest.raises(ValidationError) as exc:
        write_lockbox(out, built, LAYOUT)
    assert exc.value.problems[0].rule == "roundtrip"
    assert list(tmp_path.iterdir()) == []


def test_failed_build_writes_nothing(tmp_path):
    built = build_lockbox([item(1, "0")], HEADER, LAYOUT)
    with pytest.raises(ValidationError):
        write_lockbox(tmp_path / "x.txt", built, LAYOUT)
    assert list(tmp_path.iterdir()) == []


# ---- layout as data -------------------------------------------------------------------

def _layout_dict() -> dict:
    import tomllib

    return tomllib.loads(LAYOUT.source.read_text(encoding="utf-8"))


def test_a_changed_layout_moves_fields_without_code_changes():
    data = _layout_dict()
    detail = data["records"]["detail"]["fields"]
    for f in detail:  # swap GL account and reference
        if f["name"] == "reference":
            f["start"], f["end"] = 38, 57
        elif f["name"] == "gl_account":
            f["start"], f["end"] = 18, 37
    layout = parse_layout(data)
    built = build_lockbox([item(1)], HEADER, layout)
    d = lines_of(built.data)[2]
    assert d[17:37].rstrip() == "10-3210-000" and d[37:57].rstrip() == "AR-1"
    assert read_lockbox(built.data, layout).items == built.items


@pytest.mark.parametrize(("change", "rule"), [
    (lambda d: d["records"]["detail"]["fields"].append({"name": "bogus", "start": 81, "end": 82, "kind": "alpha"}),
     "name"),
    (lambda d: d["records"]["detail"]["fields"][3].update(end=20), "overlap"),
    (lambda d: d["records"].pop("overflow"), "role"),
    (lambda d: d["records"]["detail"]["fields"].pop(3), "required"),
    (lambda d: d["records"]["batch_header"]["fields"][3].update(format="%Y%m%d"), "format"),
    (lambda d: d["records"]["overflow"].update(type="6"), "type"),
])
def test_bad_layouts_are_refused_with_the_reason(change, rule):
    data = _layout_dict()
    change(data)
    with pytest.raises(ValidationError) as exc:
        parse_layout(data)
    assert rule in {p.rule for p in exc.value.problems}


def test_an_administrators_copy_of_the_layout_wins(console_home):
    from console.paths import Paths

    own = Paths.default().config_dir / "layouts" / "lockbox-bai80.toml"
    own.parent.mkdir(parents=True)
    own.write_text(LAYOUT.source.read_text(encoding="utf-8").replace('origin", start = 14, end = 23',
                                                                     'origin", start = 14, end = 22'),
                   encoding="utf-8")
    layout = load_lockbox_layout()
    assert layout.source == own and layout.record("file_header").field("origin").width == 9
