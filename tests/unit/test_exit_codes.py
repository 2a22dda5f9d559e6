"""One exit-code table: the README's is the code's, a missing input file is 66 for every command that reads
one, and the fixed codes stay (77 not permitted, 2 counter attention)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli import counter as counter_cli
from console.cli import main
from console.cli.exit_codes import ATTENTION, NO_INPUT, NOT_PERMITTED, TABLE

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_codes_table():
    text = README.read_text(encoding="utf-8")
    section = text.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    for code, meaning, when in TABLE:
        assert f"| {code} | {meaning} | {when} |" in section
    assert NOT_PERMITTED == 77 and ATTENTION == counter_cli.EXIT_ATTENTION == 2


@pytest.mark.parametrize("argv", [
    ["lockbox", "build", "--payments", "{missing}", "--out", "{out}"],
    ["lockbox", "check", "{missing}"],
    ["post", "{missing}", "--kind", "payments"],
    ["invoices", "check", "{missing}"],
    ["invoices", "send", "{missing}"],
    ["bills", "index", "{missing}"],
    ["bills", "split", "{missing}", "--out", "{out}"],
    ["bills", "send", "{missing}", "--out", "{out}"],
])
def test_a_missing_input_file_is_66_for_every_command(tmp_path, capsys, argv):
    missing = tmp_path / "nope.csv"
    args = [a.format(missing=missing, out=tmp_path / "out") for a in argv]
    assert main(args) == NO_INPUT
    assert "nope.csv" in capsys.readouterr().err


def test_the_missing_input_json_names_the_file(tmp_path, capsys):
    assert main(["lockbox", "build", "--payments", str(tmp_path / "p.csv"), "--out", str(tmp_path / "o.txt"),
                 "--gl-map", str(tmp_path / "gl.csv"), "--json"]) == NO_INPUT
    data = json.loads(capsys.readouterr().out)
    assert data["exit"] == 66 and "p.csv does not exist (--payments)" in data["error"]


def test_the_coverage_table_names_only_tests_that_exist():
    doc = (README.parent / "docs" / "seed-coverage.md").read_text(encoding="utf-8")
    import re

    named = set(re.findall(r"`((?:unit|integration|ui|e2e)/test_\w+\.py)`", doc))
    assert len(named) > 20
    assert [n for n in sorted(named) if not (README.parent / "tests" / n).is_file()] == []
    assert "in progress" in doc and "portal-assisted" in doc
