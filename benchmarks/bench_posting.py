"""Posting benchmark: the full pipeline vs a bare loop of the same ``create_receipt`` calls.

Against the sandbox's Caselle stand-in with added latency (default 20 ms per request), in one
run:

- bare: a ``requests.Session`` loop sending the ``create_receipt`` mutation for every payment
  of a generated ``ic-payments-v1`` file (no file reading, no journal);
- pipeline: ``PostingService.import_file`` (read, check, journal every entry in one
  transaction) + ``post_pending`` (claim, post, record; WAL with synchronous=FULL), one worker,
  the same number of requests in sequence.

Prints both times, the per-payment overhead and the ratio. Target: ratio <= 1.2.
Under faults (issue 12 point 11): ``--fault-count`` payments (default 400) against the stand-in at
10 % 503s, 5 % stalls, 5 % commit-then-drop and 5 ms latency, each stall waiting out the client
timeout (``--stall-timeout-s``, default the profile's 20 s), posted with the default settings (the
profile's ``caselle_workers``) and with one worker: wall time, stalls, ratio, and exactly once by
the stand-in's report. Target: the default at least 4x faster than one worker.
Also (figures only): preview (read, check, plan) and journal import of a ``--preview-rows``
payment file (default 100,000), in rows/s, next to a bare ``csv.reader`` pass; and the preview's
state filter over as many rows (index lists in the model) next to a ``QSortFilterProxyModel`` with a
Python ``filterAcceptsRow`` (the way it was done before).

    .venv/bin/python benchmarks/bench_posting.py [--count 2000] [--latency-ms 20] [--preview-rows 100000]
        [--fault-count 400] [--stall-timeout-s 20] [--only-faults]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_RATIO = 1.2
TARGET_FAULT_SPEEDUP = 4.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--latency-ms", type=int, default=20)
    ap.add_argument("--preview-rows", type=int, default=100_000)
    ap.add_argument("--fault-count", type=int, default=400, help="payments of the fault run (0: skip it)")
    ap.add_argument("--stall-timeout-s", type=float, default=None,
                    help="client timeout a stall waits out (default: the profile's caselle_timeout_s)")
    ap.add_argument("--only-faults", action="store_true", help="run only the fault comparison")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BILLER_CONSOLE_HOME"] = str(Path(tmp) / "home")
        code = 0
        if args.fault_count:
            code |= _faults(Path(tmp), args.fault_count, args.stall_timeout_s)
        if args.only_faults:
            return code
        code |= _run(Path(tmp), args.count, args.latency_ms)
        if args.preview_rows:
            _preview(Path(tmp), args.preview_rows)
            _filter(args.preview_rows)
        return code


def _filter(n: int) -> None:
    """Switch the preview's state filter over ``n`` rows: ms per change, vs a Python-callback proxy."""
    from decimal import Decimal

    from PySide6.QtCore import QCoreApplication, QSortFilterProxyModel

    from console.services.posting import PlanRow
    from console.ui.posting_models import PostingRowsModel

    _app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841 - models want an application
    states = ("pending", "done", "rejected", "needs_review")
    rows = [PlanRow(i + 2, f"P{i:07d}", "receipt", "post receipt", f"1000{i % 50:02d}-01", Decimal(i % 500),
                    "CARD", "2026-11-25", states[i % 4]) for i in range(n)]
    changes = ("done", "rejected", None, "needs_review", "pending", None)

    class CallbackProxy(QSortFilterProxyModel):  # the baseline: one Python call per row
        state = None

        def filterAcceptsRow(self, source_row, source_parent):  # noqa: N802 - Qt override
            return self.state is None or self.sourceModel().rows[source_row].state == self.state

    model = PostingRowsModel()
    model.set_rows(rows)
    t0 = time.perf_counter()
    for state in changes:
        model.set_state(state)
        model.rowCount()
    ours = (time.perf_counter() - t0) / len(changes)
    base_model = PostingRowsModel()
    base_model.set_rows(rows)
    proxy = CallbackProxy()
    proxy.setSourceModel(base_model)
    t0 = time.perf_counter()
    for state in changes[:2]:  # two changes are enough to measure it
        proxy.state = state
        proxy.invalidate()
        proxy.rowCount()
    base = (time.perf_counter() - t0) / 2
    print(f"filter {n} rows:   {ours * 1000:8.2f} ms per change (index lists; Python filterAcceptsRow proxy "
          f"{base * 1000:8.1f} ms, {base / max(ours, 1e-9):.0f}x)")


