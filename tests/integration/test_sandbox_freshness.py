"""The sandbox reseeds stored demo data made by an older generator, gone stale or out of step
between its stand-ins, and keeps current data as it is (real SQLite files, real servers)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from console.sandbox import freshness, runner
from console.sandbox import seed as demo
from console.sandbox.caselle_server import DB_NAME as CASELLE_DB
from console.sandbox.caselle_server import CaselleStore
from console.sandbox.ic_balances import DB_NAME as BALANCES_DB
from console.sandbox.ic_balances import BalanceStore, not_registered_accounts
from console.sandbox.ic_balances import report as balances_report

ROOT = Path(__file__).resolve().parents[2]
PARTS = ["console.sandbox.caselle_server", "console.sandbox.invoicecloud_server"]
TODAY = demo.demo_today()
OLD_ACCOUNT = "100703-03"  # an account of the generator before bills were dated by today


def make_stores(data_dir: Path, as_of: dt.date | None = None) -> None:
    """Both stand-ins' stores, seeded (for ``as_of`` when given), with one receipt and one
    balance update on top of the seed."""
    caselle, balances = CaselleStore(data_dir / CASELLE_DB), BalanceStore(data_dir / BALANCES_DB)
    try:
        if as_of is not None:
            caselle.reseed(as_of)
            balances.reseed(as_of)
        account = demo.demo_customers(as_of=as_of or TODAY)[0]
        caselle.open_batch(as_of or TODAY)
        caselle.create_receipt(reference="KEEP-1", account=account.account_number, amount=Decimal("7.25"),
                               tender="CASH", receipt_date=as_of or TODAY, batch_date=as_of or TODAY,
                               payer_name=None, memo=None, by="test")
        balances.put({"AdjustmentId": "ADJ-900001", "AccountNumber": account.account_number,
                      "InvoiceNumber": account.invoice_number, "AdjustedAt": "2026-11-20T10:00:00Z",
                      "AdjustmentAmount": "-3.00", "BalanceDue": "10.00", "MinimumAmountDue": "10.00",
                      "Reason": "Late fee waived"}, "ADJ-900001")
    finally:
        caselle.close()
        balances.close()


def make_old_version_folder(data_dir: Path) -> None:
    """A folder as an older version left it: no seed version, its own accounts."""
    make_stores(data_dir)
    for name in (CASELLE_DB, BALANCES_DB):
        db = sqlite3.connect(data_dir / name)
        with db:
            db.execute("DELETE FROM meta WHERE key = 'seed_version'")
            db.execute("UPDATE meta SET value = '2026-11-25' WHERE key = 'as_of'")
            table = "customers" if name == CASELLE_DB else "accounts"
            db.execute(f"UPDATE {table} SET account_number = ? WHERE account_number = ?",  # noqa: S608
                       (OLD_ACCOUNT, not_registered_accounts()[0]))
        db.close()


def meta(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()


def count(path: Path, sql: str, *args) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


def test_a_folder_of_an_older_version_is_reseeded_at_start(tmp_path, caplog):
    make_old_version_folder(tmp_path)
    (tmp_path / "sftp").mkdir()
    (tmp_path / "sftp" / "host_key").write_text("kept")  # the rest of the folder stays
    assert freshness.outdated(tmp_path) == "was made by an older version"
    assert OLD_ACCOUNT in balances_report(tmp_path)["not_registered_accounts"]  # what it holds
    with caplog.at_level(logging.INFO, logger="console.sandbox"), runner.Sandbox(data_dir=tmp_path, parts=PARTS) as sb:
        assert sb.reseeded and sb.reseeded.startswith("sandbox data was made by an older version: reseeded")
        assert sb.as_endpoints(embedded=True).as_dict()["sandbox_reseeded"] == sb.reseeded
        store = sb.part("caselle").handle.store
        unknown = not_registered_accounts()[0]
        assert store.customer_row(OLD_ACCOUNT) is None and store.customer_row(unknown) is not None
        ic_store = sb.part("invoicecloud").handle.balance_store
        assert ic_store.account(OLD_ACCOUNT) is None
        assert ic_store.account(unknown) is not None and not ic_store.account(unknown)["registered"]
        assert ic_store.updates() == []  # the old balance updates went with the old data
    assert any(r.levelno == logging.INFO and "older version: reseeded" in r.getMessage() for r in caplog.records)
    for name in (CASELLE_DB, BALANCES_DB):
        stored = meta(tmp_path / name)
        assert (stored["seed_version"], stored["as_of"]) == (str(demo.SEED_VERSION), TODAY.isoformat())
    assert count(tmp_path / CASELLE_DB, "SELECT COUNT(*) FROM receipts") == 0
    assert count(tmp_path / CASELLE_DB, "SELECT COUNT(*) FROM customers") == demo.DEFAULT_COUNT
    assert (tmp_path / "sftp" / "host_key").read_text() == "kept"
    assert freshness.outdated(tmp_path) is None
    assert balances_report(tmp_path)["not_registered_accounts"] == not_registered_accounts()


def test_a_current_folder_is_kept_as_it_is(tmp_path):
    make_stores(tmp_path)
    before = {name: meta(tmp_path / name)["seeded_at"] for name in (CASELLE_DB, BALANCES_DB)}
    with runner.Sandbox(data_dir=tmp_path, parts=PARTS) as sb:
        assert sb.reseeded is None
        assert sb.part("caselle").handle.store.receipt_by_reference("KEEP-1")["amount_cents"] == 725
        assert [u["adjustment_id"] for u in sb.part("invoicecloud").handle.balance_store.updates()] == ["ADJ-900001"]
    assert {name: meta(tmp_path / name)["seeded_at"] for name in (CASELLE_DB, BALANCES_DB)} == before


def test_bills_older_than_two_weeks_are_rolled_forward(tmp_path):
    make_stores(tmp_path, TODAY - dt.timedelta(days=freshness.REFRESH_AFTER_DAYS + 1))
    with runner.Sandbox(data_dir=tmp_path, parts=PARTS) as sb:
        assert "more than 14 days ago: reseeded" in sb.reseeded
        store = sb.part("caselle").handle.store
        first = demo.demo_customers()[0]
        assert store.customer_row(first.account_number)["bill_date"] == first.bill_date.isoformat()
        assert store.receipt_by_reference("KEEP-1") is None
    assert meta(tmp_path / BALANCES_DB)["as_of"] == TODAY.isoformat()


def test_bills_of_the_last_two_weeks_are_kept(tmp_path):
    day = TODAY - dt.timedelta(days=freshness.REFRESH_AFTER_DAYS)
    make_stores(tmp_path, day)
    with runner.Sandbox(data_dir=tmp_path, parts=PARTS) as sb:
        assert sb.reseeded is None
        assert sb.part("caselle").handle.store.receipt_by_reference("KEEP-1") is not None
    assert meta(tmp_path / CASELLE_DB)["as_of"] == meta(tmp_path / BALANCES_DB)["as_of"] == day.isoformat()


def test_stand_ins_of_different_days_are_brought_together(tmp_path):
    make_stores(tmp_path, TODAY - dt.timedelta(days=3))
    balances = BalanceStore(tmp_path / BALANCES_DB)
    balances.reseed(TODAY)
    balances.close()
    assert freshness.outdated(tmp_path) == "held the bills of different days in Caselle and Invoice Cloud"
    assert freshness.refresh(tmp_path)
    assert meta(tmp_path / CASELLE_DB)["as_of"] == meta(tmp_path / BALANCES_DB)["as_of"] == TODAY.isoformat()


def test_a_missing_stand_in_is_seeded_for_the_day_of_the_other(tmp_path):
    make_stores(tmp_path, TODAY - dt.timedelta(days=2))
    (tmp_path / BALANCES_DB).unlink()
    assert freshness.outdated(tmp_path) is not None  # it would be seeded for today: the other follows
    (tmp_path / CASELLE_DB).unlink()
    assert freshness.outdated(tmp_path) is None  # nothing stored: nothing to reseed


def test_data_of_a_newer_version_and_other_files_are_left_alone(tmp_path):
    make_stores(tmp_path)
    db = sqlite3.connect(tmp_path / CASELLE_DB)
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'seed_version'", (str(demo.SEED_VERSION + 1),))
    db.close()
    assert freshness.refresh(tmp_path) is None
    assert count(tmp_path / CASELLE_DB, "SELECT COUNT(*) FROM receipts") == 1
    other = tmp_path / "elsewhere"
    other.mkdir()
    not_seeded = sqlite3.connect(other / CASELLE_DB)  # a file of that name the sandbox did not seed
    with not_seeded:
        not_seeded.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        not_seeded.execute("INSERT INTO meta VALUES ('as_of', '2020-01-01')")
    not_seeded.close()
    assert freshness.refresh(other) is None
    assert meta(other / CASELLE_DB) == {"as_of": "2020-01-01"}


def test_the_sandbox_command_says_it_reseeded(console_home):
    data_dir = Path(console_home) / "data" / "sandbox"
    data_dir.mkdir(parents=True)
    make_old_version_folder(data_dir)
    env = {**os.environ, "BILLER_CONSOLE_HOME": str(console_home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "console", "sandbox"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = data_dir / "running.json"
    try:
        deadline = time.monotonic() + 30
        while not state.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "sandbox did not start"
            time.sleep(0.05)
        assert json.loads(state.read_text())["pid"] == proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Note: sandbox data was made by an older version: reseeded" in out
    assert meta(data_dir / CASELLE_DB)["seed_version"] == str(demo.SEED_VERSION)


@pytest.mark.parametrize("name", [CASELLE_DB, BALANCES_DB])
def test_stored_seed_reads_the_marker(tmp_path, name):
    assert freshness.stored_seed(tmp_path / name) is None
    make_stores(tmp_path)
    found = freshness.stored_seed(tmp_path / name)
    assert (found.seed_version, found.as_of) == (demo.SEED_VERSION, TODAY)
