"""Bill templates: parsing, validation errors with line/key/rule, round trip, matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.bills.service import resolve_template, sandbox_template_path
from console.bills.template import BillTemplate, load_template, parse_template
from console.errors import ValidationError

GOOD = """\
name = "Test"
region = [60, 75, 330, 100]
pattern = 'Account Number:\\s*(?P<account>\\d{6}-\\d{2})'
continuation = "no-match"
"""


def rules(exc: ValidationError) -> set[str]:
    return {p.rule for p in exc.problems}


def test_good_template_parses():
    t = parse_template(GOOD)
    assert t.region == (60.0, 75.0, 330.0, 100.0)
    assert t.continuation == "no-match"
    assert t.name == "Test"
    assert t.find_account("Account Number:\r\n 123456-78 more") == "123456-78"
    assert t.find_account("Account Number: 12345-78") is None


def test_continuation_defaults_to_no_match():
    t = parse_template(GOOD.replace('continuation = "no-match"\n', ""))
    assert t.continuation == "no-match"


@pytest.mark.parametrize("region, rule", [
    ("[60, 75, 330]", "region"),
    ('[60, "a", 330, 100]', "region"),
    ("[330, 75, 60, 100]", "region-order"),
    ("[60, 100, 330, 75]", "region-order"),
    ("[-5, 75, 330, 100]", "region-range"),
    ("[60, 75, 330, 20000]", "region-range"),
    ("[true, 75, 330, 100]", "region"),
])
def test_bad_regions_are_reported_on_their_line(region, rule):
    with pytest.raises(ValidationError) as ei:
        parse_template(GOOD.replace("[60, 75, 330, 100]", region))
    problem = next(p for p in ei.value.problems if p.rule == rule)
    assert problem.line == 2 and problem.column == "region"


def test_pattern_without_account_group():
    with pytest.raises(ValidationError) as ei:
        parse_template(GOOD.replace("(?P<account>", "(?P<acct>"))
    assert rules(ei.value) == {"account-group"}
    assert ei.value.problems[0].line == 3


def test_pattern_that_does_not_compile():
    with pytest.raises(ValidationError) as ei:
        parse_template(GOOD.replace("(?P<account>", "((?P<account>"))
    assert "regex" in rules(ei.value)


def test_pattern_matching_empty_text_is_refused():
    with pytest.raises(ValidationError) as ei:
        parse_template(GOOD.replace("'Account Number:\\s*(?P<account>\\d{6}-\\d{2})'", "'(?P<account>\\d*)'"))
    assert rules(ei.value) == {"matches-empty"}


def test_unknown_continuation_and_key_all_reported_at_once():
    text = GOOD.replace('"no-match"', '"blank"') + 'regoin = [1, 2, 3, 4]\n'
    with pytest.raises(ValidationError) as ei:
        parse_template(text)
    assert rules(ei.value) == {"continuation", "unknown-key"}
    cont = next(p for p in ei.value.problems if p.rule == "continuation")
    assert cont.line == 4 and "no-match" in cont.message


def test_missing_keys_and_toml_syntax():
    with pytest.raises(ValidationError) as ei:
        parse_template('continuation = "no-match"\n')
    assert rules(ei.value) == {"required"}
    assert len(ei.value.problems) == 2
    with pytest.raises(ValidationError) as ei:
        parse_template("region = [1, 2, 3, 4]\npattern = \n")
    assert rules(ei.value) == {"toml"}
    assert ei.value.problems[0].line == 2


def test_load_template_names_the_file(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        load_template(tmp_path / "nope.toml")
    p = tmp_path / "bad.toml"
    p.write_bytes(b"\xff\xfe region")
    with pytest.raises(ValidationError, match="bad.toml"):
        load_template(p)


def test_save_and_load_round_trip(tmp_path):
    t = BillTemplate(region=(10.5, 20, 200, 40.25), pattern=r"No\.\s*(?P<account>\d+)", name="Mine")
    t.save(tmp_path / "t.toml")
    assert load_template(tmp_path / "t.toml") == BillTemplate(
        region=(10.5, 20.0, 200.0, 40.25), pattern=r"No\.\s*(?P<account>\d+)", name="Mine")


def test_sandbox_template_ships_and_is_the_default():
    assert sandbox_template_path().exists()
    assert resolve_template(None, None) == load_template(sandbox_template_path())


@given(st.text(alphabet="0123456789-ABCxyz :\n\r", max_size=40))
def test_find_account_only_returns_a_non_empty_group(text):
    t = parse_template(GOOD)
    found = t.find_account(text)
    assert found is None or (len(found) == 9 and found[6] == "-")