def _preview(tmp: Path, rows: int) -> None:
    import csv

    from console.adapters.journal import SqliteJournal
    from console.config import sandbox_profile
    from console.sandbox import exports
    from console.services.posting import PostingService

    f = tmp / "preview.csv"
    exports.write_export("payments", f, rows, 17)
    t0 = time.perf_counter()
    with open(f, newline="", encoding="utf-8") as fh:
        n = sum(1 for _ in csv.reader(fh))
    bare = time.perf_counter() - t0
    journal = SqliteJournal(tmp / "preview-journal.sqlite3")
    svc = PostingService(journal, object(), sandbox_profile())
    t0 = time.perf_counter()
    plan = svc.preview_file(f, "payments")
    t_preview = time.perf_counter() - t0
    t0 = time.perf_counter()
    svc.import_plan(plan, "clerk1")
    t_import = time.perf_counter() - t0
    journal.close()
    print(f"preview {rows} rows:  {t_preview:6.2f} s ({rows / t_preview:9.0f} rows/s; bare csv.reader "
          f"{n / bare:9.0f} rows/s, ratio {t_preview / bare:.1f}x)")
    print(f"journal import:      {t_import:6.2f} s ({rows / t_import:9.0f} entries/s, one transaction)")


def _faults(tmp: Path, count: int, timeout_s: float | None) -> int:
    """Default settings vs one worker, ``count`` payments under the issue's faults."""
    from console.config import sandbox_profile
    from console.sandbox import exports

    profile = sandbox_profile()
    timeout_s = timeout_s if timeout_s is not None else float(profile.get("caselle_timeout_s"))
    payments_file = tmp / "fault-payments.csv"
    summary = exports.write_export("payments", payments_file, count, 12, receipts_only=True)
    runs = {}
    for label, workers in (("default", None), ("one worker", 1)):
        runs[label] = _fault_run(tmp / label.replace(" ", "-"), payments_file, summary, timeout_s, workers)
    default, one = runs["default"], runs["one worker"]
    print(f"under faults:        {count} payments, 10% 503 / 5% stall / 5% commit-then-drop, 5 ms latency, "
          f"stalls wait out {timeout_s:g} s")
    for label, r in runs.items():
        print(f"  {label:11s} ({r['workers']} worker{'s' if r['workers'] > 1 else ''}): {r['wall']:8.1f} s, "
              f"{r['stalls']} stalls ({r['stalls'] * timeout_s:.0f} s in a row), exactly once: "
              f"{'yes' if r['exactly_once'] else 'NO'}")
    speedup = one["wall"] / default["wall"]
    ok = speedup >= TARGET_FAULT_SPEEDUP and default["exactly_once"] and one["exactly_once"]
    print(f"  speed-up default/one worker: {speedup:.2f}x  (target >= {TARGET_FAULT_SPEEDUP:g}x)  "
          f"{'OK' if ok else 'SLOW'}")
    return 0 if ok else 1


def _fault_run(folder: Path, payments_file: Path, summary: dict, timeout_s: float, workers: int | None) -> dict:
    from decimal import Decimal

    from console.adapters.caselle import CaselleClient
    from console.adapters.journal import SqliteJournal
    from console.config import sandbox_profile
    from console.sandbox.caselle_server import DB_NAME, CaselleServer, Faults, report
    from console.services.posting import PostingService

    folder.mkdir(parents=True)
    faults = Faults(latency_ms=5, error_rate=0.10, timeout_rate=0.05, drop_after_commit_rate=0.05, seed=1212,
                    timeout_sleep_s=timeout_s + 5)
    with CaselleServer(folder / "caselle", faults=faults) as server:
        token, _ = server.issue_token()
        journal = SqliteJournal(folder / "journal.sqlite3")
        with CaselleClient(server.url, token, timeout=timeout_s) as client:
            svc = PostingService(journal, client, sandbox_profile(), workers=workers)
            svc.import_file(payments_file, "payments", "clerk1")
            before = faults.injected()["timeout"]
            t0 = time.perf_counter()
            result = svc.post_pending(operator="clerk1")
            wall = time.perf_counter() - t0
            stalls = faults.injected()["timeout"] - before
        journal.close()
        rep = report(folder / "caselle" / DB_NAME)
    once = (result.complete and rep["receipts"] == summary["receipts"] and not rep["references_posted_more_than_once"]
            and Decimal(rep["total"]) == Decimal(summary["control_total"]))
    return {"wall": wall, "stalls": stalls, "workers": svc.workers, "exactly_once": once}


