"""``biller-console adjustments``: Caselle adjustments to Invoice Cloud balance updates.

    biller-console adjustments sync [--dry-run] [--json]
    biller-console adjustments history [--json] [--state STATE]

``sync`` reads Caselle's adjustments since the last sync (the watermark in the journal), turns
each into an ``ic-balance-v1`` balance update and sends it to Invoice Cloud exactly once — by
the REST API or as one file through Stratus/SFTP, per the profile (``sync_adjustments_via``).
Running it again after a crash or a kill finishes what was left, sending nothing twice.

Exit codes: 0 everything was sent or reported (an account Invoice Cloud does not know, a row
Caselle cannot explain: listed with the reason); 1 the sync could not run (configuration,
credentials refused before anything was read); 2 entries remain (not finished, waiting for
review, stopped early: run again).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from decimal import Decimal

from console.cli.acting import acting, add_operator_argument
from console.cli.confirm import add_yes_option, confirm_or_exit
from console.domain.wording import counted
from console.errors import Cancelled, UserFacingError
from console.services.confirm import account_sync_outbound

EXIT_OK, EXIT_FAILED, EXIT_UNFINISHED = 0, 1, 2


def register(sub) -> None:
    p = sub.add_parser("adjustments", help="send Caselle adjustments to Invoice Cloud as balance updates",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    s = actions.add_parser("sync", help="send the adjustments made since the last sync, exactly once")
    s.add_argument("--dry-run", action="store_true", help="show what would be sent; journal and send nothing")
    s.add_argument("--json", action="store_true", help="print the result as JSON (amounts as strings)")
    add_yes_option(s)
    add_operator_argument(s)
    s.set_defaults(func=acting(lambda args: None if args.dry_run else "account_sync")(cmd_sync))
    h = actions.add_parser("history", help="balance updates journaled, newest first, with their state")
    h.add_argument("--state", action="append", help="only this journal state (repeatable)")
    h.add_argument("--limit", type=int, default=200)
    h.add_argument("--json", action="store_true")
    h.set_defaults(func=cmd_history)


def _operator(args) -> str:
    if getattr(args, "operator", ""):
        return args.operator
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name on this system
        return "cli"


def cmd_sync(args) -> int:
    from console.app import build_services

    operator = _operator(args)
    services = build_services(args.profile, operator_id=operator)
    try:
        from console.cli.progress import progress_bar

        if not args.dry_run:
            pending = [u for u in services.account_sync.preview() if not u.problem]
            if not pending:
                result = services.account_sync.sync(dry_run=True, operator=operator)
                print("Nothing to send: Invoice Cloud has every Caselle adjustment.", file=sys.stderr)
                return _emit(args, result.as_dict(), EXIT_OK)
            via = str(services.profile.get("sync_adjustments_via") or "api")
            confirm_or_exit(args, account_sync_outbound(services, len(pending), sum((u.amount for u in pending),
                                                                                      Decimal("0.00")), via),
                            services.profile)
        with progress_bar(args) as progress:
            result = services.account_sync.sync(dry_run=args.dry_run, progress=progress, operator=operator)
    except Cancelled:
        return _emit(args, {"status": "cancelled"}, EXIT_UNFINISHED)
    except UserFacingError as exc:
        return _emit(args, {"status": "error", "message": str(exc)}, EXIT_FAILED)
    finally:
        services.close()
    out = result.as_dict()
    code = EXIT_OK if result.dry_run or result.complete else EXIT_UNFINISHED
    return _emit(args, out, code)


def _emit(args, out: dict, code: int) -> int:
    out["exit"] = code
    if args.json:
        print(json.dumps(out, indent=2, default=str, ensure_ascii=False))
        return code
    status = out.get("status")
    if status == "error":
        print(f"adjustments sync: {out['message']}", file=sys.stderr)
        return code
    via = out.get("via", "")
    if out.get("dry_run"):
        print(f"Dry run ({via}): {counted(len(out['pending']), 'balance update')} would be sent; nothing was journaled")
        for p in out["pending"][:200]:
            problem = f"  [not sendable: {p['problem']}]" if p.get("problem") else ""
            print(f"  {p['AdjustmentId']:<12} {p['AccountNumber']:<12} {p['AdjustmentAmount']:>10} "
                  f"balance {p['BalanceDue']:>10}  {p['Reason']}{problem}")
        return code
    print(f"Account sync ({via}): {status}; {counted(out.get('found', 0), 'new adjustment')} from Caselle")
    for outcome, n in sorted(out.get("outcomes", {}).items()):
        print(f"  {outcome}: {n}")
    for r in out.get("reported", [])[:100]:
        print(f"  reported {r['adjustment_id']} {r['account']}: {r['outcome']} — {r['detail']}")
    for r in out.get("needs_review", [])[:100]:
        print(f"  needs review {r['adjustment_id']} {r['account']}: {r['detail'][:200]}")
    if out.get("file"):
        print(f"  file: {out['file'].get('remote_path')} ({out['file'].get('records')} rows)")
    if out.get("remaining"):
        print(f"  {out['remaining']} not finished: run again")
    if out.get("aborted"):
        print(f"  stopped: {out['aborted']}")
    return code


def cmd_history(args) -> int:
    from console.app import build_services

    services = build_services(args.profile)
    try:
        rows = services.account_sync.history(states=args.state)[: max(0, args.limit)]
    finally:
        services.close()
    data = [{"adjustment_id": r.adjustment_id, "account": r.account, "adjusted_at": r.adjusted_at,
             "amount": str(r.amount), "balance_due": str(r.balance_due), "reason": r.reason, "state": r.state,
             "outcome": r.outcome, "remote_ref": r.remote_ref, "detail": r.detail, "attempts": r.attempts,
             "updated_at": r.updated_at} for r in rows]
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    for d in data:
        print(f"{d['updated_at'][:19]}  {d['adjustment_id']:<12} {d['account']:<12} {d['amount']:>10} "
              f"{d['balance_due']:>10}  {d['state']:<12} {d['outcome']:<22} {d['remote_ref']}")
    return EXIT_OK
