"""Exactly once with one PostgreSQL journal for the office: three `biller-console post` processes
(three PCs: three console homes whose profiles name one sandbox) share one journal URL while the
Caselle stand-in injects faults; one is killed with SIGKILL mid-run, and the journal server is
stopped and started again mid-run. Every payment is posted once, the totals equal the file's."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from console.adapters.journal_pg import PgJournal
from console.adapters.pg import PgDatabase
from console.adapters.stores_pg import PgAuditLog
from console.paths import Paths
from console.sandbox import exports
from console.sandbox.caselle_server import DB_NAME, report
from console.sandbox.runner import Sandbox, SandboxOptions, remove_state, write_state
from console.services.posting import RECEIPT

pytestmark = pytest.mark.slow
CASELLE = ["console.sandbox.caselle_server"]


@pytest.fixture
def office(tmp_path, pg_url):
    """One sandbox with faults; three console homes (PCs) that find it; one journal database."""
    paths = Paths.default().ensure()
    sb = Sandbox(SandboxOptions(latency_ms=4, error_rate=0.05, timeout_rate=0.02, drop_after_commit_rate=0.03,
                                timeout_sleep_s=0.6, seed=99), data_dir=paths.sandbox_dir, parts=CASELLE).start()
    homes = [tmp_path / f"pc{i}" for i in range(3)]
    for home in homes:
        write_state(home / "data" / "sandbox", sb.as_endpoints(embedded=False))
    yield homes, pg_url, paths.sandbox_dir
    for home in homes:
        remove_state(home / "data" / "sandbox")
    sb.stop()


def _post(f: Path, home: Path, url: str) -> subprocess.Popen:
    env = dict(os.environ, BILLER_CONSOLE_HOME=str(home), BILLER_CONSOLE_JOURNAL_URL=url,
               BILLER_CONSOLE_OPERATOR="clerk1", BILLER_CONSOLE_PIN="2222",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    return subprocess.Popen([sys.executable, "-m", "console", "post", str(f), "--kind", "payments", "--json",
                             "--workers", "4"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _done(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute("SELECT COUNT(*) FROM entries WHERE state = 'done' AND kind = %s",
                                (RECEIPT,)).fetchone()[0]
    except psycopg.Error:
        return -1


def _wait_done(url: str, at_least: int, procs: list[subprocess.Popen], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while _done(url) < at_least and time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
        time.sleep(0.05)


def _receipts(sb_dir: Path) -> list[tuple[str, int]]:
    db = sqlite3.connect(f"file:{sb_dir / DB_NAME}?mode=ro", uri=True)
    try:
        return db.execute("SELECT reference, amount_cents FROM receipts").fetchall()
    finally:
        db.close()


def _check_exactly_once(url: str, sb_dir: Path, summary: dict, n: int) -> None:
    refs = _receipts(sb_dir)
    rep = report(sb_dir / DB_NAME)
    assert len(refs) == len({r for r, _ in refs}) == n == rep["receipts"]
    assert rep["references_posted_more_than_once"] == []
    assert Decimal(rep["total"]) == Decimal(summary["control_total"])
    db = PgDatabase(url)
    try:
        counts = PgJournal(db).counts(kinds=[RECEIPT])
        assert counts["done"] == n and sum(counts.values()) == n, counts
        chain = PgAuditLog(db).verify()
        assert chain.ok and chain.rows > 0, chain
    finally:
        db.close()


def test_three_pcs_one_killed_every_payment_once(tmp_path, office):
    homes, url, sb_dir = office
    f = tmp_path / "payments.csv"
    n = 600
    summary = exports.write_export("payments", f, n, 17, receipts_only=True)
    started = time.monotonic()
    procs = [_post(f, home, url) for home in homes]
    _wait_done(url, 120, procs)
    os.kill(procs[0].pid, signal.SIGKILL)  # the first PC dies holding claims (leases of 300 s and more)
    procs[0].wait(10)
    outs = [p.communicate(timeout=240) for p in procs[1:]]
    elapsed = time.monotonic() - started
    assert [p.returncode for p in procs[1:]] == [0, 0], outs
    results = [json.loads(o) for o, _ in outs]
    assert all(r["import"]["status"] in ("imported", "already_imported") for r in results)
    _check_exactly_once(url, sb_dir, summary, n)
    # the killed poster's claims came back at once (its pid is gone), not after their lease ran out
    assert elapsed < 150, elapsed
    print(f"three PCs, one killed: {elapsed:.1f} s; runs {[r['run'] for r in results]}")


def test_server_restart_mid_run_posters_resume(tmp_path, office, pg_cluster):
    homes, url, sb_dir = office
    f = tmp_path / "payments.csv"
    n = 500
    summary = exports.write_export("payments", f, n, 23, receipts_only=True)
    procs = [_post(f, home, url) for home in homes[:2]]
    _wait_done(url, 100, procs)
    pg_cluster.stop("fast")  # every connection is cut; nothing answers for a while
    time.sleep(2.0)
    pg_cluster.start()
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert any("connection lost" in err for _, err in outs), [e[-500:] for _, e in outs]  # it did hit them
    _check_exactly_once(url, sb_dir, summary, n)
