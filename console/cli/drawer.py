"""``biller-console drawer open|close|slip|list|reopen``: the cashier's drawer from the command line.

- ``open --float AMOUNT`` (or ``--float-count 20=5,1=10``): opens the operator's drawer on this
  workstation; cash and checks can be taken into it (``counter take``).
- ``close --cash COUNTED --checks COUNTED``: closes out against what the drawer expects:
  JSON ``expected`` {cash, checks, cards}, ``counted`` {cash, checks}, ``over_short`` (counted
  minus expected; negative = short) and ``status`` (balanced, over, short). Over/short above
  the profile's thresholds needs ``--reason`` and then ``--supervisor``. ``--report FILE.pdf``
  writes the printable close-out.
- ``slip --date YYYY-MM-DD --out FILE.pdf [--csv FILE.csv]``: the deposit slip of a day.
- ``list``: open drawers (a supervisor sees every one of the office).
- ``reopen SESSION --supervisor ID --reason TEXT``: a supervisor reopens a closed drawer.

The operator from ``--operator`` / ``$BILLER_CONSOLE_OPERATOR`` with the PIN from
``$BILLER_CONSOLE_PIN`` (or asked); a supervisor's PIN from ``$BILLER_CONSOLE_SUPERVISOR_PIN``.
Amounts are printed as decimal strings with two places.

Exit codes: 0 done; 1 refused or invalid (the reason is printed); 77 the role or the PIN refused it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from console.cli.cash_signin import add_operator_options, refusal_code, signed_in_operator, supervisor_pin
from console.errors import UserFacingError

EXIT_OK, EXIT_REFUSED = 0, 1


def register(sub) -> None:
    p = sub.add_parser("drawer", help="cash drawer: open with a float, close out with a count, deposit slip",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = p.add_subparsers(dest="drawer_command", metavar="ACTION", required=True)
    op = cmds.add_parser("open", help="open this operator's drawer on this workstation")
    op.add_argument("--float", dest="float_amount", help="the starting float, such as 150.00")
    op.add_argument("--float-count", default="", help="the float by denomination, such as 20=5,1=10,0.25=8")
    cl = cmds.add_parser("close", help="close out: counted cash and checks against the expected")
    cl.add_argument("--cash", help="cash counted (total)")
    cl.add_argument("--cash-count", default="", help="cash counted by denomination, such as 100=1,20=7,0.25=4")
    cl.add_argument("--checks", required=True, help="checks counted (total)")
    cl.add_argument("--checks-count", type=int, help="number of checks counted (must match the drawer's list)")
    cl.add_argument("--reason", default="", help="why the drawer is over or short")
    cl.add_argument("--report", type=Path, help="write the printable close-out report (PDF)")
    sl = cmds.add_parser("slip", help="the deposit slip of a day (PDF, and CSV)")
    sl.add_argument("--date", type=dt.date.fromisoformat, help="the day (default: today)")
    sl.add_argument("--out", type=Path, required=True, help="the PDF to write")
    sl.add_argument("--csv", type=Path, help="also write the slip as CSV")
    ls = cmds.add_parser("list", help="open drawers")
    ro = cmds.add_parser("reopen", help="a supervisor reopens a closed drawer (audited)")
    ro.add_argument("session", help="the drawer session ID (drw:…)")
    ro.add_argument("--reason", required=True, help="why it is reopened")
    for sp, fn, acting in ((op, cmd_open, "drawer"), (cl, cmd_close, "drawer"), (sl, cmd_slip, "take_payment"),
                           (ls, cmd_list, "drawer"), (ro, cmd_reopen, "drawer")):
        add_operator_options(sp, supervisor=sp in (cl, ro))
        sp.add_argument("--json", action="store_true", help="print JSON")
        sp.set_defaults(func=fn, acting=acting)


def _run(args, body) -> int:
    from console.app import build_services

    services = build_services(args.profile, operator_id=getattr(args, "operator", ""))
    try:
        out = body(services, signed_in_operator(args, services, args.acting))
    except UserFacingError as exc:
        if args.json:
            print(json.dumps({"status": "refused", "message": str(exc), "hint": exc.hint or ""}, indent=2))
        print(f"drawer: {exc}", file=sys.stderr)
        return refusal_code(exc)
    finally:
        services.close()
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        print(out.pop("_text", "") or "\n".join(f"{k}: {v}" for k, v in out.items()))
    return EXIT_OK


def cmd_open(args) -> int:
    from console.services.drawer import parse_count

    def body(services, operator):
        s = services.drawers.open_drawer(operator, args.float_amount, float_count=parse_count(args.float_count))
        return {"session": s.session_id, "operator": s.operator, "workstation": s.workstation,
                "float": str(s.float_total), "float_count": s.float_count, "opened_at": s.opened_at,
                "_text": f"drawer {s.session_id} open on {s.workstation}, float {s.float_total}"}

    return _strip_text(args, body)


def cmd_close(args) -> int:
    from console.services.drawer import parse_count
    from console.services.drawer_reports import closeout_pdf

    def body(services, operator):
        sup, pin = supervisor_pin(args)
        out = services.drawers.close_drawer(operator, services.counter, cash=args.cash,
                                            cash_count=parse_count(args.cash_count), checks=args.checks,
                                            checks_count=args.checks_count, reason=args.reason,
                                            supervisor_id=sup, supervisor_pin=pin)
        result = out.as_dict()
        if args.report:
            op = services.profile.operator(out.operator)
            closeout_pdf(out, args.report, operator_name=op.name if op else "", training=services.profile.training)
            result["report"] = str(args.report)
        os_ = result["over_short"]
        result["_text"] = (f"drawer {out.session_id} closed: {out.status} (cash {os_['cash']}, checks "
                           f"{os_['checks']}); expected cash {result['expected']['cash']}, checks "
                           f"{result['expected']['checks']}, cards {result['expected']['cards']}")
        return result

    return _strip_text(args, body)


def cmd_slip(args) -> int:
    from console.services.cash_pdf import write_pdf
    from console.services.drawer_reports import deposit_slip

    def body(services, operator):
        services.operators.require(operator, "take_payment")
        day = args.date or services.drawers.today()
        slip = deposit_slip(services.drawers, services.counter, day)
        write_pdf(slip.document(training=services.profile.training), args.out)
        if args.csv:
            slip.to_csv(args.csv)
        out = {**slip.as_dict(), "pdf": str(args.out), "csv": str(args.csv) if args.csv else ""}
        out["_text"] = (f"deposit slip {day}: cash {out['cash']}, checks {out['checks_total']} "
                        f"({len(slip.checks)}); {len(slip.open_checks)} checks in drawers still open -> {args.out}")
        return out

    return _strip_text(args, body)


def cmd_list(args) -> int:
    def body(services, operator):
        rows = [{"session": s.session_id, "operator": s.operator, "workstation": s.workstation,
                 "opened_at": s.opened_at, "float": str(s.float_total)} for s in services.drawers.open_drawers(operator)]
        text = "\n".join(f"{r['session']}  {r['operator']:<10} {r['workstation']:<16} {r['opened_at']}  "
                         f"float {r['float']}" for r in rows) or "no open drawers"
        return {"open": rows, "_text": text}

    return _strip_text(args, body)


def cmd_reopen(args) -> int:
    def body(services, operator):
        sup, pin = supervisor_pin(args)
        if not sup:  # the signed-in operator is the supervisor
            sup, pin = operator, None
        s = services.drawers.reopen_drawer(args.session, sup, pin if pin is not None else _own_pin(), args.reason)
        return {"session": s.session_id, "state": s.state, "reopened_by": sup,
                "_text": f"drawer {s.session_id} reopened by {sup}"}

    return _strip_text(args, body)


def _own_pin() -> str:
    import os

    return os.environ.get("BILLER_CONSOLE_PIN", "")


def _strip_text(args, body) -> int:
    """Run ``body``; its ``_text`` is the plain output, never part of the JSON."""
    def wrapped(services, operator):
        out = body(services, operator)
        if args.json:
            out.pop("_text", None)
        return out

    return _run(args, wrapped)
