"""``biller-console conversions build``: the one-off ``ic-conversion-v1`` file for Invoice Cloud.

    biller-console conversions build --out FILE [--effective-date MM/DD/YYYY] [--include-final]
                                     [--send] [--json]

Reads every account from Caselle (paperless, AutoPay, registration), checks each row (an
error names the account and its line: paperless without an e-mail, a bad phone or e-mail, a
duplicate account…), and writes the file atomically only when there is no error. ``--send``
then sends it through the transfer service like an invoice file (journaled; a file already
delivered is refused).

Exit codes: 0 written (and sent); 1 errors (nothing written) or the build could not run;
2 written but not sent (transfer failed or refused).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
from pathlib import Path

from console.cli.acting import acting, add_operator_argument
from console.cli.confirm import add_yes_option, confirm_or_exit
from console.errors import UserFacingError, ValidationError
from console.services.confirm import conversion_outbound

EXIT_OK, EXIT_INVALID, EXIT_NOT_SENT = 0, 1, 2


def _date(text: str) -> dt.date:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r} is not a date (MM/DD/YYYY)")


def register(sub) -> None:
    p = sub.add_parser("conversions", help="data conversion file (paperless, AutoPay, registration) for Invoice Cloud",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = actions.add_parser("build", help="build (and check) the ic-conversion-v1 file from Caselle's customers")
    b.add_argument("--out", type=Path, required=True, help="file to write")
    b.add_argument("--effective-date", type=_date, default=None, help="EffectiveDate (default today)")
    b.add_argument("--include-final", action="store_true", help="also final-billed accounts")
    b.add_argument("--send", action="store_true", help="send the written file through the transfer service")
    b.add_argument("--json", action="store_true", help="print the result as JSON")
    add_yes_option(b)
    add_operator_argument(b)
    b.set_defaults(func=acting("conversions")(cmd_build))


def _operator(args) -> str:
    if args.operator:
        return args.operator
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name on this system
        return "cli"


def cmd_build(args) -> int:
    from console.app import build_services

    operator = _operator(args)
    services = build_services(args.profile, operator_id=operator)
    out: dict = {"out": str(args.out)}
    try:
        build = services.conversions.build(effective_date=args.effective_date, include_final=args.include_final)
        out.update(build.as_dict())
        if not build.ok:
            out["status"] = "invalid"
            return _emit(args, out, EXIT_INVALID)
        path = services.conversions.write(build, args.out, operator=operator)
        out.update(status="written", path=str(path))
        if args.send:
            confirm_or_exit(args, conversion_outbound(services, path.name, len(build.rows)), services.profile)
            try:
                sent = services.conversions.send(path, operator=operator)
            except UserFacingError as exc:
                out.update(status="not_sent", message=str(exc))
                return _emit(args, out, EXIT_NOT_SENT)
            out.update(status="sent", send=sent.as_dict())
        return _emit(args, out, EXIT_OK)
    except ValidationError as exc:
        out.update(status="invalid", message=exc.message, errors=[p.as_dict() for p in exc.problems])
        return _emit(args, out, EXIT_INVALID)
    except UserFacingError as exc:
        out.update(status="error", message=str(exc))
        return _emit(args, out, EXIT_INVALID)
    finally:
        services.close()


def _emit(args, out: dict, code: int) -> int:
    out["exit"] = code
    if args.json:
        print(json.dumps(out, indent=2, default=str, ensure_ascii=False))
        return code
    counts = out.get("counts") or {}
    print(f"{out['out']}: {out.get('status')} — {counts.get('accounts', 0)} accounts, "
          f"{counts.get('paperless', 0)} paperless, {counts.get('autopay', 0)} AutoPay, "
          f"{counts.get('registered', 0)} registered")
    if out.get("message"):
        print(f"  {out['message']}")
    for p in out.get("errors", [])[:200]:
        print(f"  line {p['line']}, {p['column']}: {p['message']} [{p['rule']}]")
    warnings = out.get("warnings", [])
    for p in warnings[:20]:
        print(f"  warning: {p['message']}")
    if len(warnings) > 20:
        print(f"  … and {len(warnings) - 20} more warnings")
    if out.get("send"):
        print(f"  sent to {out['send']['remote_path']} ({out['send']['status']})")
    return code
