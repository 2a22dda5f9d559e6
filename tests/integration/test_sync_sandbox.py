"""Account sync against the real sandbox (HTTP, SQLite, SFTP): adjustments made in its Caselle appear
in its Invoice Cloud exactly once — with fault injection, after kill -9 of the CLI, and in file mode."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from console.adapters.invoicecloud import InvoiceCloudClient
from console.adapters.journal import DONE, REJECTED
from console.app import build_services
from console.paths import Paths
from console.sandbox import ic_balances
from console.sandbox.runner import Sandbox, SandboxOptions, remove_state, write_state
from console.sandbox.seed import demo_customers
from console.secrets import MemoryBackend
from console.services.account_sync import BALANCE, AccountSyncService
from console.services.posting import RetryPolicy

pytestmark = pytest.mark.usefixtures("cli_as_clerk")  # commands that act name who acts

PARTS = ["console.sandbox.caselle_server", "console.sandbox.invoicecloud_server"]
UNKNOWN = ic_balances.not_registered_accounts()


def _known_accounts(n: int) -> list[str]:
    return [c.account_number for c in demo_customers() if c.account_number not in UNKNOWN][:n]


def _adjust(sb: Sandbox, count: int, *, start: int = 0, accounts: list[str] | None = None) -> None:
    accounts = accounts or _known_accounts(40)
    items = [(accounts[(start + i) % len(accounts)], Decimal(f"-{(start + i) % 90 + 1}.25"), f"Leak credit {start + i}")
             for i in range(count)]
    sb.part("caselle").handle.store.create_adjustments(items, by="tester")


def _ic_rows(paths: Paths) -> dict[str, tuple[str, int]]:
    db = sqlite3.connect(paths.sandbox_dir / ic_balances.DB_NAME)
    try:
        return {r[0]: (r[1], r[2]) for r in db.execute("SELECT adjustment_id, balance_cents, sends FROM balances")}
    finally:
        db.close()


def _caselle_adjustments(paths: Paths) -> dict[str, int]:
    db = sqlite3.connect(paths.sandbox_dir / "caselle.sqlite3")
    try:
        return {r[0]: r[1] for r in db.execute("SELECT adjustment_id, balance_after_cents FROM adjustments")}
    finally:
        db.close()


@pytest.fixture
def sandbox():
    """Caselle + Invoice Cloud stand-ins in this process, published in running.json (CLI subprocesses use it)."""
    paths = Paths.default().ensure()
    sb = Sandbox(SandboxOptions(seed=11), data_dir=paths.sandbox_dir, parts=PARTS).start()
    write_state(paths.sandbox_dir, sb.as_endpoints(embedded=False))
    yield sb, paths
    remove_state(paths.sandbox_dir)
    sb.stop()


def _services(paths: Paths, **profile_changes):
    services = build_services("sandbox", paths=paths, secret_backend=MemoryBackend(), operator_id="clerk1")
    if profile_changes:
        services.profile = services.profile.with_values(**profile_changes)
    return services


def test_adjustments_appear_in_invoice_cloud_once_and_a_second_sync_sends_nothing(sandbox):
    sb, paths = sandbox
    services = _services(paths)
    caselle = services.caselle
    second_account = _known_accounts(2)[1]
    made = [caselle.create_adjustment("100102-01", "-12.50", "Leak credit"),
            caselle.create_adjustment(second_account, "7.25", "Meter re-read fee"),
            caselle.create_adjustment("100102-01", "-3.00", "Late fee waived"),
            caselle.create_adjustment(UNKNOWN[0], "4.00", "NSF fee")]
    svc = services.account_sync
    first = svc.sync(operator="clerk1")
    assert first.complete, first.as_dict()
    seeded = first.found - len(made)
    assert first.outcomes["not_in_invoice_cloud"] >= 1
    assert [(r.account, r.state) for r in first.reported if r.adjustment_id == made[3].adjustment_id] == [
        (UNKNOWN[0], REJECTED)]
    ic = _ic_rows(paths)
    caselle_side = _caselle_adjustments(paths)
    for a in made[:3]:
        assert ic[a.adjustment_id] == (caselle_side[a.adjustment_id], 1)  # the balance after, sent once
    assert made[3].adjustment_id not in ic
    shown = services.account_sync.invoicecloud.account_balance("100102-01")
    assert shown["adjustment_id"] == made[2].adjustment_id and Decimal(shown["balance_due"]) == made[2].balance_after
    # everything Caselle has is either in Invoice Cloud once or reported
    journal = services.journal
    states = {e.payload["adjustment_id"]: e.state for e in journal.entries(kinds=[BALANCE])}
    assert set(states) == set(caselle_side) and len(states) == seeded + len(made)
    assert all(s == DONE for k, s in states.items() if k in ic) and all(v[1] == 1 for v in ic.values())
    second = services.account_sync.sync(operator="clerk1")
    assert second.complete and second.found == 0 and not second.outcomes
    assert _ic_rows(paths) == ic
    services.close()


def test_fault_injection_on_invoice_cloud_still_exactly_once(sandbox):
    sb, paths = sandbox
    _adjust(sb, 300)
    ic_server = sb.part("invoicecloud").handle
    ic_balances.faults_of(ic_server).update(error_rate=0.10, timeout_rate=0.05, drop_after_commit_rate=0.05,
                                             seed=4242, timeout_sleep_s=0.8)
    services = _services(paths)
    ep = services.endpoints
    client = InvoiceCloudClient(ep["ic_api_url"], ep["ic_web_service_key"], timeout=0.5)
    svc = AccountSyncService(services.journal, services.caselle, client, services.profile, services.audit,
                             retry=RetryPolicy(base_s=0.02, cap_s=0.2, max_attempts=40, max_consecutive_network=400),
                             workers=8)
    result = svc.sync(operator="clerk1")
    ic_balances.faults_of(ic_server).update(error_rate=0.0, timeout_rate=0.0, drop_after_commit_rate=0.0)
    assert result.complete, result.as_dict()
    ic = _ic_rows(paths)
    caselle_side = _caselle_adjustments(paths)
    sent = {e.payload["adjustment_id"] for e in services.journal.entries(kinds=[BALANCE], states=[DONE])}
    assert len(sent) == result.outcomes["sent"] + result.outcomes["already_there"] == len(ic)
    assert sent == set(ic) and len(sent) >= 300
    assert all(sends == 1 for _, sends in ic.values())  # nothing ever re-sent without looking first
    assert all(ic[k][0] == caselle_side[k] for k in ic)
    assert result.outcomes["already_there"] > 0  # commit-then-drop really happened and was reconciled
    client.close()
    services.close()


def test_faults_on_both_sides_still_send_each_adjustment_once(sandbox):
    """Caselle's reads (adjustments, CustomerDetail) fail too: a run may stop early, the next run
    finishes, and Invoice Cloud still receives every balance update exactly once."""
    sb, paths = sandbox
    _adjust(sb, 120)
    ic_server = sb.part("invoicecloud").handle
    caselle_server = sb.part("caselle").handle
    ic_balances.faults_of(ic_server).update(error_rate=0.10, timeout_rate=0.05, drop_after_commit_rate=0.05,
                                             seed=77, timeout_sleep_s=0.8)
    caselle_server.faults.update(error_rate=0.10, timeout_rate=0.05, seed=78, timeout_sleep_s=0.8)
    services = _services(paths)
    services.overrides["caselle_timeout"] = 0.5
    ep = services.endpoints
    client = InvoiceCloudClient(ep["ic_api_url"], ep["ic_web_service_key"], timeout=0.5)
    svc = AccountSyncService(services.journal, services.caselle, client, services.profile, services.audit,
                             retry=RetryPolicy(base_s=0.02, cap_s=0.2, max_attempts=40, max_consecutive_network=400),
                             workers=4)
    runs = []
    for _ in range(15):  # a clerk pressing Sync again until it says everything is done
        try:
            result = svc.sync(operator="clerk1")
        except Exception as exc:  # noqa: BLE001 - a failed read stops a run; the next one goes on
            runs.append(type(exc).__name__)
            continue
        runs.append(result.complete)
        if result.complete and result.found == 0:
            break
    ic_balances.faults_of(ic_server).update(error_rate=0.0, timeout_rate=0.0, drop_after_commit_rate=0.0)
    caselle_server.faults.update(error_rate=0.0, timeout_rate=0.0)
    final = svc.sync(operator="clerk1")
    assert final.complete and final.found == 0, (runs, final.as_dict())
    ic = _ic_rows(paths)
    caselle_side = _caselle_adjustments(paths)
    sent = {e.payload["adjustment_id"] for e in services.journal.entries(kinds=[BALANCE], states=[DONE])}
    assert sent == set(ic) and len(sent) >= 120
    assert all(sends == 1 for _, sends in ic.values())
    assert all(ic[k][0] == caselle_side[k] for k in ic)
    client.close()
    services.close()


def _cli(*args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["BILLER_CONSOLE_OPERATOR"] = "clerk1"
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return subprocess.Popen([sys.executable, "-m", "console", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _done(journal_file: Path) -> int:
    if not journal_file.exists():
        return 0
    try:
        db = sqlite3.connect(journal_file, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM entries WHERE kind = ? AND state = 'done'", (BALANCE,)).fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_kill_9_mid_sync_then_rerun_is_exactly_once(sandbox):
    sb, paths = sandbox
    _adjust(sb, 400)
    ic_balances.faults_of(sb.part("invoicecloud").handle).update(latency_ms=4, drop_after_commit_rate=0.05, seed=9)
    proc = _cli("adjustments", "sync", "--json")
    deadline = time.monotonic() + 90
    while _done(paths.journal_file) < 100 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    at_kill = _done(paths.journal_file)
    total = len(_caselle_adjustments(paths))
    assert 100 <= at_kill < total
    again = _cli("adjustments", "sync", "--json")
    out, err = again.communicate(timeout=180)
    assert again.returncode == 0, (out, err)
    data = json.loads(out)
    assert data["status"] == "complete" and data["found"] == 0  # the killed run had journaled everything
    ic = _ic_rows(paths)
    reported = {e.payload["adjustment_id"] for e in Services_journal(paths).entries(kinds=[BALANCE], states=[REJECTED])}
    assert set(ic) | reported == set(_caselle_adjustments(paths))
    assert all(sends == 1 for _, sends in ic.values())
    third = _cli("adjustments", "sync", "--json")
    out, _ = third.communicate(timeout=120)
    assert third.returncode == 0 and json.loads(out)["outcomes"] == {}
    assert _ic_rows(paths) == ic


def Services_journal(paths: Paths):  # noqa: N802 - a tiny reader for the assertions
    from console.adapters.journal import SqliteJournal

    return SqliteJournal(paths.journal_file)


def test_cli_dry_run_and_exit_codes(sandbox):
    sb, paths = sandbox
    _adjust(sb, 3)
    dry = _cli("adjustments", "sync", "--dry-run", "--json")
    out, err = dry.communicate(timeout=120)
    assert dry.returncode == 0, err
    data = json.loads(out)
    assert data["dry_run"] and len(data["pending"]) == len(_caselle_adjustments(paths))
    assert all(isinstance(p["BalanceDue"], str) for p in data["pending"])
    assert _ic_rows(paths) == {}
    run = _cli("adjustments", "sync")
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, (out, err)
    assert "sent:" in out and "complete" in out


@pytest.fixture
def full_sandbox():
    paths = Paths.default().ensure()
    sb = Sandbox(SandboxOptions(seed=5), data_dir=paths.sandbox_dir,
                 parts=[*PARTS, "console.sandbox.sftp_server"]).start()
    write_state(paths.sandbox_dir, sb.as_endpoints(embedded=False))
    yield sb, paths
    remove_state(paths.sandbox_dir)
    sb.stop()


def test_file_mode_sends_one_balance_file_through_the_sandbox_sftp(full_sandbox):
    sb, paths = full_sandbox
    _adjust(sb, 5)
    services = _services(paths, sync_adjustments_via="file")
    first = services.account_sync.sync(operator="clerk1")
    assert first.complete, first.as_dict()
    assert first.file is not None and first.file["remote_path"].startswith("/balances/")
    n = len(_caselle_adjustments(paths))
    assert first.outcomes["sent_in_file"] + first.outcomes.get("invalid", 0) == n
    remote = paths.sandbox_dir / "sftp" / "root" / first.file["remote_path"].lstrip("/")
    candidates = [remote, remote.with_name(remote.name + ".snt"), remote.with_suffix(".snt")]
    found = next(p for p in candidates if p.exists())
    rows = list(csv.DictReader(io.StringIO(found.read_text(encoding="utf-8"))))
    data_rows = [r for r in rows if r["AdjustmentId"] != "TRAILER"]
    assert len(data_rows) == first.outcomes["sent_in_file"]
    caselle_side = _caselle_adjustments(paths)
    for r in data_rows:
        assert Decimal(r["BalanceDue"]) * 100 == caselle_side[r["AdjustmentId"]]
        assert Decimal(r["MinimumAmountDue"]) <= max(Decimal(r["BalanceDue"]), Decimal(0))
    from console.files.reader import read_file

    assert read_file(found, "ic-balance-v1").ok  # the layout reads it back without an error
    assert _ic_rows(paths) == {}  # nothing went by the API
    second = services.account_sync.sync(operator="clerk1")
    assert second.complete and second.file is None and second.outcomes == {}
    _adjust(sb, 2, start=50)
    third = services.account_sync.sync(operator="clerk1")
    assert third.outcomes == {"sent_in_file": 2} and third.file["remote_path"] != first.file["remote_path"]
    services.close()


def test_file_mode_resumes_the_same_file_after_a_crash_before_recording(full_sandbox, monkeypatch):
    sb, paths = full_sandbox
    _adjust(sb, 4)
    services = _services(paths, sync_adjustments_via="file")
    svc = services.account_sync
    real_record = svc.journal.record_many
    calls = {"n": 0}

    def crash_once(ops):
        if calls["n"] == 0 and ops and ops[0][0] == "finish" and ops[0][4] == "sent_in_file":
            calls["n"] += 1
            raise KeyboardInterrupt("power cut after the upload, before the journal heard of it")
        return real_record(ops)

    monkeypatch.setattr(svc.journal, "record_many", crash_once)
    with pytest.raises(KeyboardInterrupt):
        svc.sync(operator="clerk1")
    sent_files = sorted((paths.sandbox_dir / "sftp" / "root" / "balances").iterdir())
    assert len(sent_files) == 1
    # the process "died": its leases expire (a dead pid's are recovered at once in real life)
    db = sqlite3.connect(paths.journal_file)
    db.execute("UPDATE entries SET lease_expires = 0 WHERE kind = ? AND state = 'in_flight'", (BALANCE,))
    db.commit()
    db.close()
    _adjust(sb, 3, start=70)  # new adjustments must not join the delivered file
    again = svc.sync(operator="clerk1")
    total = len(_caselle_adjustments(paths))
    assert again.outcomes["sent_in_file"] + again.outcomes.get("invalid", 0) == total  # old file once + new file
    assert len(list((paths.sandbox_dir / "sftp" / "root" / "balances").iterdir())) == 2
    assert again.complete and again.remaining == 0  # the new ones went in a second file in the same run
    third = svc.sync(operator="clerk1")
    assert third.complete and third.outcomes == {}
    files = sorted(p.name for p in (paths.sandbox_dir / "sftp" / "root" / "balances").iterdir())
    ids: list[str] = []
    for name in files:
        text = (paths.sandbox_dir / "sftp" / "root" / "balances" / name).read_text(encoding="utf-8")
        ids += [r["AdjustmentId"] for r in csv.DictReader(io.StringIO(text)) if r["AdjustmentId"] != "TRAILER"]
    assert len(ids) == len(set(ids))  # no adjustment in two files
    states = {e.state for e in services.journal.entries(kinds=[BALANCE])}
    assert states <= {DONE, REJECTED}
    services.close()


def test_two_consoles_syncing_at_once_send_each_update_once(sandbox):
    sb, paths = sandbox
    _adjust(sb, 300)
    ic_balances.faults_of(sb.part("invoicecloud").handle).update(latency_ms=2)
    procs = [_cli("adjustments", "sync", "--json") for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-3000:] for _, err in outs]
    results = [json.loads(o) for o, _ in outs]
    sent = sum(r["outcomes"].get("sent", 0) + r["outcomes"].get("already_there", 0) for r in results)
    ic = _ic_rows(paths)
    assert sent == len(ic) and all(sends == 1 for _, sends in ic.values())
    reported = {e.payload["adjustment_id"] for e in Services_journal(paths).entries(kinds=[BALANCE],
                                                                                   states=[REJECTED])}
    assert set(ic) | reported == set(_caselle_adjustments(paths))
