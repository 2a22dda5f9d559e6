"""``biller-console audit export --out FILE.csv``: the audit log as CSV, with its hash chain checked.

Every row keeps its hashes, so the export itself can be checked. The operator signs in
(``--operator`` / ``$BILLER_CONSOLE_OPERATOR``, PIN ``$BILLER_CONSOLE_PIN``) and needs the
``view_audit`` permission; the export is itself audited.

Exit codes (the README's table): 0 written and the chain is intact; 1 the file cannot be
written, or the chain is broken (the file is still written, the break is named); 77 not permitted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from console.cli.acting import EXIT_NOT_PERMITTED, operator_id, sign_in
from console.errors import NotPermitted, UserFacingError

EXIT_OK, EXIT_FAILED = 0, 1


def register(sub) -> None:
    p = sub.add_parser("audit", help="audit log: export it as CSV (hash chain checked)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    e = actions.add_parser("export", help="write the whole audit log as CSV")
    e.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    e.add_argument("--operator", default="", help="operator ID (default: $BILLER_CONSOLE_OPERATOR)")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    e.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from console.app import build_services

    services = build_services(args.profile, operator_id=operator_id(args))
    try:
        operator = sign_in(services, args, "view_audit")
        audit = services.audit
        check = services.journal_check()  # the keyed chain, its triggers and its anchor
        rows = audit.count()
        try:
            text = audit.export_csv(args.out)
        except OSError as exc:
            return _emit(args, {"error": f"cannot write {exc.filename}: {exc.strerror}"}, EXIT_FAILED)
        audit.record(operator, "audit.export", str(args.out), rows=rows)
    except NotPermitted as exc:
        return _emit(args, {"error": str(exc), "status": "not_permitted"}, EXIT_NOT_PERMITTED)
    except UserFacingError as exc:  # no operator, a wrong PIN, a locked ID: 1, never 77
        return _emit(args, {"error": str(exc), "status": "not_signed_in"}, EXIT_FAILED)
    finally:
        services.close()
    chain = f"audit log intact ({check.anchor})" if check.ok else "NOT INTACT: " + "; ".join(check.findings)
    out = {"out": str(args.out), "rows": rows, "bytes": len(text.encode("utf-8")), "chain_ok": check.ok,
           "chain": chain}
    return _emit(args, out, EXIT_OK if check.ok else EXIT_FAILED)


def _emit(args, out: dict, code: int) -> int:
    out["exit"] = code
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    elif "error" in out:
        print(f"audit export: {out['error']}", file=sys.stderr)
    else:
        print(f"Wrote {out['rows']} audit {'row' if out['rows'] == 1 else 'rows'} to {out['out']}; {out['chain']}")
    return code
