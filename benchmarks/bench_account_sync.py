"""Account sync benchmark: the full sync vs a bare ``requests`` loop of the same calls.

Against the sandbox's Caselle and Invoice Cloud stand-ins with added latency (default 20 ms per
request on both), with ``--count`` adjustments (default 5,000) created directly in the Caselle
stand-in's SQLite (one transaction) on ``--accounts`` demo accounts, in one run:

- bare: a ``requests.Session`` loop doing the same calls — the ``adjustments`` query page by
  page, one ``customerDetail`` per account, one ``PUT /api/v1/balances`` per adjustment — and
  nothing else (no layout check, no journal);
- sync: ``AccountSyncService.sync`` (collect: pages, details cached per account, rows checked
  with the layout, journaled with the watermark per page; send: claim, PUT, record, WAL with
  synchronous=FULL), one worker, the same requests in sequence.

Prints adjustments/s for both, the per-adjustment overhead and the ratio. Target: ratio <= 1.2.

    .venv/bin/python benchmarks/bench_account_sync.py [--count 5000] [--latency-ms 20] [--accounts 500]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_RATIO = 1.2


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--latency-ms", type=int, default=20)
    ap.add_argument("--accounts", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BILLER_CONSOLE_HOME"] = str(Path(tmp) / "home")
        return _run(Path(tmp), args.count, args.latency_ms, args.accounts)


def _run(tmp: Path, count: int, latency_ms: int, n_accounts: int) -> int:
    import requests
    from graphql import print_ast

    from console.adapters.caselle import CaselleClient, load_operation
    from console.adapters.invoicecloud import InvoiceCloudClient
    from console.adapters.journal import SqliteJournal
    from console.config import sandbox_profile
    from console.sandbox import ic_balances
    from console.sandbox.runner import Sandbox, SandboxOptions
    from console.sandbox.seed import demo_customers
    from console.services.account_sync import AccountSyncService

    unknown = set(ic_balances.not_registered_accounts())
    accounts = [c.account_number for c in demo_customers() if c.account_number not in unknown][:n_accounts]
    parts = ["console.sandbox.caselle_server", "console.sandbox.invoicecloud_server"]
    with Sandbox(SandboxOptions(), data_dir=tmp / "sandbox", parts=parts) as sb:
        caselle_server = sb.part("caselle").handle
        ic_server = sb.part("invoicecloud").handle
        t0 = time.perf_counter()
        caselle_server.store.create_adjustments(
            [(accounts[i % len(accounts)], Decimal(f"-{i % 97 + 1}.{i % 100:02d}"), f"Bench credit {i}")
             for i in range(count)], by="bench")
        t_seed = time.perf_counter() - t0
        token, _ = caselle_server.issue_token()
        ep = sb.endpoints()
        ic_url, key = ep["urls"]["ic_api_url"], ep["info"]["ic_web_service_key"]
        gql_headers = {"Authorization": f"Bearer {token}"}
        adjustments_doc = print_ast(load_operation("adjustments_since"))
        detail_doc = print_ast(load_operation("customer_detail"))
        session = requests.Session()
        session.get(f"{ic_url}/health", timeout=10)  # warm the connection
        session.post(caselle_server.url, headers=gql_headers, timeout=10,
                     json={"query": adjustments_doc, "variables": {"afterSequence": 0, "first": 1}})
        caselle_server.faults.update(latency_ms=latency_ms)
        ic_balances.faults_of(ic_server).update(latency_ms=latency_ms)

        # ---- bare loop: the same requests, nothing else
        t0 = time.perf_counter()
        after, seen, puts = 0, set(), 0
        while True:
            resp = session.post(caselle_server.url, headers=gql_headers, timeout=10, json={
                "query": adjustments_doc, "variables": {"afterSequence": after, "first": 500}})
            resp.raise_for_status()
            page = resp.json()["data"]["adjustments"]
            for a in page:
                if a["accountNumber"] not in seen:
                    seen.add(a["accountNumber"])
                    d = session.post(caselle_server.url, headers=gql_headers, timeout=10, json={
                        "query": detail_doc, "variables": {"accountNumber": a["accountNumber"], "usageMonths": 0}})
                    d.raise_for_status()
                    detail = d.json()["data"]["customerDetail"]
                body = {"AdjustmentId": f"BARE-{a['adjustmentId']}", "AccountNumber": a["accountNumber"],
                        "InvoiceNumber": detail["invoiceNumber"] or "", "AdjustedAt": a["adjustedAt"],
                        "AdjustmentAmount": a["amount"], "BalanceDue": a["balanceAfter"],
                        "MinimumAmountDue": "0.00", "Reason": a["reason"]}
                r = session.put(f"{ic_url}/api/v1/balances", json=body, timeout=10,
                                headers={"X-IC-WebServiceKey": key, "Idempotency-Key": body["AdjustmentId"]})
                if r.status_code not in (200, 201, 404):
                    raise SystemExit(f"bare loop failed: HTTP {r.status_code} {r.text[:200]}")
                puts += 1
            if len(page) < 500:
                break
            after = page[-1]["sequence"]
        bare = time.perf_counter() - t0

        # ---- the full sync
        journal = SqliteJournal(tmp / "journal.sqlite3")
        with CaselleClient(caselle_server.url, token, timeout=10) as caselle:
            ic = InvoiceCloudClient(ic_url, key, timeout=10)
            svc = AccountSyncService(journal, caselle, ic, sandbox_profile())
            t0 = time.perf_counter()
            result = svc.sync(operator="clerk1")
            synced = time.perf_counter() - t0
            ic.close()
        journal.close()

    total = puts
    done = result.outcomes.get("sent", 0) + result.outcomes.get("not_in_invoice_cloud", 0)
    if not result.complete or done != total:
        print(f"the sync did not finish everything: {dict(result.outcomes)} of {total}", file=sys.stderr)
        return 1
    ratio = synced / bare
    print(f"adjustments:          {total} ({count} created in {t_seed:.2f} s + the seeded ones) on "
          f"{len(seen)} accounts, {latency_ms} ms added latency per request")
    print(f"bare requests loop:   {bare:8.2f} s  ({total / bare:7.1f} adjustments/s)")
    print(f"account sync:         {synced:8.2f} s  ({total / synced:7.1f} adjustments/s)")
    print(f"overhead/adjustment:  {(synced - bare) / total * 1000:6.2f} ms")
    print(f"ratio sync/bare:      {ratio:8.3f}  (target <= {TARGET_RATIO})  {'OK' if ratio <= TARGET_RATIO else 'SLOW'}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