def _run(tmp: Path, count: int, latency_ms: int) -> int:
    import requests
    from graphql import print_ast

    from console.adapters.caselle import CaselleClient, load_operation
    from console.adapters.journal import SqliteJournal
    from console.config import sandbox_profile
    from console.files.reader import read_file
    from console.sandbox import exports
    from console.sandbox.caselle_server import CaselleServer, Faults
    from console.services.posting import PostingService

    payments_file = tmp / "payments.csv"
    exports.write_export("payments", payments_file, count, 5, receipts_only=True)
    rows = list(read_file(payments_file, "ic-payments-v1").records)
    days = sorted({r["PaymentDate"].date() for r in rows})

    with CaselleServer(tmp / "caselle", faults=Faults(latency_ms=0)) as server:
        token, _ = server.issue_token()
        headers = {"Authorization": f"Bearer {token}"}
        create_doc = print_ast(load_operation("create_receipt"))
        with CaselleClient(server.url, token, timeout=10) as client:
            for d in days:
                client.open_batch(d)
            client.find_receipt("warm-up")
        session = requests.Session()
        session.post(server.url, json={"query": print_ast(load_operation("find_receipt")),
                                       "variables": {"reference": "warm"}}, headers=headers, timeout=10)
        server.faults.update(latency_ms=latency_ms)

        # ---- bare loop: the same create_receipt calls, nothing else
        t0 = time.perf_counter()
        for r in rows:
            pay_date: dt.date = r["PaymentDate"].date()
            resp = session.post(server.url, headers=headers, timeout=10, json={"query": create_doc, "variables": {
                "input": {"reference": f"BARE-{r['PaymentId']}", "accountNumber": r["AccountNumber"],
                          "amount": str(r["Amount"]), "tender": r["Tender"], "receiptDate": pay_date.isoformat(),
                          "batchDate": pay_date.isoformat(), "payerName": r["PayerName"],
                          "memo": f"IC {r['ConfirmationNumber']}"}}})
            resp.raise_for_status()
            if "errors" in resp.json():
                raise SystemExit(f"bare loop failed: {resp.json()['errors']}")
        bare = time.perf_counter() - t0

        # ---- the full pipeline
        journal = SqliteJournal(tmp / "journal.sqlite3")
        with CaselleClient(server.url, token, timeout=10) as client:
            svc = PostingService(journal, client, sandbox_profile().with_values(biller_batch_auto_close=False),
                                 workers=1)  # the same requests in sequence as the bare loop
            t0 = time.perf_counter()
            svc.import_file(payments_file, "payments", "clerk1")
            t_import = time.perf_counter() - t0
            result = svc.post_pending(operator="clerk1")
            pipeline = time.perf_counter() - t0
        journal.close()

    if result.outcomes.get("posted") != count:
        print(f"pipeline did not post everything: {dict(result.outcomes)}", file=sys.stderr)
        return 1
    ratio = pipeline / bare
    print(f"payments:            {count} at {latency_ms} ms added latency per request")
    print(f"bare requests loop:  {bare:8.2f} s  ({count / bare:7.1f} receipts/s)")
    print(f"full pipeline:       {pipeline:8.2f} s  ({count / pipeline:7.1f} receipts/s)  "
          f"of which import (read, check, journal) {t_import:.2f} s")
    print(f"overhead per payment: {(pipeline - bare) / count * 1000:6.2f} ms")
    print(f"ratio pipeline/bare: {ratio:8.3f}  (target <= {TARGET_RATIO})  {'OK' if ratio <= TARGET_RATIO else 'SLOW'}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
