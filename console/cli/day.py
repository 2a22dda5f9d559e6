"""``biller-console day show|close``: the daily close of every channel, from the command line.

- ``show --date YYYY-MM-DD``: drawer close-outs, counter payments by tender, Invoice Cloud
  files (posted, rejected, voided, ACH rejects), lockbox files sent, account-sync updates,
  Caselle's batch totals, the expected bank deposit per bank account and every variance.
  Clerks and supervisors (``view_day_close``).
- ``close --date YYYY-MM-DD [--summary FILE.pdf]``: a supervisor seals the day in the audit log
  (refused while a drawer of the day is open, or when the day is sealed already) and writes
  the one-page summary.

The operator from ``--operator`` / ``$BILLER_CONSOLE_OPERATOR``, PIN from ``$BILLER_CONSOLE_PIN``.
Exit codes: 0 done; 1 refused (the reason is printed); 77 the role or the PIN refused it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from console.cli.cash_signin import add_operator_options, refusal_code, signed_in_operator
from console.errors import UserFacingError


def register(sub) -> None:
    p = sub.add_parser("day", help="the daily close: every channel of a day side by side",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = p.add_subparsers(dest="day_command", metavar="ACTION", required=True)
    show = cmds.add_parser("show", help="the day's figures (nothing is sealed)")
    close = cmds.add_parser("close", help="seal the day in the audit log (a supervisor)")
    close.add_argument("--summary", type=Path, help="write the one-page summary (PDF)")
    for sp, fn, acting in ((show, cmd_show, "view_day_close"), (close, cmd_close, "day_close")):
        sp.add_argument("--date", type=dt.date.fromisoformat, help="the day (default: today)")
        sp.add_argument("--csv", type=Path, help="also write the Invoice Cloud reconciliation as CSV")
        add_operator_options(sp)
        sp.add_argument("--json", action="store_true", help="print JSON (amounts as decimal strings)")
        sp.set_defaults(func=fn, acting=acting)


def _run(args, act) -> int:
    from console.app import build_services
    from console.services import reconciliation as recon
    from console.services.cash_pdf import write_pdf
    from console.services.day_close import summary_document

    services = build_services(args.profile, operator_id=args.operator)
    try:
        operator = signed_in_operator(args, services, args.acting)
        day = args.date or dt.date.today()
        rep = act(services.day_close, operator, day)
        if getattr(args, "summary", None):
            write_pdf(summary_document(rep, training=services.profile.training), args.summary)
        if args.csv:
            recon.to_csv(rep.ic, args.csv)
    except UserFacingError as exc:
        if args.json:
            print(json.dumps({"status": "refused", "message": str(exc)}, indent=2))
        print(f"day: {exc}", file=sys.stderr)
        return refusal_code(exc)
    finally:
        services.close()
    out = {**rep.figures(), "sealed": rep.sealed}
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        _print(out)
    return 0


def _print(out: dict) -> None:
    print(f"Day {out['date']}: expected deposit {out['expected_deposit_total']}"
          + (f"  — sealed (audit row {out['sealed']['seq']})" if out["sealed"] else "  — not sealed"))
    for d in out["drawers"]:
        print(f"  drawer {d['session']} {d['operator']}: {d['status']} cash {d['over_short']['cash']} "
              f"checks {d['over_short']['checks']}")
    for tender, d in out["counter"].items():
        print(f"  counter {tender.lower():<6} net {d['net']:>10} (voided {d['voided']})")
    for account, d in out["expected_deposit"].items():
        print(f"  deposit {account}: " + ", ".join(f"{k} {v}" for k, v in d.items()))
    for b in out["caselle_batches"]:
        print(f"  Caselle batch {b['batch']} ({b['status'].lower()}): {b['caselle']}, posted here {b['console']}, "
              f"difference {b['difference']}")
    for v in out["variances"]:
        print(f"  variance {v['channel']} {v['tender']} {v['amount']}: {v['explanation']}")


def cmd_show(args) -> int:
    return _run(args, lambda svc, operator, day: svc.report(day, viewer=operator))


def cmd_close(args) -> int:
    return _run(args, lambda svc, operator, day: svc.close_day(operator, day))
