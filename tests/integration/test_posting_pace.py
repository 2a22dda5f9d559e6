"""Posting keeps its pace when Caselle stalls: 400 payments against the stand-in with the
issue's faults (10 % 503s, 5 % stalls past the client's timeout, 5 % commit-then-drop, 5 ms
latency) take about the stalls' time divided by the workers, not the sum of all stalls, and
stay exactly once (the sandbox's own report), with each date's batch opened once and closed.

Stalls are short here (client timeout 2 s, the stand-in stalls 2.5 s) and counted by the
stand-in itself; the bound below is far under the sum of the stalls (what one worker waits)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections import Counter
from decimal import Decimal

import pytest

from console.adapters.caselle import CaselleClient, request_token
from console.adapters.journal import DONE, IN_FLIGHT, PENDING, SqliteJournal
from console.config import sandbox_profile
from console.files.reader import read_file
from console.paths import Paths
from console.sandbox import exports
from console.sandbox.caselle_server import DB_NAME, report
from console.sandbox.runner import Sandbox, SandboxOptions
from console.services.posting import BATCH_CLOSE, BATCH_OPEN, RECEIPT, PostingService, RetryPolicy

pytestmark = pytest.mark.slow
TIMEOUT_S = 2.0
FAULTS = SandboxOptions(error_rate=0.10, timeout_rate=0.05, drop_after_commit_rate=0.05, latency_ms=5, seed=1212,
                        timeout_sleep_s=TIMEOUT_S + 0.5)


def _client(sb: Sandbox) -> CaselleClient:
    ep = sb.endpoints()
    token = request_token(ep["urls"]["caselle_token_url"], ep["info"]["caselle_client_id"],
                          ep["info"]["caselle_client_secret"])
    return CaselleClient(ep["urls"]["caselle_url"], token, timeout=TIMEOUT_S)


def _batches_of(db_file, refs: set[str]) -> dict[str, list[tuple[str, str, int]]]:
    """Per batch date: [(batch ID, status, our receipts in it)] as the stand-in holds them."""
    db = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        ours = Counter(b for ref, b in db.execute("SELECT reference, batch_id FROM receipts") if ref in refs)
        out: dict[str, list[tuple[str, str, int]]] = {}
        for batch_id, day, status in db.execute("SELECT batch_id, batch_date, status FROM batches"):
            out.setdefault(day, []).append((batch_id, status, ours.get(batch_id, 0)))
        return out
    finally:
        db.close()


def test_400_payments_under_stalls_take_the_stalls_divided_by_the_workers(tmp_path):
    paths = Paths.default().ensure()
    f = tmp_path / "payments.csv"
    summary = exports.write_export("payments", f, 400, 12, receipts_only=True)
    rows = read_file(f, "ic-payments-v1").records
    per_day = Counter(r["PaymentDate"].date().isoformat() for r in rows)
    today = max(dt.date.fromisoformat(d) for d in per_day) + dt.timedelta(days=1)  # every batch closes after
    with Sandbox(FAULTS, data_dir=paths.sandbox_dir, parts=["console.sandbox.caselle_server"]) as sb:
        faults = sb.part("caselle").handle.faults
        client = _client(sb)
        journal = SqliteJournal(paths.journal_file)
        svc = PostingService(journal, client, sandbox_profile(), today=lambda: today,
                             retry=RetryPolicy(base_s=0.05, cap_s=0.5, max_attempts=40, max_consecutive_network=400))
        assert svc.workers == sandbox_profile().get("caselle_workers") == 4  # the profile's default, declared once
        svc.import_file(f, "payments", "clerk1")
        before = faults.injected()["timeout"]
        started = time.monotonic()
        result = svc.post_pending(operator="clerk1")
        elapsed = time.monotonic() - started
        stalls = faults.injected()["timeout"] - before
        client.close()
    waited = stalls * TIMEOUT_S  # what one worker waits out, one stall after another
    assert stalls >= 10, stalls  # the faults really stalled calls
    # stalled calls wait side by side (the workers, and as many spares while calls stall): the run
    # takes at most the stalls' time divided by the workers, plus a little (the last stall, the
    # calls that answered, journal writes); one worker would take at least `waited`
    assert elapsed < waited / svc.workers + 2 * TIMEOUT_S + 8, (elapsed, stalls)
    assert elapsed >= waited / (2 * svc.workers) and result.spare_workers >= 1, (elapsed, result.spare_workers)
    # exactly once, by Caselle's own account
    rep = report(paths.sandbox_dir / DB_NAME)
    assert result.complete, result
    assert rep["receipts"] == 400 == summary["receipts"]
    assert rep["references_posted_more_than_once"] == []
    assert Decimal(rep["total"]) == Decimal(summary["control_total"])
    counts = journal.counts(kinds=[RECEIPT])
    assert counts[DONE] == 400 and sum(counts.values()) == 400
    # each payment date's batch opened once, holds that date's receipts, and was closed after the run
    batches = _batches_of(paths.sandbox_dir / DB_NAME, {r["PaymentId"] for r in rows})
    for day, n in per_day.items():
        assert [(status, k) for _, status, k in batches[day]] == [("CLOSED", n)], (day, batches[day])
    batch_states = journal.counts(kinds=[BATCH_OPEN, BATCH_CLOSE])
    assert batch_states[PENDING] == batch_states[IN_FLIGHT] == 0
    assert batch_states[DONE] == 2 * len(per_day), batch_states
    journal.close()
    print(f"pace: {elapsed:.1f} s for {stalls} stalls of {TIMEOUT_S:g} s ({waited:.0f} s in a row), "
          f"{svc.workers} workers ({result.spare_workers} spares started), outcomes {dict(result.outcomes)}")
