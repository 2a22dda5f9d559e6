"""GL mapping: format masks and regexes, CSV loading with every problem listed, unmapped items."""

from __future__ import annotations

import pytest

from console.errors import ValidationError
from console.lockbox.glmap import GlFormat, GlMap, load_gl_map_csv, save_gl_map_csv, unmapped_problems


@pytest.mark.parametrize(("pattern", "good", "bad"), [
    ("NN-NNNN-NNN", ["10-4100-000", "99-0000-001"], ["10-4100-00", "1A-4100-000", "10.4100.000", " 10-4100-000"]),
    (r"\d{2}-\d{4}-\d{3}", ["10-4100-000"], ["104100000", "10-4100-0000"]),
    ("AAA.NNNN", ["GEN.1234"], ["GE1.1234", "GEN-1234"]),
    ("XXXX", ["A1B2"], ["A1B", "A-B2"]),
])
def test_gl_format(pattern, good, bad):
    fmt = GlFormat(pattern)
    assert all(fmt.matches(g) for g in good)
    assert not any(fmt.matches(b) for b in bad)


def test_an_invalid_regex_is_a_validation_error():
    with pytest.raises(ValidationError):
        GlFormat("(unclosed")


def test_csv_loads_any_header_case_and_order(tmp_path):
    p = tmp_path / "gl.csv"
    p.write_bytes("\ufeffglaccount,ITEMCODE\r\n10-3210-000,101\r\n\r\n20-3450-000,103\r\n".encode())
    m = load_gl_map_csv(p, GlFormat("NN-NNNN-NNN"))
    assert dict(m.accounts) == {"101": "10-3210-000", "103": "20-3450-000"}
    assert m.account(" 101 ") == "10-3210-000" and "102" not in m


def test_csv_lists_every_problem_with_line_and_rule(tmp_path):
    p = tmp_path / "gl.csv"
    p.write_text("ItemCode,GLAccount\n101,10-3210-000\n102,10-32X0-100\n103,\n101,20-0000-000\n"
                 "toolongcode,10-3210-000\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_gl_map_csv(p, GlFormat("NN-NNNN-NNN"))
    assert {(x.line, x.rule) for x in exc.value.problems} == {
        (3, "gl_format"), (4, "required"), (5, "unique"), (6, "item_code")}


def test_csv_without_the_columns_is_refused(tmp_path):
    p = tmp_path / "gl.csv"
    p.write_text("Code,Account\n101,10-3210-000\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_gl_map_csv(p)
    assert exc.value.problems[0].rule == "header"


def test_round_trip_through_csv(tmp_path):
    m = GlMap({"101": "10-3210-000", "A-7": "51-3700-010"})
    save_gl_map_csv(tmp_path / "out.csv", m)
    assert dict(load_gl_map_csv(tmp_path / "out.csv").accounts) == dict(m.accounts)


def test_map_problems_and_unmapped_items():
    fmt = GlFormat("NN-NNNN-NNN")
    m = GlMap({"101": "10-3210-000", "102": "bad"}, source="profile")
    assert [(p.column, p.rule) for p in m.problems(fmt)] == [("GLAccount", "gl_format")]
    rows = [(2, "P1", "101"), (3, "P2", "199"), (4, "P3", "42x")]
    assert [(p.line, p.rule) for p in unmapped_problems(rows, m)] == [(3, "unmapped"), (4, "unmapped")]
    assert m.with_entry("199", "20-0000-000").account("199") == "20-0000-000"
    assert "101" not in m.without("101")


def test_fingerprints_in_audit_payloads_never_look_like_card_numbers():
    from console.adapters.journal import check_payload
    from console.services.lockbox import _no_digit_runs, grouped_fingerprint

    sha = "1891418e19d06c591978de7ca0388f5c2e372bfc4a3eb6858850450426213529"  # ends in 19 Luhn-valid digits
    assert grouped_fingerprint(sha).replace(":", "") == sha
    check_payload("audit:lockbox.send", {"fingerprint": _no_digit_runs(sha), "key": _no_digit_runs(f"k:{sha}:x")})
