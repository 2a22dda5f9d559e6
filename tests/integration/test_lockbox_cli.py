"""``biller-console lockbox build|check|summary|files`` in process: JSON, exit codes, nothing written on error."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from tests.lockbox_data import GL, payment_rows, write_gl_map, write_payments

pytestmark = pytest.mark.usefixtures("cli_as_clerk")  # commands that act name who acts


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_build_json_lists_batches_items_and_totals_as_strings(tmp_path, capsys):
    pay = write_payments(tmp_path / "p.csv", payment_rows(1001))
    gl = write_gl_map(tmp_path / "gl.csv")
    code, out, _ = _run(capsys, "lockbox", "build", "--payments", str(pay), "--out", str(tmp_path / "lb.txt"),
                        "--gl-map", str(gl), "--json")
    assert code == 0
    got = json.loads(out)
    assert got["ok"] and got["errors"] == [] and got["item_count"] == 1001
    assert [(b["batch"], b["items"]) for b in got["batches"]] == [(1, 999), (2, 2)]
    assert isinstance(got["total"], str) and all(isinstance(i["amount"], str) for i in got["items"])
    first = got["items"][0]
    assert first["gl_account"] == GL[first["item_code"]] and first["payment_id"] == "PAY00000001"
    assert first["source_line"] == 2 and first["line"] == 3
    assert sum(int(g["items"]) for g in got["gl_totals"]) == 1001
    assert (tmp_path / "lb.txt").exists()


def test_unmapped_item_exits_1_and_writes_nothing(tmp_path, capsys):
    rows = payment_rows(5)
    rows[3]["InvoiceType"] = "999"
    pay = write_payments(tmp_path / "p.csv", rows)
    gl = write_gl_map(tmp_path / "gl.csv")
    code, out, _ = _run(capsys, "lockbox", "build", "--payments", str(pay), "--out", str(tmp_path / "lb.txt"),
                        "--gl-map", str(gl), "--json")
    assert code == 1 and not (tmp_path / "lb.txt").exists()
    got = json.loads(out)
    assert got["ok"] is False and got["file"] is None
    assert [(e["line"], e["column"], e["rule"]) for e in got["errors"]] == [(5, "InvoiceType", "unmapped")]


def test_without_gl_map_the_profile_mapping_is_used(tmp_path, capsys):
    pay = write_payments(tmp_path / "p.csv", payment_rows(3, types=("801", "805")))
    code, out, _ = _run(capsys, "lockbox", "build", "--payments", str(pay), "--out", str(tmp_path / "lb.txt"),
                        "--json")
    assert code == 0, out
    assert {i["gl_account"] for i in json.loads(out)["items"]} <= {"10-4100-000", "20-4500-000"}


def test_bad_gl_map_exits_1_and_a_missing_payments_file_66(tmp_path, capsys):
    bad = tmp_path / "gl.csv"
    bad.write_text("ItemCode,GLAccount\n301,not-a-gl\n", encoding="utf-8")
    pay = write_payments(tmp_path / "p.csv", payment_rows(2))
    code, out, _ = _run(capsys, "lockbox", "build", "--payments", str(pay), "--out", str(tmp_path / "x.txt"),
                        "--gl-map", str(bad), "--json")
    assert code == 1 and json.loads(out)["errors"][0]["rule"] == "gl_format"
    code, out, _ = _run(capsys, "lockbox", "build", "--payments", str(tmp_path / "none.csv"), "--out",
                        str(tmp_path / "x.txt"), "--gl-map", str(write_gl_map(tmp_path / "g2.csv")), "--json")
    assert code == 66 and not (tmp_path / "x.txt").exists()  # the README's exit-code table
    assert "none.csv does not exist (--payments)" in json.loads(out)["error"]


def test_check_reports_line_column_rule_and_exits_1(tmp_path, capsys):
    pay = write_payments(tmp_path / "p.csv", payment_rows(4))
    gl = write_gl_map(tmp_path / "gl.csv")
    assert _run(capsys, "lockbox", "build", "--payments", str(pay), "--out", str(tmp_path / "lb.txt"),
                "--gl-map", str(gl))[0] == 0
    code, out, _ = _run(capsys, "lockbox", "check", str(tmp_path / "lb.txt"), "--json")
    got = json.loads(out)
    assert code == 0 and got["ok"] and got["item_count"] == 4 and got["registered"]["status"] == "built"
    lines = (tmp_path / "lb.txt").read_bytes().split(b"\r\n")
    lines[2] = lines[2][:7] + b"0000000001" + lines[2][17:]  # change one amount: totals no longer add up
    (tmp_path / "bad.txt").write_bytes(b"\r\n".join(lines))
    code, out, _ = _run(capsys, "lockbox", "check", str(tmp_path / "bad.txt"), "--json")
    got = json.loads(out)
    assert code == 1 and not got["ok"]
    assert {(e["line"], e["column"], e["rule"]) for e in got["errors"]} >= {
        (11, "batch_total (8-19)", "batch-total"), (12, "file_total (11-24)", "file-total")}


def test_summary_files_and_handed_over(tmp_path, capsys):
    pay = write_payments(tmp_path / "p.csv", payment_rows(7))
    gl = write_gl_map(tmp_path / "gl.csv")
    _run(capsys, "lockbox", "build", "--payments", str(pay), "--out", str(tmp_path / "lb.txt"), "--gl-map", str(gl))
    code, out, _ = _run(capsys, "lockbox", "summary", str(tmp_path / "lb.txt"))
    assert code == 0 and "Totals per GL account" in out and "SHA-256" in out
    code, _, _ = _run(capsys, "lockbox", "summary", str(tmp_path / "lb.txt"), "--pdf", str(tmp_path / "s.pdf"))
    assert code == 0 and (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF")
    assert _run(capsys, "lockbox", "handed-over", str(tmp_path / "lb.txt"), "--note", "USB")[0] == 0
    code, out, _ = _run(capsys, "lockbox", "files", "--json")
    assert [f["status"] for f in json.loads(out)["files"]] == ["handed_over"]
    # the same payments again: every item is a duplicate now, so no file
    code, out, _ = _run(capsys, "lockbox", "build", "--payments", str(pay), "--out", str(tmp_path / "again.txt"),
                        "--gl-map", str(gl), "--json")
    assert code == 1 and json.loads(out)["excluded"]["duplicate"] == 7 and not (tmp_path / "again.txt").exists()
