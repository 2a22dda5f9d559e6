"""`biller-console invoices check`: JSON shape, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json

from console.cli import main

HEADER = ("AccountNumber,InvoiceNumber,InvoiceType,CustomerName,BillDate,DueDate,"
          "PreviousBalance,CurrentCharges,TotalAmountDue")
ROW = "12-3456-00,INV1,42,\"SMITH, ANN\",11/01/2099,11/25/2099,10.00,5.50,15.50"


def _write(tmp_path, text: str, name="inv.txt"):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return p


def _run(capsys, *argv) -> tuple[int, dict | str]:
    code = main(["invoices", "check", *map(str, argv)])
    out = capsys.readouterr().out
    return code, (json.loads(out) if "--json" in argv else out)


def test_valid_file_exit_0_and_json_shape(tmp_path, capsys):
    f = _write(tmp_path, f"{HEADER}\r\n{ROW}\r\n{ROW.replace('INV1', 'INV2')}\r\nTRAILER,2,31.00\r\n")
    code, got = _run(capsys, f, "--json")
    assert code == 0
    assert got["records"] == 2 and got["total_amount_due"] == "31.00"
    assert got["errors"] == [] and isinstance(got["warnings"], list)
    # an account with two invoices is a warning, not an error
    assert [w["rule"] for w in got["warnings"]] == ["repeated_value"]
    assert set(got["warnings"][0]) == {"line", "column", "rule", "message"}
    assert got["summary"]["by_type"] == [{"invoice_type": 42, "count": 2, "total": "31.00"}]


def test_invalid_file_exit_1_lists_line_column_rule(tmp_path, capsys):
    f = _write(tmp_path, f"{HEADER}\n{ROW.replace('15.50', '15.51')}\n")
    code, got = _run(capsys, f, "--json")
    assert code == 1
    assert got["errors"] == [{"line": 2, "column": "TotalAmountDue", "rule": "balance_forward",
                              "message": got["errors"][0]["message"]}]
    assert "15.51" in got["errors"][0]["message"]


def test_unreadable_exit_66(tmp_path, capsys):
    code, got = _run(capsys, tmp_path / "missing.txt", "--json")
    assert code == 66 and got["errors"][0]["rule"] == "unreadable"
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 40)
    code, _ = _run(capsys, garbage, "--json")
    assert code == 66


def test_unknown_layout_exit_66(tmp_path, capsys):
    f = _write(tmp_path, f"{HEADER}\n{ROW}\n")
    code, _ = _run(capsys, f, "--layout", "no-such-layout", "--json")
    assert code == 66


def test_human_output_says_valid_or_invalid(tmp_path, capsys):
    f = _write(tmp_path, f"{HEADER}\n{ROW}\n")
    code, out = _run(capsys, f)
    assert code == 0 and "VALID" in out and "15.50" in out
    bad = _write(tmp_path, f"{HEADER}\n{ROW.replace('12-3456-00', '12 3456')}\n", "bad.txt")
    code, out = _run(capsys, bad)
    assert code == 1 and "INVALID" in out and "line 2, column AccountNumber" in out
