"""Caselle client benchmark: the console's client vs a bare ``requests`` loop, same calls, same run.

Against the sandbox's Caselle stand-in with added latency (default 20 ms, like the Posting
benchmark), posts N receipts with :class:`console.adapters.caselle.CaselleClient` and N with a
bare ``requests.Session`` loop sending the same ``create_receipt`` mutation, then N
``find_receipt`` queries each way. Prints receipts/s and the client/bare time ratio.

Target: ratio <= 1.2 (the client's validation, typed results and error mapping cost little
next to the network).

    .venv/bin/python benchmarks/bench_caselle.py [--count 300] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_RATIO = 1.2


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--latency-ms", type=int, default=20)
    args = ap.parse_args()

    import requests

    from console.adapters.caselle import CaselleClient, load_operation
    from console.sandbox.caselle_server import CaselleServer, Faults
    from console.sandbox.seed import demo_customers

    accounts = [c.account_number for c in demo_customers()]
    day = dt.date(2026, 11, 25)
    with tempfile.TemporaryDirectory() as tmp, CaselleServer(Path(tmp), faults=Faults(latency_ms=0)) as server:
        token, _ = server.issue_token()
        headers = {"Authorization": f"Bearer {token}"}
        from graphql import print_ast

        create_doc = print_ast(load_operation("create_receipt"))
        find_doc = print_ast(load_operation("find_receipt"))
        with CaselleClient(server.url, token, timeout=10) as client:
            client.open_batch(day)
            client.find_receipt("warm-up")
            session = requests.Session()
            session.post(server.url, json={"query": find_doc, "variables": {"reference": "warm"}}, headers=headers)
            server.faults.update(latency_ms=args.latency_ms)

            def bare_create(i):
                r = session.post(server.url, headers=headers, timeout=10, json={"query": create_doc, "variables": {
                    "input": {"reference": f"BARE-{i}", "accountNumber": accounts[i % len(accounts)],
                              "amount": "12.34", "tender": "CARD", "receiptDate": day.isoformat()}}})
                r.raise_for_status()
                assert "errors" not in r.json()

            def client_create(i):
                client.create_receipt(reference=f"CLIENT-{i}", account_number=accounts[i % len(accounts)],
                                      amount=Decimal("12.34"), tender="CARD", receipt_date=day)

            def bare_find(i):
                session.post(server.url, headers=headers, timeout=10,
                             json={"query": find_doc, "variables": {"reference": f"BARE-{i}"}}).json()

            def client_find(i):
                client.find_receipt(f"CLIENT-{i}")

            results = {}
            for name, fn in (("bare create_receipt", bare_create), ("client create_receipt", client_create),
                             ("bare find_receipt", bare_find), ("client find_receipt", client_find)):
                start = time.perf_counter()
                for i in range(args.count):
                    fn(i)
                results[name] = time.perf_counter() - start
            totals = client.batch_totals(day)

    print(f"Caselle client vs bare requests, {args.count} calls each, {args.latency_ms} ms added latency")
    for name, seconds in results.items():
        print(f"  {name:<22} {seconds:7.2f} s  {args.count / seconds:8.1f} calls/s  "
              f"{seconds / args.count * 1000:6.2f} ms/call")
    ok = True
    for op in ("create_receipt", "find_receipt"):
        ratio = results[f"client {op}"] / results[f"bare {op}"]
        verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
        ok &= ratio <= TARGET_RATIO
        print(f"  ratio client/bare {op:<15} {ratio:5.2f}x (target <= {TARGET_RATIO}x) {verdict}")
    assert totals.receipt_count == 2 * args.count, totals
    print(f"  batch check: {totals.receipt_count} receipts, total {totals.total}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
