"""``biller-console posting report --date D [--csv FILE] [--pdf FILE] [--json]``: the end-of-day report.

What came in on the files imported that day, what was posted, rejected, voided and reversed —
by tender and by batch, with Caselle's batch totals beside them and the exceptions — read from
the journal by the reconciliation service (``console/services/reconciliation.py``), the same
report the Posting tab shows and the Day Close reads. ``--date`` is the local import date
(YYYY-MM-DD or MM/DD/YYYY; default today).

Exit codes (the README's table): 0 the report was built (even with exceptions: they are in it);
1 it could not be built (bad date, an output file that cannot be written).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED = 0, 1


def register(sub) -> None:
    p = sub.add_parser("posting", help="end-of-day / reconciliation report of the posting journal",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = actions.add_parser("report", help="the end-of-day report of one import date")
    r.add_argument("--date", type=_date, default=None, help="import date, YYYY-MM-DD or MM/DD/YYYY (default: today)")
    r.add_argument("--csv", type=Path, help="also write the report as CSV")
    r.add_argument("--pdf", type=Path, help="also write the report as PDF")
    r.add_argument("--json", action="store_true", help="print the report as JSON (amounts as strings)")
    r.set_defaults(func=cmd_report)


def _date(text: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"--date {text!r} is not a date (YYYY-MM-DD or MM/DD/YYYY)")


def cmd_report(args) -> int:
    from console.app import build_services
    from console.services import reconciliation

    services = build_services(args.profile)
    try:
        day = args.date or dt.date.today()
        report = reconciliation.report_for_day(services.journal, lambda: services.caselle, day)
        try:
            if args.csv:
                reconciliation.to_csv(report, args.csv)
            if args.pdf:
                reconciliation.to_pdf(report, args.pdf, training=services.profile.is_sandbox)
        except OSError as exc:
            print(f"posting report: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
            return EXIT_FAILED
    finally:
        services.close()
    data = reconciliation.to_dict(report)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    _print(data)
    return EXIT_OK


def _print(data: dict) -> None:
    from console.services.reconciliation import METRIC_LABELS, METRICS

    print(data["title"])
    print(f"Files: {', '.join(data['files']) or 'none'}")
    rows = [("All", data["total"])] + [(f"tender {k}", t) for k, t in data["by_tender"].items()] + \
        [(f"batch {k}", t) for k, t in data["by_batch"].items()]
    print(f"{'':<20}" + "".join(f"{METRIC_LABELS[m][:14]:>16}" for m in METRICS))
    for name, t in rows:
        print(f"{name[:20]:<20}" + "".join(f"{t[m]['count']:>5} {t[m]['amount']:>10}" for m in METRICS))
    for k, cb in data["caselle_batches"].items():
        print(f"Caselle {k} ({cb['status'].lower()}): {cb['receipts']} receipts {cb['total']}; "
              f"other sources {cb['other_sources']}")
    if data["caselle_note"]:
        print(data["caselle_note"])
    for x in data["exceptions"][:200]:
        print(f"  exception {x['key']} line {x['line'] or '-'} {x['state']} {x['outcome']} {x['account']} "
              f"{x['amount']} {x['detail']}")
