"""``bills send`` from the command line against the embedded sandbox (real SFTP): every bill sent once, a
second run reports them already sent and sends nothing, a cashier is refused with 77, a missing file is 66."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _cli(*args: str, operator: str = "clerk1", pin: str = "2222") -> subprocess.CompletedProcess:
    env = {**os.environ, "BILLER_CONSOLE_OPERATOR": operator, "BILLER_CONSOLE_PIN": pin}
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True, env=env,
                          timeout=180, stdin=subprocess.DEVNULL)


def test_bills_send_sends_each_bill_once(tmp_path: Path):
    pdf, invoices, out = tmp_path / "batch.pdf", tmp_path / "invoices.txt", tmp_path / "bills"
    made = _cli("bills", "sandbox-batch", "--out", str(pdf), "--count", "3", "--invoices", str(invoices))
    assert made.returncode == 0, made.stderr
    refused = _cli("bills", "send", str(pdf), "--out", str(out), "--json", operator="cashier1", pin="1111")
    assert refused.returncode == 77 and "may not send bill images" in json.loads(refused.stdout)["error"]
    first = _cli("bills", "send", str(pdf), "--out", str(out), "--invoices", str(invoices), "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    data = json.loads(first.stdout)
    assert data["counts"] == {"sent": 3, "already sent": 0, "failed": 0, "not sent": 0}
    assert all(o["remote_path"].endswith(".pdf") for o in data["outcomes"])
    second = _cli("bills", "send", str(pdf), "--out", str(out), "--invoices", str(invoices), "--json")
    assert second.returncode == 0 and json.loads(second.stdout)["counts"]["already sent"] == 3
    assert json.loads(second.stdout)["counts"]["sent"] == 0
    bad = _cli("bills", "send", str(tmp_path / "missing.pdf"), "--out", str(out), "--json")
    assert bad.returncode == 66 and "missing.pdf does not exist" in json.loads(bad.stdout)["error"]
    wrong_pin = _cli("bills", "send", str(pdf), "--out", str(out), "--json", pin="0000")
    assert wrong_pin.returncode == 1  # a wrong PIN is not a role refusal: 1, never 77
