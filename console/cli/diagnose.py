"""``biller-console diagnose [--json] [--bundle FILE] [--integrity]``: run every diagnostic check.

``--integrity`` runs SQLite's full ``integrity_check`` on the journal and the card-read memory
(``quick_check`` always runs).

Exit codes: 0 every check passed or warned; 1 at least one check failed; 2 the profile could
not be loaded at all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from console.domain.wording import counted
from console.errors import UserFacingError
from console.services.operators import COMMAND_LINE_READ_ONLY

_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}


def register(sub) -> None:
    p = sub.add_parser("diagnose", help="check profile, keyring, Caselle, token, API features, clock, disk, journal")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--bundle", type=Path, metavar="FILE", help="also write a support bundle (zip) to FILE")
    p.add_argument("--integrity", action="store_true",
                   help="full SQLite integrity_check of the journal and card-read memory (slower)")
    p.set_defaults(func=cmd_diagnose)


def cmd_diagnose(args) -> int:
    from console.app import build_services
    from console.logs import setup_logging
    from console.services.diagnostics import run_checks

    try:
        services = build_services(args.profile)
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for p in getattr(exc, "problems", []):
            print(f"  {p}", file=sys.stderr)
        return 2
    setup_logging(services.paths, secret_source=services.secrets.redaction_values)
    try:
        report = run_checks(services, operator=COMMAND_LINE_READ_ONLY, thorough=getattr(args, "integrity", False))
        if args.json:
            print(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            width = max(len(c.title) for c in report.checks)
            print(f"Diagnostics for profile {report.profile!r} ({report.duration_ms} ms)")
            for c in report.checks:
                print(f"  [{_MARK.get(c.state, c.state)}] {c.title:<{width}}  {c.summary}")
                if c.hint and c.state != "pass":
                    print(f"         {'':<{width}}  fix: {c.hint}")
            counts = report.counts()
            print(f"{counts['pass']} passed, {counted(counts['warn'], 'warning')}, {counts['fail']} failed")
        if args.bundle:
            from console.services.support_bundle import build_support_bundle

            path = build_support_bundle(services, args.bundle, report=report, operator=COMMAND_LINE_READ_ONLY)
            print(f"support bundle: {path}", file=sys.stderr if args.json else sys.stdout)
        return 1 if report.failed else 0
    finally:
        services.close()
