"""``biller-console counter today|check|take|void``: the counter's payments of a day, loose ends, cash and checks.

- ``take`` / ``void``: see ``biller-console counter take --help`` (cash or check into the open
  drawer; void a counter receipt).

- ``today [--date YYYY-MM-DD] [--json]`` lists the counter payments (card, cash, check) with
  their state: posted, queued for Caselle, unconfirmed with the gateway, declined, voided…
  Only masked card data is ever printed.
- ``check [--json]`` does what the tab's "Check again" does: asks the card gateway about
  payments whose answer was lost (by their idempotency key — never charging twice), records
  and posts what was charged, posts queued receipts and retries card voids.

Exit codes: 0 nothing needs attention; 2 payments still need attention (unconfirmed, queued,
in review, void in progress); 1 the command could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from console.errors import UserFacingError

EXIT_OK, EXIT_FAILED, EXIT_ATTENTION = 0, 1, 2
ATTENTION = ("unconfirmed", "queued", "review", "void_pending", "receipt_voided")


def register(sub) -> None:
    p = sub.add_parser("counter", help="counter payments: list a day's payments, resolve unconfirmed ones",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = p.add_subparsers(dest="counter_command", metavar="ACTION", required=True)
    today = cmds.add_parser("today", help="list a day's counter payments (masked card data only)")
    today.add_argument("--date", type=dt.date.fromisoformat, help="the day (default: today)")
    today.add_argument("--json", action="store_true", help="print JSON (amounts as strings)")
    today.set_defaults(func=cmd_today)
    check = cmds.add_parser("check", help="resolve unconfirmed card payments, post queued receipts, retry voids")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.add_argument("--operator", default="", help="operator ID recorded in the journal and audit log")
    check.set_defaults(func=cmd_check)
    from console.cli import counter_take

    counter_take.register(cmds)


def _row(p) -> dict:
    return {"key": p.key, "time": p.taken_at.isoformat(timespec="seconds"), "account": p.account_number,
            "name": p.name, "amount": str(p.amount), "tender": p.tender, "paid_by": p.paid_by,
            "auth_code": p.auth_code, "transaction_id": p.transaction_id, "receipt": p.receipt_number,
            "state": p.state, "status": p.state_label, "operator": p.operator, "detail": p.detail}


def _print_rows(rows: list[dict]) -> None:
    if not rows:
        print("no counter payments")
        return
    for r in rows:
        print(f"{r['time'][11:16]}  {r['account']:<12} {r['amount']:>10}  {r['paid_by']:<28} "
              f"{r['receipt'] or '-':<10} {r['status']}")


def cmd_today(args) -> int:
    from console.app import build_services

    services = build_services(args.profile)
    try:
        rows = [_row(p) for p in services.counter.todays_payments(args.date)]
    except UserFacingError as exc:
        print(f"counter: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        services.close()
    if args.json:
        print(json.dumps({"date": (args.date or dt.date.today()).isoformat(), "payments": rows}, indent=2))
    else:
        _print_rows(rows)
    return EXIT_ATTENTION if any(r["state"] in ATTENTION for r in rows) else EXIT_OK


def cmd_check(args) -> int:
    from console.app import build_services

    services = build_services(args.profile, operator_id=args.operator)
    try:
        result = services.counter.reconcile(operator=args.operator or "cli")
        rows = [_row(p) for p in services.counter.todays_payments()]
    except UserFacingError as exc:
        print(f"counter: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        services.close()
    attention = [r for r in rows if r["state"] in ATTENTION]
    if args.json:
        print(json.dumps({"resolved": result.resolved, "still_unconfirmed": result.still_unconfirmed,
                          "attention": attention}, indent=2))
    else:
        for key, outcome in sorted(result.resolved.items()):
            print(f"{key}: {outcome}")
        for r in attention:
            print(f"needs attention: {r['account']} {r['amount']} {r['paid_by']} — {r['status']}")
        if not result.resolved and not attention:
            print("nothing to resolve")
    return EXIT_ATTENTION if attention else EXIT_OK
