"""``biller-console sandbox``: foreground run, --report [--json], --reset, --adjust, extension hooks."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from console.adapters.caselle import CaselleClient, request_token
from console.cli import main
from console.cli import sandbox as sandbox_cli
from console.paths import Paths
from console.sandbox.caselle_server import DB_NAME, CaselleStore
from console.sandbox.seed import demo_customer

ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["sandbox", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def seed_receipts(batch_day=dt.date(2026, 11, 24)):
    store = CaselleStore(Paths.default().sandbox_dir / DB_NAME)
    try:
        store.open_batch(batch_day)
        for i, amount in enumerate(["10.00", "20.50", "5.25"]):
            store.create_receipt(reference=f"R{i}", account="100102-01", amount=Decimal(amount), tender="CARD",
                                 receipt_date=batch_day, batch_date=batch_day, payer_name=None, memo=None, by="t")
        number = store.receipt_by_reference("R1")["receipt_number"]
        store.void_receipt(number, "Duplicate", "t")
    finally:
        store.close()


def test_report_json_without_a_running_sandbox(capsys):
    code, out, _ = run_cli(capsys, "--report", "--json")
    data = json.loads(out)
    assert code == 0 and data["receipts"] == 0 and data["total"] == "0.00"
    seed_receipts()
    code, out, _ = run_cli(capsys, "--report", "--json")
    data = json.loads(out)
    assert (data["receipts"], data["voided"], data["total"]) == (2, 1, "15.25")
    assert data["references_posted_more_than_once"] == []
    assert data["batches"][0]["receipts"] == 2 and data["batches"][0]["voided_total"] == "20.50"
    code, out, _ = run_cli(capsys, "--report")
    assert code == 0 and "CR20261124" in out and "15.25" in out


def test_adjust_creates_an_adjustment_and_rejects_bad_input(capsys):
    balance = demo_customer("100102-01").balance  # the seeded balance of the first demo account (today's bill)
    code, out, _ = run_cli(capsys, "--adjust", "100102-01", "-12.50", "Leak credit", "--json")
    made = json.loads(out)
    assert code == 0 and made["amount"] == "-12.50" and made["balance_after"] == str(balance - Decimal("12.50"))
    code, _, err = run_cli(capsys, "--adjust", "100102-01", "12.505", "x")
    assert code == 1 and "more than two decimal places" in err
    code, _, err = run_cli(capsys, "--adjust", "000000-00", "1.00", "x")
    assert code == 1 and "no account" in err
    code, out, _ = run_cli(capsys, "--report", "--json")
    assert json.loads(out)["adjustments_created"] == 1


def test_reset_wipes_state(capsys):
    seed_receipts()
    assert (Paths.default().sandbox_dir / DB_NAME).exists()
    code, out, _ = run_cli(capsys, "--reset")
    assert code == 0 and not (Paths.default().sandbox_dir / DB_NAME).exists()
    code, out, _ = run_cli(capsys, "--report", "--json")
    assert json.loads(out)["receipts"] == 0


def test_extension_flags_plug_in(capsys, monkeypatch):
    seen = {}
    monkeypatch.setattr(sandbox_cli, "ARGUMENT_REGISTRARS",
                        [lambda p: p.add_argument("--export-thing", metavar="FILE")])

    def handler(args):
        if args.export_thing:
            seen["file"] = args.export_thing
            return 0
        return None

    monkeypatch.setattr(sandbox_cli, "HANDLERS", [handler])
    code, _, _ = run_cli(capsys, "--export-thing", "out.txt")
    assert code == 0 and seen == {"file": "out.txt"}


def test_bad_rates_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["sandbox", "--error-rate", "1.5"])
    assert exit_info.value.code == 2
    capsys.readouterr()


def test_foreground_run_writes_state_serves_and_stops_cleanly(console_home):
    env = {**os.environ, "BILLER_CONSOLE_HOME": str(console_home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "console", "sandbox", "--api-version", "2021.02.160"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = Path(console_home) / "data" / "sandbox" / "running.json"
    try:
        deadline = time.monotonic() + 20
        while not state.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "sandbox did not start"
            time.sleep(0.05)
        info = json.loads(state.read_text())
        assert info["pid"] == proc.pid
        url = info["urls"]["caselle_url"]
        assert requests.get(url.replace("/graphql", "/health"), timeout=2).json()["version"] == "2021.02.160"
        # another process sees it through running.json
        probe = subprocess.run([sys.executable, "-c", "from console.sandbox.runner import ensure_sandbox;"
                                "e = ensure_sandbox(); print(e.embedded, e.urls['caselle_url'])"],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
        assert probe.stdout.split() == ["False", url]
        # --adjust and --report work against the running sandbox's state
        adjust = subprocess.run([sys.executable, "-m", "console", "sandbox", "--adjust", "100102-01", "-3.00",
                                 "Late fee waived", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=30)
        assert adjust.returncode == 0, adjust.stderr
        made = json.loads(adjust.stdout)
        token = request_token(info["urls"]["caselle_token_url"], info["info"]["caselle_client_id"],
                              info["info"]["caselle_client_secret"])
        with CaselleClient(url, token, timeout=5) as c:
            seen = c.adjustments_since(after_sequence=made["sequence"] - 1)
            assert [a.adjustment_id for a in seen] == [made["adjustment_id"]]
            c.open_batch(dt.date(2026, 11, 23))
            c.create_receipt(reference="LIVE-1", account_number="100102-01", amount=Decimal("4.56"), tender="CASH",
                             receipt_date=dt.date(2026, 11, 23))
        rep = subprocess.run([sys.executable, "-m", "console", "sandbox", "--report", "--json"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=30)
        data = json.loads(rep.stdout)
        assert (data["receipts"], data["total"], data["adjustments_created"]) == (1, "4.56", 1)
        again = subprocess.run([sys.executable, "-m", "console", "sandbox"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=30)
        assert again.returncode == 1 and "already running" in again.stderr
        reset = subprocess.run([sys.executable, "-m", "console", "sandbox", "--reset"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=30)
        assert reset.returncode == 1 and "stop it" in reset.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "sandbox-secret" in out and url in out and "TRAINING" in out
    assert not state.exists()
