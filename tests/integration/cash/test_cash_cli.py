"""``biller-console drawer …`` and ``counter take|void`` against a running sandbox: the day of a
cashier from the command line, the JSON contract, refusals exit 1 with the reason."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from console.cli import main
from console.paths import Paths
from console.sandbox import seed
from console.sandbox.runner import Sandbox, SandboxOptions, remove_state, write_state
from tests.cash_env import pdf_text

PARTS = ["console.sandbox.caselle_server", "console.sandbox.invoicecloud_server"]


@pytest.fixture
def sandbox(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "cashier1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "1111")
    monkeypatch.delenv("BILLER_CONSOLE_SUPERVISOR_PIN", raising=False)
    paths = Paths.default().ensure()
    sb = Sandbox(SandboxOptions(), data_dir=paths.sandbox_dir, parts=PARTS).start()
    write_state(paths.sandbox_dir, sb.as_endpoints(embedded=False))
    yield paths
    remove_state(paths.sandbox_dir)
    sb.stop()


def run(capsys, *argv) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_cashiers_day_from_the_command_line(sandbox, capsys, monkeypatch, tmp_path):
    a, b, c = [x for x in seed.demo_customers() if x.amount_due > 5][:3]
    code, out = run(capsys, "counter", "take", "--account", a.account_number, "--amount", str(a.amount_due),
                    "--tender", "cash")
    assert code == 1 and "Open a cash drawer" in out["message"]
    code, opened = run(capsys, "drawer", "open", "--float", "150")
    assert code == 0 and opened["float"] == "150.00"
    code, cash = run(capsys, "counter", "take", "--account", a.account_number, "--amount", str(a.amount_due),
                     "--tender", "cash", "--tendered", str(a.amount_due + Decimal("20")))
    assert code == 0 and cash["receipt"] and cash["tender"] == "cash" and cash["change_due"] == "20.00"
    assert cash["amount"] == str(a.amount_due) and cash["drawer"] == opened["session"]
    code, check = run(capsys, "counter", "take", "--account", b.account_number, "--amount", str(b.amount_due),
                      "--tender", "check", "--check-number", "5150")
    assert code == 0 and check["change_due"] == "0.00"
    code, gone = run(capsys, "counter", "take", "--account", c.account_number, "--amount", str(c.amount_due),
                     "--tender", "cash")
    code, void = run(capsys, "counter", "void", gone["receipt"], "--reason", "paid the wrong account")
    assert code == 0 and void["status"] == "voided"
    code, refused = run(capsys, "drawer", "close", "--cash", "100", "--checks", str(b.amount_due))
    assert code == 1 and "a reason is required" in refused["message"]
    code, refused = run(capsys, "drawer", "close", "--cash", "100", "--checks", str(b.amount_due), "--reason", "x")
    assert code == 1 and "supervisor must countersign" in refused["message"]
    expected_cash = Decimal("150.00") + a.amount_due
    code, closed = run(capsys, "drawer", "close", "--cash", str(expected_cash - Decimal("0.50")), "--checks",
                       str(b.amount_due), "--reason", "a coin rolled away", "--report", str(tmp_path / "c.pdf"))
    assert code == 0, closed
    assert closed["expected"] == {"cash": str(expected_cash), "checks": str(b.amount_due), "cards": "0.00"}
    assert closed["counted"] == {"cash": str(expected_cash - Decimal("0.50")), "checks": str(b.amount_due)}
    assert closed["over_short"] == {"cash": "-0.50", "checks": "0.00"} and closed["status"] == "short"
    report = pdf_text(tmp_path / "c.pdf")
    assert "a coin rolled away" in report
    assert re.search(r"Audit anchor: [\d,]+ entries, head [0-9a-f]{8}", report), report  # outside the journal
    code, slip = run(capsys, "drawer", "slip", "--out", str(tmp_path / "slip.pdf"), "--csv", str(tmp_path / "s.csv"))
    assert code == 0 and slip["cash"] == str(a.amount_due - Decimal("0.50"))
    assert [x["check_number"] for x in slip["checks"]] == ["5150"]
    assert "5150" in pdf_text(tmp_path / "slip.pdf") and "5150" in (tmp_path / "s.csv").read_text()


def test_wrong_pin_and_a_supervisor_reopening(sandbox, capsys, monkeypatch):
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "0000")
    code, out = run(capsys, "drawer", "open", "--float", "10")
    assert code == 1 and "wrong PIN" in out["message"]  # a wrong PIN is 1, never 77
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "1111")
    code, opened = run(capsys, "drawer", "open", "--float", "10")
    code, _ = run(capsys, "drawer", "close", "--cash", "10", "--checks", "0")
    assert code == 0
    code, out = run(capsys, "drawer", "reopen", opened["session"], "--reason", "recount")
    assert code == 77 and "not a supervisor" in out["message"]
    monkeypatch.setenv("BILLER_CONSOLE_SUPERVISOR_PIN", "9999")
    code, out = run(capsys, "drawer", "reopen", opened["session"], "--reason", "recount", "--supervisor", "super1")
    assert code == 0 and out["state"] == "open"
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "super1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "9999")
    code, listed = run(capsys, "drawer", "list")
    assert [d["session"] for d in listed["open"]] == [opened["session"]]


def test_day_show_for_a_clerk_and_close_for_a_supervisor(sandbox, capsys, monkeypatch, tmp_path):
    a = [x for x in seed.demo_customers() if x.amount_due > 5][5]
    run(capsys, "drawer", "open", "--float", "20")
    run(capsys, "counter", "take", "--account", a.account_number, "--amount", str(a.amount_due), "--tender", "cash")
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "clerk1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "2222")
    code, shown = run(capsys, "day", "show")
    assert code == 0 and shown["counter"]["CASH"]["net"] == str(a.amount_due) and shown["open_drawers"]
    code, refused = run(capsys, "day", "close")
    assert code == 77 and "may not close the day" in refused["message"]
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "super1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "9999")
    code, refused = run(capsys, "day", "close")
    assert code == 1 and "still open (cashier1)" in refused["message"]
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "cashier1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "1111")
    run(capsys, "drawer", "close", "--cash", str(Decimal("20") + a.amount_due), "--checks", "0")
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "super1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "9999")
    code, closed = run(capsys, "day", "close", "--summary", str(tmp_path / "day.pdf"))
    assert code == 0 and closed["sealed"]["operator"] == "super1"
    assert closed["expected_deposit"]["General fund"]["counter_cash"] == str(a.amount_due)
    summary = pdf_text(tmp_path / "day.pdf")
    assert "Sealed by super1" in summary
    assert re.search(r"Audit anchor: [\d,]+ entries, head [0-9a-f]{8}", summary), summary


def test_split_tender_and_several_accounts_from_the_command_line(sandbox, capsys):
    a, b = [x for x in seed.demo_customers() if x.amount_due > 5][8:10]
    run(capsys, "drawer", "open", "--float", "0")
    total = a.amount_due + b.amount_due
    check_part = (total / 2).quantize(Decimal("0.01"))
    code, out = run(capsys, "counter", "take", "--pay", f"{a.account_number}={a.amount_due}",
                    "--pay", f"{b.account_number}={b.amount_due}", "--check", f"4242={check_part}",
                    "--cash", str(total - check_part), "--tendered", str(total - check_part + Decimal("1.50")))
    assert code == 0 and out["status"] == "posted" and out["change_due"] == "1.50"
    assert sum(Decimal(r["amount"]) for r in out["receipts"]) == total and all(r["receipt"] for r in out["receipts"])
    assert {r["account"] for r in out["receipts"]} == {a.account_number, b.account_number}
    code, refused = run(capsys, "counter", "take", "--pay", f"{a.account_number}=1.00", "--cash", "2.00", "--confirm")
    assert code == 1 and "add up to" in refused["message"]
